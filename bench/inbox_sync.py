"""The unified inbox's IMAP sync on PostgreSQL and a real Dovecot.

A campaign sends one email to each of its leads (through an SMTP sink in its own process),
then what comes back is put into two Dovecot mailboxes with IMAP APPEND: a large one
(10,000 messages) and a small one (1,000). Of every ten messages, seven are people's
replies threaded to their send (In-Reply-To), one an out-of-office, one a bounce report,
one a newsletter that is no campaign mail; every one is a different lead's.

1. The first sync of the large mailbox (`imap_sync.sync_inbox`: fetch, parse, thread,
   classify, store, act through the sending engine), in messages per second, against
   plain imapclient fetching the same mailbox with `BODY.PEEK[]` in the same run (the
   baseline: the IMAP transfer alone).
2. An incremental pass: 10 new replies in each mailbox, synced, several rounds; the
   large mailbox's pass against the small one's (its time must not grow with the
   mailbox: target <= 2).

    python bench/inbox_sync.py [--messages 10000] [--small 1000] [--new 10] [--rounds 5]
                               [--postgres postgres://postgres@127.0.0.1:5432] [--strict]

Try it small first: `--messages 1000 --small 100`. It creates its own database,
rk_bench_sync, and drops it when done; Dovecot runs from a temporary folder (as root, as
the tests run it).
"""

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from _database import DEFAULT_SERVER, ROOT, bench_database
from _sending import Sink, add_leads, make_campaign, make_inbox

DATABASE = "rk_bench_sync"
TARGET = 2.0
APPEND_BATCH = 200


def message_for(n: int, send: Any, inbox_email: str) -> bytes:
    """The n-th message of a mailbox: a reply, an out-of-office, a bounce or a newsletter."""
    kind = n % 10
    if kind == 8:
        return bounce_for(send, inbox_email)
    message = EmailMessage()
    message["To"] = inbox_email
    message["Date"] = format_datetime(send.sent_at)
    message["Message-ID"] = make_msgid(domain="bench.test")
    if kind == 9:
        message["From"] = f"news{n}@shop.test"
        message["Subject"] = f"Our winter sale, week {n}"
        message.set_content("Everything must go. " * 40)
        return message.as_bytes()
    message["From"] = send.to_email
    message["In-Reply-To"] = send.message_id
    message["References"] = send.message_id
    if kind == 7:
        message["Subject"] = f"Automatic reply: {send.subject}"
        message["Auto-Submitted"] = "auto-replied"
        message.set_content("I am out of the office until 20 January with limited access.")
        return message.as_bytes()
    message["Subject"] = f"Re: {send.subject}"
    texts = (
        "Thanks, that sounds interesting. Can you send me more details?",
        "Not interested, thanks.",
        "Yes, let's talk on Tuesday afternoon. Send me an invite.",
        "I'm not the right person, please talk to our head of sales.",
        "What does it cost for a team of ten?",
    )
    message.set_content(
        f"{texts[n % len(texts)]}\n\nOn Monday, Sam wrote:\n> Hello, a quick question.\n"
    )
    return message.as_bytes()


def bounce_for(send: Any, inbox_email: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mail.test>\r\n"
        f"To: {inbox_email}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mail.test')}\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        f"<{send.to_email}>: host said: 550 5.1.1 user unknown\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.test\r\n\r\n"
        f"Final-Recipient: rfc822; {send.to_email}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {send.message_id}\r\nTo: {send.to_email}\r\nSubject: {send.subject}\r\n"
        "\r\n--B--\r\n"
    ).encode()


def append_all(dovecot: Any, user: str, messages: list[bytes]) -> None:
    with dovecot.client(user, tls=False) as client:
        for start in range(0, len(messages), APPEND_BATCH):
            client.multiappend("INBOX", messages[start : start + APPEND_BATCH])


def imap_inbox(*, workspace: Any, dovecot: Any, user: str, password: str) -> Any:
    from inboxes.models import Inbox

    return Inbox.objects.create(
        workspace=workspace,
        email=user,
        domain=user.rpartition("@")[2],
        imap_host=dovecot.host,
        imap_port=dovecot.imap_port,
        imap_username=user,
        imap_password=password,
        imap_security=Inbox.Security.NONE,
        connection_status=Inbox.ConnectionStatus.CONNECTED,
    )


def baseline_fetch(dovecot: Any, user: str) -> float:
    """Seconds plain imapclient takes to fetch the whole mailbox, in batches of 500."""
    started = time.perf_counter()
    with dovecot.client(user, tls=False) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        for start in range(0, len(uids), 500):
            client.fetch(uids[start : start + 500], ["RFC822.SIZE", "INTERNALDATE"])
            client.fetch(uids[start : start + 500], ["BODY.PEEK[]"])
    return time.perf_counter() - started


def timed_sync(inbox: Any, profile: bool = False) -> tuple[float, dict[str, int]]:
    from unibox.imap_sync import sync_inbox

    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    counts = sync_inbox(inbox_id=inbox.pk)
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(
            "wt-sync/(unibox|campaigns|leads|blocklist|inboxes)", 40
        )
    return time.perf_counter() - started, dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_SERVER, help="server URL, no database")
    parser.add_argument("--profile", action="store_true", help="cProfile the first sync")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from tests.services.dovecot import Dovecot, dovecot_binary
    from tests.services.tls import make_certificates

    binary = dovecot_binary()
    if binary is None:
        raise SystemExit("Dovecot is not installed (apt-get install dovecot-imapd)")
    tls = make_certificates(Path(tempfile.mkdtemp(prefix="bench-tls-")))
    dovecot = Dovecot(tls, binary=binary).start()
    leads_needed = args.messages + args.small + 2 * args.new * args.rounds
    env = {
        "REACHKIT_SEND_GAP_SECONDS": "0,0",
        "REACHKIT_SEND_PASS_SECONDS": "3600",
        "REACHKIT_SYNC_SINCE_DAYS": "30",
        "REACHKIT_LLM_URL": "",
    }
    try:
        with Sink() as sink, bench_database(DATABASE, args.postgres, **env):
            from django.conf import settings

            from campaigns.models import Send
            from campaigns.sending.services import send_pass_run
            from reachkit.services import workspace_get_or_create

            settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="bench-media-"))
            workspace = workspace_get_or_create(name="Bench")
            sender = make_inbox(workspace=workspace, sink=sink, number=1)
            campaign = make_campaign(name="Sync", inboxes=[sender], workspace=workspace)
            add_leads(campaign=campaign, count=leads_needed)
            report = send_pass_run().as_dict()
            sends = list(
                Send.objects.filter(status=Send.Status.SENT).select_related("lead").order_by("pk")
            )
            if len(sends) < leads_needed:
                raise SystemExit(f"only {len(sends)} of {leads_needed} emails left: {report}")

            big_user, big_password = dovecot.new_user("big")
            small_user, small_password = dovecot.new_user("small")
            big = imap_inbox(workspace=workspace, dovecot=dovecot, user=big_user,
                             password=big_password)  # fmt: skip
            small = imap_inbox(workspace=workspace, dovecot=dovecot, user=small_user,
                               password=small_password)  # fmt: skip
            unused = iter(sends)
            started = time.perf_counter()
            for user, count in ((big_user, args.messages), (small_user, args.small)):
                append_all(
                    dovecot, user, [message_for(n, next(unused), user) for n in range(count)]
                )
            append_seconds = time.perf_counter() - started

            baseline_seconds = baseline_fetch(dovecot, big_user)
            first_seconds, first_counts = timed_sync(big, args.profile)
            small_first_seconds, _ = timed_sync(small)

            big_times, small_times = [], []
            for _round in range(args.rounds):
                for inbox, user, times in ((big, big_user, big_times),
                                           (small, small_user, small_times)):  # fmt: skip
                    fresh = [message_for(n * 10, next(unused), user) for n in range(args.new)]
                    append_all(dovecot, user, fresh)
                    seconds, counts = timed_sync(inbox)
                    if counts["messages"] != args.new or counts["replies"] != args.new:
                        raise SystemExit(f"an incremental pass read {counts}")
                    times.append(seconds)
    finally:
        dovecot.stop()

    rate = args.messages / first_seconds
    baseline = args.messages / baseline_seconds
    big_pass = statistics.median(big_times)
    small_pass = statistics.median(small_times)
    ratio = big_pass / small_pass
    verdict = "ok" if ratio <= TARGET else "MISSED"
    total = args.messages + args.small
    print(f"{args.messages:,} and {args.small:,} messages in two Dovecot mailboxes; "
          f"PostgreSQL {DATABASE}")  # fmt: skip
    print(f"  (set up: {len(sends):,} campaign emails sent, {total:,} messages appended "
          f"in {append_seconds:.1f} s)")  # fmt: skip
    print(f"  imapclient, BODY.PEEK[] only          {baseline:>8,.0f} messages/s   (baseline)")
    print(
        f"  first sync of {args.messages:,} messages       {rate:>8,.0f} messages/s   "
        f"{rate / baseline:.3f}x the bare fetch"
    )
    print("    what they were: " + ", ".join(
        f"{name} {first_counts[name]:,}" for name in
        ("replies", "auto_replies", "bounces", "not_imported", "errors") if name in first_counts
    ))  # fmt: skip
    print(f"    (the {args.small:,}-message mailbox: {args.small / small_first_seconds:,.0f} "
          "messages/s)")  # fmt: skip
    print(
        f"  incremental pass, {args.new} new, {args.messages:,} mailbox  "
        f"{big_pass * 1000:>7,.0f} ms (median of {args.rounds})"
    )
    print(
        f"  incremental pass, {args.new} new, {args.small:,} mailbox   "
        f"{small_pass * 1000:>7,.0f} ms"
    )
    print(f"  ratio {ratio:.2f} (target <= {TARGET}: {verdict})")
    if args.strict and verdict != "ok":
        sys.exit(1)


if __name__ == "__main__":
    main()
