"""One scheduler pass: what celery-beat runs every minute, and `manage.py send_due`.

1. Recovers claims whose sender died: never attempted → scheduled again; attempted →
   `unknown`, to be reconciled against the inbox's Sent folder (campaigns/sending/reconcile.py).
2. Every few minutes per campaign, skips follow-ups whose thread's inbox left the campaign.
3. For each active campaign whose window is open now, claims a round of work
   (campaigns/sending/scheduler.py).
4. Hands the claims to delivery: here, in this process (`send_due`), claiming again while
   there is work the caps allow, until the pass's time budget runs out; or, given
   `deliver_later`, one task per inbox batch, after one round (the beat's tick).
"""

import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from campaigns.sending import delivery, outbox, reconcile, scheduler
from campaigns.sending.delivery import DeliverLater, PassReport

logger = logging.getLogger("reachkit.scheduler")

# How often a pass looks for follow-ups whose inbox left the campaign (it reads all due ones).
ORPHAN_SWEEP_SECONDS = 600


def run_pass(*, deliver_later: DeliverLater | None = None) -> PassReport:
    """One scheduler pass. Without `deliver_later`, delivers here; with it, hands each inbox's
    claims to it once they are committed.

    Inline, the pass claims again after each delivery while the caps allow and work is
    due; handed over, one round is claimed and the next tick continues.
    """
    started = time.monotonic()
    worker = outbox.worker_name()
    report = PassReport()
    outbox.recover_stale_claims(timezone.now())
    reconcile.reconcile_unknown()
    touched: set[uuid.UUID] = set()
    for campaign in scheduler.active_campaigns():
        if cache.add(f"orphan-sweep:{campaign.pk}", 1, timeout=ORPHAN_SWEEP_SECONDS):
            scheduler.skip_orphaned_follow_ups(campaign, timezone.now())
    while time.monotonic() - started < settings.SEND_PASS_SECONDS:
        claimed = 0
        for campaign in scheduler.active_campaigns():
            claims = scheduler.claim_for_campaign(campaign, timezone.now(), worker)
            if not claims:
                continue
            claimed += len(claims)
            touched.add(campaign.pk)
            if deliver_later is None:
                report.add(delivery.deliver_claimed(claims))
            else:
                delivery.enqueue(claims, deliver_later)
        if not claimed or deliver_later is not None:
            break
    logger.info("scheduler pass", extra={**report.as_dict(), "campaigns": len(touched)})
    return report
