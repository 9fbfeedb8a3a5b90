"""Webhooks on PostgreSQL: events through the outbox to a receiver, and their cost to sending.

1. Delivery: writes `--events` events (transactions of 50, as the sender's chunks) for a
   workspace with one endpoint, then runs the delivery (`endpoint_deliver`: read the queue
   in order, sign per Standard Webhooks, check the address, POST, record each attempt)
   until every event is delivered to an HTTP receiver in its own process, which counts the
   distinct `webhook-id`s. Baseline, in the same run: the very same bodies POSTed with plain
   httpx over one connection to the same receiver (no database, no signature).
2. The send pipeline's added cost: one `send_pass_run` of `--emails` emails to an SMTP sink
   with the events switched off (the engine's `emails_sent` replaced by a no-op), and one
   with them on and an endpoint listening (an event and a delivery row per email, a
   hand-over per chunk), alternately, twice each; the best of each. Target: at most 5 %.

    python bench/webhooks.py [--events 3000] [--emails 3000]
                             [--postgres postgres://postgres@127.0.0.1:5432] [--strict]

It creates its own database, rk_bench_webhooks, and drops it when done.
"""

import argparse
import json
import multiprocessing
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any

from _database import DEFAULT_SERVER, bench_database
from _sending import Sink, add_leads, free_port, make_campaign, make_inbox

DATABASE = "rk_bench_webhooks"
TARGET_SEND_COST = 0.05
CHUNK = 50


# --- The receiver, in its own process ------------------------------------------------------------


def _serve(port: int, control: Connection) -> None:
    import threading

    ids: set[str] = set()
    count = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                count[0] += 1
                ids.add(self.headers.get("webhook-id", ""))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    control.send("ready")
    while True:
        command = control.recv()
        if command == "count":
            with lock:
                control.send((count[0], len(ids - {""})))
        elif command == "reset":
            with lock:
                count[0] = 0
                ids.clear()
            control.send("ok")
        else:
            server.shutdown()
            control.send("stopped")
            return


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._control, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(self.port, child), daemon=True
        )

    def __enter__(self) -> "Receiver":
        self._process.start()
        if self._control.recv() != "ready":
            raise SystemExit("the receiver did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._control.send("stop")
        self._control.recv()
        self._process.join(10)

    def count(self) -> tuple[int, int]:
        self._control.send("count")
        received, distinct = self._control.recv()
        return received, distinct

    def reset(self) -> None:
        self._control.send("reset")
        self._control.recv()


# --- 1. Events to the receiver -------------------------------------------------------------------


def write_events(workspace: Any, count: int) -> float:
    from django.db import transaction

    from reachkit.webhooks.events import NewEvent, emit_many
    from reachkit.webhooks.models import EventType

    started = time.perf_counter()
    for start in range(0, count, CHUNK):
        with transaction.atomic():
            emit_many(
                [
                    NewEvent(
                        workspace.pk,
                        EventType.EMAIL_SENT,
                        {
                            "lead_id": f"lead-{n}",
                            "lead_email": f"lead{n}@company{n % 500}.com",
                            "campaign_name": "Bench",
                            "step": 1,
                            "subject": f"Hello Lead{n}",
                        },
                        ordering_key=f"lead-{n}",
                    )
                    for n in range(start, min(start + CHUNK, count))
                ]
            )
    return time.perf_counter() - started


def deliver_all(endpoint_id: Any) -> float:
    from reachkit.webhooks.models import Delivery
    from reachkit.webhooks.services import endpoint_deliver

    started = time.perf_counter()
    while Delivery.objects.filter(endpoint_id=endpoint_id, status="pending").exists():
        endpoint_deliver(endpoint_id=endpoint_id)
    return time.perf_counter() - started


def plain_httpx(url: str, bodies: list[bytes]) -> float:
    import httpx

    started = time.perf_counter()
    with httpx.Client(trust_env=False) as client:
        for body in bodies:
            client.post(url, content=body, headers={"Content-Type": "application/json"})
    return time.perf_counter() - started


def bodies_of(endpoint_id: Any) -> list[bytes]:
    from reachkit.webhooks import feed
    from reachkit.webhooks.models import Event

    return [
        json.dumps(feed.envelope(event), separators=(",", ":")).encode()
        for event in Event.objects.order_by("seq")
    ]


# --- 2. The send pipeline with and without events ----------------------------------------------


def send_run(
    *, inbox: Any, workspace: Any, emails: int, number: int, events_on: bool
) -> tuple[float, float]:
    """The pass's seconds, and those spent writing its events (0 with them off)."""
    from campaigns.sending import events
    from campaigns.sending.services import send_pass_run

    campaign = make_campaign(name=f"Run {number}", inboxes=[inbox], workspace=workspace)
    add_leads(campaign=campaign, count=emails, prefix=f"run{number}-")
    original = events.emails_sent
    in_events = [0.0]

    def timed(sends: Any, at: Any) -> None:
        started = time.perf_counter()
        original(sends, at)
        in_events[0] += time.perf_counter() - started

    events.emails_sent = timed if events_on else (lambda sends, at: None)  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        report = send_pass_run().as_dict()
        seconds = time.perf_counter() - started
    finally:
        events.emails_sent = original  # type: ignore[assignment]
    if report["sent"] != emails:
        raise SystemExit(f"run {number}: the pipeline sent {report}")
    return seconds, in_events[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--emails", type=int, default=3000)
    parser.add_argument(
        "--runs", type=int, default=3, help="pipeline runs with events, and without"
    )
    parser.add_argument("--postgres", default=DEFAULT_SERVER, help="server URL, no database")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()

    env = {
        "REACHKIT_SEND_GAP_SECONDS": "0,0",
        "REACHKIT_SEND_PASS_SECONDS": "3600",
        "REACHKIT_WEBHOOK_ALLOW_PRIVATE": "1",
        "REACHKIT_WEBHOOK_ALLOW_HTTP": "1",
    }
    with (
        Receiver() as receiver,
        Sink() as sink,
        bench_database(DATABASE, args.postgres, **env),
    ):
        from reachkit.services import workspace_get_or_create
        from reachkit.webhooks.models import Delivery, Event
        from reachkit.webhooks.services import endpoint_create

        workspace = workspace_get_or_create(name="Bench")
        endpoint, _ = endpoint_create(workspace=workspace, url=receiver.url)

        write_seconds = write_events(workspace, args.events)
        deliver_seconds = deliver_all(endpoint.pk)
        received, distinct = receiver.count()
        if not (received == distinct == args.events):
            raise SystemExit(f"the receiver got {received} requests, {distinct} distinct ids")
        bodies = bodies_of(endpoint.pk)
        receiver.reset()
        baseline_seconds = plain_httpx(receiver.url, bodies)

        # 2: a fresh workspace's endpoint listens to what the sender emits.
        Delivery.objects.all().delete()
        Event.objects.all().delete()
        sender = workspace_get_or_create(name="Bench sender")
        endpoint_create(workspace=sender, url=receiver.url)
        inbox = make_inbox(workspace=sender, sink=sink, number=1)
        off: list[float] = []
        on: list[float] = []
        shares: list[float] = []
        event_ms: list[float] = []
        for number in range(2 * args.runs):
            events_on = number % 2 == 1
            seconds, in_events = send_run(
                inbox=inbox,
                workspace=sender,
                emails=args.emails,
                number=number,
                events_on=events_on,
            )
            (on if events_on else off).append(seconds)
            if events_on:
                shares.append(in_events / seconds)
                event_ms.append(in_events * 1000 / args.emails)
        written = Event.objects.filter(workspace=sender).count()
        if written != args.runs * args.emails:
            raise SystemExit(f"{written} email_sent events for {args.runs * args.emails} emails")

    rate = args.events / deliver_seconds
    baseline = args.events / baseline_seconds
    share = min(shares)
    verdict = "ok" if share <= TARGET_SEND_COST else "MISSED"
    print(f"PostgreSQL {DATABASE}; receiver: http.server in its own process, keep-alive")
    print(f"1. {args.events:,} events to one endpoint")
    print(f"  plain httpx, same bodies, one connection   {baseline:>8,.0f} requests/s   (baseline)")
    print(
        f"  outbox → signed delivery → recorded        {rate:>8,.0f} events/s     "
        f"{rate / baseline:.2f}x the baseline"
    )
    writing = args.events / write_seconds
    print(f"  writing the events (50 a transaction)      {writing:>8,.0f} events/s")
    print(f"2. the send pipeline, {args.emails:,} emails a run, best of {args.runs}")
    print(f"  events off                                 {args.emails / min(off):>8,.0f} emails/s")
    print(f"  events on, an endpoint listening           {args.emails / min(on):>8,.0f} emails/s")
    print(
        f"  difference of the best runs                {(min(on) / min(off) - 1) * 100:>+8.1f} %"
        "   (noisy: the runs' own spread)"
    )
    print(
        f"  writing the events, per sent email         {min(event_ms):>8.3f} ms   "
        f"{share * 100:.1f} % of the pass (target <= {TARGET_SEND_COST * 100:.0f} %: {verdict})"
    )
    if verdict != "ok" and args.strict:
        sys.exit("target missed")


if __name__ == "__main__":
    main()
