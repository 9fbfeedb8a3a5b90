"""One scheduler pass with 10,000 and with 1,000,000 leads due, on PostgreSQL.

A pass here is the celery-beat tick (the `campaigns.send_due` task, run in this process):
recover stale claims, reconcile unknown outcomes, then for each active campaign claim one
round of work (`REACHKIT_SEND_BATCH_SIZE`, 200 leads) and enqueue its delivery. Claiming only: the
broker is in memory and no worker runs, so nothing is delivered (delivery costs the same
per email whatever the database holds; bench/send_pipeline.py times it).

For each size the database holds exactly that many leads, all due for step 1, in one
active campaign with four inboxes (written with COPY, then VACUUM ANALYZE). Six passes run
one after another, each claiming the next 200. The first also sweeps the campaign's
follow-ups whose inbox left it (every 10 minutes per campaign) and warms the caches, so it
is shown apart; the figure is the median of the other five. Prints both figures and their
ratio (target <= 2). Also printed: the progress recount, which reads every lead and runs
in its own periodic task (`campaigns.refresh_progress`, every 5 minutes), not in a pass.

`--halfway`: the campaign is half-way instead: half its leads already got step 1 (one sent
row each, a day ago; their follow-ups are days away) and the other half are due.

    python bench/scheduler_scale.py [--small 10000] [--large 1000000] [--passes 5] [--halfway]
                                    [--postgres postgres://postgres@127.0.0.1:5432] [--strict]

It creates its own database, rk_bench_send, for each size, and drops it when done.
"""

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from _database import DEFAULT_SERVER, bench_database
from _sending import Sink, add_leads, make_campaign, make_inbox

DATABASE = "rk_bench_send"
TARGET = 2.0
BATCH = 200

# Half the campaign's leads got step 1 a day ago: their sent rows and where they stand now.
HISTORY = """
INSERT INTO campaigns_send (id, campaign_id, lead_id, step, sequence_id, variant_id, inbox_id,
    from_email, to_email, status, due_at, attempts, claimed_at, claimed_by, attempted_at,
    sent_at, message_id, subject, smtp_code, smtp_response, skip_reason, created_at)
SELECT gen_random_uuid(), lead.campaign_id, lead.id, 1, step.id, variant.id, %(inbox)s,
    'sender0@bench.test', lead.email, 'sent', %(at)s, 0, %(at)s, 'bench', %(at)s, %(at)s,
    '<' || lead.id || '@bench.test>', 'Hello', 250, '250 OK', '', %(at)s
FROM (SELECT * FROM leads_lead ORDER BY id LIMIT %(count)s) AS lead
JOIN campaigns_sequence AS step ON step.campaign_id = lead.campaign_id AND step.step = 1
JOIN campaigns_variant AS variant ON variant.sequence_id = step.id
"""
CONTACTED = """
UPDATE leads_lead SET status = 'contacted', next_step = 2, last_sent_at = %(at)s,
    next_due_at = %(at)s + interval '3 days'
WHERE id IN (SELECT lead_id FROM campaigns_send)
"""


@dataclass
class Run:
    leads: int
    due: int
    passes: list[float]
    load_seconds: float
    progress_seconds: float

    @property
    def first(self) -> float:
        return self.passes[0]

    @property
    def median(self) -> float:
        return statistics.median(self.passes[1:])


def measure(leads: int, passes: int, server: str, halfway: bool) -> Run:
    env = {"REACHKIT_SEND_GAP_SECONDS": "0,0", "REACHKIT_SEND_BATCH_SIZE": str(BATCH)}
    with Sink() as sink, bench_database(DATABASE, server, **env) as dsn:
        from django.utils import timezone

        from campaigns.models import Send
        from campaigns.sending.services import campaign_progress
        from campaigns.tasks import send_pass_run_task
        from leads.models import Lead
        from reachkit.services import workspace_get_or_create

        workspace = workspace_get_or_create(name="Bench")
        inboxes = [make_inbox(workspace=workspace, sink=sink, number=n) for n in range(4)]
        campaign = make_campaign(name="Scale", inboxes=inboxes, workspace=workspace)
        started = time.perf_counter()
        add_leads(campaign=campaign, count=leads)
        with psycopg.connect(dsn, autocommit=True) as connection:
            if halfway:
                at = timezone.now() - timedelta(days=1)
                values = {"inbox": inboxes[0].pk, "at": at, "count": leads // 2}
                connection.execute(HISTORY, values)
                connection.execute(CONTACTED, values)
            connection.execute("VACUUM ANALYZE")
        load_seconds = time.perf_counter() - started
        due = Lead.objects.filter(next_due_at__lte=timezone.now()).count()

        times = []
        for _ in range(passes + 1):
            started = time.perf_counter()
            send_pass_run_task()
            times.append(time.perf_counter() - started)
        claimed = Send.objects.filter(status=Send.Status.CLAIMED).count()
        if claimed != BATCH * (passes + 1):
            raise SystemExit(f"the passes claimed {claimed} emails, not {BATCH * (passes + 1)}")
        started = time.perf_counter()
        campaign_progress(campaign_id=campaign.pk)
        progress_seconds = time.perf_counter() - started
    return Run(leads, due, times, load_seconds, progress_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--halfway", action="store_true", help="half the leads already sent")
    parser.add_argument("--postgres", default=DEFAULT_SERVER, help="server URL, no database")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()

    small, large = (
        measure(size, args.passes, args.postgres, args.halfway) for size in (args.small, args.large)
    )
    ratio = large.median / small.median
    verdict = "ok" if ratio <= TARGET else "MISSED"
    state = "half-way (half sent, half due)" if args.halfway else "all leads due"
    print(f"one scheduler pass claiming {BATCH} emails, {state}; PostgreSQL {DATABASE}")
    for run in (small, large):
        print(
            f"  {run.leads:>9,} leads, {run.due:>9,} due: {run.median * 1000:6.1f} ms "
            f"(median of {args.passes}; first pass {run.first * 1000:.0f} ms; "
            f"loaded in {run.load_seconds:.0f} s)"
        )
    print(f"  ratio {ratio:.2f} (target <= {TARGET:.0f}: {verdict})")
    print(
        "  the progress recount (its own task, every 5 minutes, not in a pass): "
        f"{small.progress_seconds * 1000:.0f} ms and {large.progress_seconds * 1000:.0f} ms"
    )
    if verdict != "ok" and args.strict:
        sys.exit("target missed")


if __name__ == "__main__":
    main()
