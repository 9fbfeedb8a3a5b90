"""The sending pipeline on PostgreSQL, against plain smtplib in the same run.

Sends 5,000 emails of an active campaign (one inbox, gaps disabled, caps raised) through
the real pipeline: one scheduler pass (`send_pass_run()`, what `manage.py send_due`
runs) claiming, rendering (merge tags, spintax, HTML and text parts) and delivering over
SMTP to an aiosmtpd sink in its own process, recording every outcome. Then sends the very
same messages, rendered beforehand, with plain `smtplib` over one connection to the same
sink. Prints both rates and their ratio (target >= 0.5), and checks that the sink got each
Message-ID exactly once.

To show where the time goes it also times, in the same run, two steps alone (rendering
and building the messages, no I/O; one durable single-row commit per email, what the
attempt mark before each SMTP transaction costs on this database and disk), and prints
the pipeline's own time per email by step (each step timed around its calls).

    python bench/send_pipeline.py [--emails 5000] [--postgres postgres://postgres@127.0.0.1:5432]
                                  [--profile: cProfile the pipeline] [--strict]

It creates its own database, rk_bench_send, and drops it when done.
"""

import argparse
import cProfile
import importlib
import pstats
import smtplib
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from _database import DEFAULT_SERVER, bench_database
from _sending import SMTP_PASSWORD, Sink, add_leads, make_campaign, make_inbox

DATABASE = "rk_bench_send"
TARGET = 0.5


# Where a pipeline email's time goes: (module, function, label), timed around each call.
STEPS = (
    ("campaigns.sending.scheduler", "claim_for_campaign", "claiming (per email)"),
    ("campaigns.sending.compose", "message_of", "rendering and building the message"),
    ("campaigns.sending.outbox", "mark_attempted", "the attempt marks (a durable commit a chunk)"),
    ("campaigns.sending.smtp", "transmit", "the SMTP transaction"),
    ("campaigns.sending.outbox", "record_chunk", "recording the outcomes (a transaction a chunk)"),
)


@contextmanager
def timed_steps(spent: dict[str, float]) -> Iterator[None]:
    """Add each step's wall time to `spent` while the pipeline runs."""
    patched = []
    for module_name, name, label in STEPS:
        owner: Any = importlib.import_module(module_name)
        *path, attribute = name.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, attribute)

        def timed(*args: Any, _original: Any = original, _label: str = label, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return _original(*args, **kw)
            finally:
                spent[_label] += time.perf_counter() - started

        setattr(owner, attribute, timed)
        patched.append((owner, attribute, original))
    try:
        yield
    finally:
        for owner, attribute, original in patched:
            setattr(owner, attribute, original)


def run_pipeline(profile: bool) -> tuple[float, dict[str, int], dict[str, float]]:
    from campaigns.sending.services import send_pass_run

    spent: dict[str, float] = defaultdict(float)
    profiler = cProfile.Profile() if profile else None
    with timed_steps(spent):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = send_pass_run().as_dict()
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return seconds, report, spent


def prerender() -> tuple[list[tuple[str, bytes]], float]:
    """Every sent row's message as the sender builds it, (recipient, bytes), and the
    seconds the rendering and building took (the rows are loaded before timing)."""
    from django.utils import timezone

    from campaigns.models import Send
    from campaigns.sending.compose import Thread, message_of

    sends = list(
        Send.objects.select_related("campaign", "lead", "variant", "inbox").order_by(
            "claimed_at", "pk"
        )
    )
    now = timezone.now()
    started = time.perf_counter()
    messages = []
    for send in sends:
        _, message = message_of(send, Thread(), now)
        messages.append((send.to_email, message))
    return messages, time.perf_counter() - started


def run_smtplib(sink: Sink, sender: str, messages: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    client = smtplib.SMTP(sink.host, sink.port, timeout=30)
    client.ehlo()
    client.login(sender, SMTP_PASSWORD)
    for recipient, data in messages:
        client.sendmail(sender, [recipient], data)
    client.quit()
    return time.perf_counter() - started


def durable_commits(dsn: str, count: int) -> float:
    """Seconds for `count` single-row UPDATEs, each its own durable commit."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE bench_commit_probe (id int PRIMARY KEY, at timestamptz)")
        connection.execute("INSERT INTO bench_commit_probe VALUES (1, now())")
        started = time.perf_counter()
        for _ in range(count):
            connection.execute("UPDATE bench_commit_probe SET at = clock_timestamp() WHERE id = 1")
        seconds = time.perf_counter() - started
        connection.execute("DROP TABLE bench_commit_probe")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--postgres", default=DEFAULT_SERVER, help="server URL, no database")
    parser.add_argument("--profile", action="store_true", help="cProfile the pipeline")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()

    env = {"REACHKIT_SEND_GAP_SECONDS": "0,0", "REACHKIT_SEND_PASS_SECONDS": "3600"}
    with Sink() as sink, bench_database(DATABASE, args.postgres, **env) as dsn:
        from campaigns.models import Send
        from reachkit.services import workspace_get_or_create

        workspace = workspace_get_or_create(name="Bench")
        inbox = make_inbox(workspace=workspace, sink=sink, number=1)
        campaign = make_campaign(name="Pipeline", inboxes=[inbox], workspace=workspace)
        add_leads(campaign=campaign, count=args.emails)

        seconds, report, spent = run_pipeline(args.profile)
        received, duplicated = sink.count()
        sent_rows = Send.objects.filter(status=Send.Status.SENT).count()
        if not (report["sent"] == received == sent_rows == args.emails) or duplicated:
            raise SystemExit(
                f"the pipeline sent {report}, the sink got {received} messages "
                f"({duplicated} Message-IDs more than once), {sent_rows} rows are sent"
            )

        messages, render_seconds = prerender()
        sink.reset()
        baseline_seconds = run_smtplib(sink, inbox.email, messages)
        if sink.count() != (args.emails, 0):
            raise SystemExit(f"smtplib: the sink counted {sink.count()}")
        commit_seconds = durable_commits(dsn, min(args.emails, 2000))

    rate = args.emails / seconds
    baseline = args.emails / baseline_seconds
    ratio = rate / baseline
    verdict = "ok" if ratio >= TARGET else "MISSED"
    size = sum(len(data) for _, data in messages) // len(messages)
    print(f"{args.emails:,} emails (~{size:,} bytes each), one inbox; PostgreSQL {DATABASE}")
    print(f"  smtplib, pre-rendered, one connection  {baseline:>8,.0f} emails/s   (baseline)")
    print(
        f"  scheduler + render + SMTP + records    {rate:>8,.0f} emails/s   "
        f"{ratio:.2f}x smtplib (target >= {TARGET}: {verdict})"
    )
    print("  steps of the pipeline alone:")
    print(
        f"    rendering and building the messages  {args.emails / render_seconds:>8,.0f} emails/s"
    )
    print(
        f"    one durable commit per email         {min(args.emails, 2000) / commit_seconds:>8,.0f}"
        " emails/s   (the attempt mark before SMTP)"
    )
    print("  where a pipeline email's time goes (wall, per email):")
    for label, step_seconds in spent.items():
        print(f"    {label:<38} {step_seconds * 1000 / args.emails:6.2f} ms")
    other = seconds - sum(spent.values())
    print(f"    {'the rest (the pass, batches, Python)':<38} {other * 1000 / args.emails:6.2f} ms")
    print(f"    {'total':<38} {seconds * 1000 / args.emails:6.2f} ms")
    if verdict != "ok" and args.strict:
        sys.exit("target missed")


if __name__ == "__main__":
    main()
