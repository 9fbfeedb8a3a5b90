"""Warmup's planning and claiming over a large pool, on PostgreSQL.

A pool of N warming inboxes (one workspace, 40 warmup emails a day each, on their 20th day
so the ramp is at its top): the day's first pass plans every inbox's emails (N x 40 rows),
the next pass finds the day planned, and a claim takes one due email per inbox (the send
gap is on). No SMTP: sending costs one SMTP transaction per email whatever the pool
(tests/inboxes/test_warmup_passes.py sends for real). Prints seconds and queries for each.

    python bench/warmup_passes.py [--inboxes 500] [--postgres postgres://postgres@127.0.0.1:5432]

It creates its own database, rk_bench_warmup, and drops it when done.
"""

import argparse
import time
from datetime import timedelta

from _database import DEFAULT_SERVER, bench_database

DATABASE = "rk_bench_warmup"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inboxes", type=int, default=500)
    parser.add_argument("--postgres", default=DEFAULT_SERVER)
    args = parser.parse_args()
    with bench_database(DATABASE, args.postgres, REACHKIT_SEND_GAP_SECONDS="180,420"):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from inboxes import warmup_passes
        from inboxes.models import Inbox, WarmupEmail, WarmupState
        from reachkit.models import Workspace

        workspace = Workspace.objects.create(name="bench")
        inboxes = Inbox.objects.bulk_create(
            [
                Inbox(
                    workspace=workspace,
                    email=f"box{n}@bench{n % 7}.test",
                    domain=f"bench{n % 7}.test",
                    connection_status=Inbox.ConnectionStatus.CONNECTED,
                    is_warming=True,
                    daily_warmup_limit=40,
                    smtp_host="smtp.bench.test",
                    imap_host="imap.bench.test",
                )
                for n in range(args.inboxes)
            ]
        )
        now = timezone.now()
        WarmupState.objects.bulk_create(
            [
                WarmupState(
                    inbox=inbox, ramp_days=19, last_warmed_on=now.date() - timedelta(days=1)
                )
                for inbox in inboxes
            ]
        )

        def timed(label: str, work) -> object:
            start = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                result = work()
            print(f"{label:<32} {time.perf_counter() - start:6.2f} s  {len(queries):5d} queries")
            return result

        print(f"pool of {args.inboxes} inboxes, 40 warmup emails a day each")
        planned = timed("plan the day (first pass)", lambda: warmup_passes.plan(now))
        print(f"  {planned} rows planned")
        timed("plan again (day planned)", lambda: warmup_passes.plan(now))
        WarmupEmail.objects.update(due_at=now)
        claimed = timed("claim (one per inbox per gap)", lambda: warmup_passes.claim(now))
        print(f"  {len(claimed)} rows claimed")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
