"""The sending engine's public surface: what the rest of Reachkit calls, and nothing else.

Celery tasks (campaigns/tasks.py), `manage.py send_due`, the unsubscribe page, and the
unified inbox call these keyword-only functions; the modules below them are the engine's
own business (campaigns/sending/__init__.py draws the stack).
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils.timezone import now

from blocklist.services import blocklist_add
from campaigns.models import Campaign, Send
from campaigns.sending import delivery, passes, rules
from campaigns.sending.delivery import DeliverLater, PassReport
from leads.models import Lead

PROGRESS_REFRESH_SECONDS = 300


# --- Passes and deliveries (the Celery tasks and send_due) ----------------------------------------


def send_pass_run(*, deliver_later: DeliverLater | None = None) -> PassReport:
    """One scheduler pass (campaigns/sending/passes.py). Without `deliver_later` it delivers
    in this process (`manage.py send_due`); with it, each inbox's claims are handed over."""
    return passes.run_pass(deliver_later=deliver_later)


def sends_deliver(*, send_ids: Sequence[uuid.UUID]) -> PassReport:
    """Deliver these claimed rows (those still claimed and untried), one batch per inbox."""
    return delivery.deliver(send_ids)


# --- Progress ----------------------------------------------------------------------------------


def campaign_progress_refresh(*, campaign_id: uuid.UUID, force: bool = False) -> None:
    """Recount the campaign's cached `progress`, at most every few minutes (it reads every lead)
    unless `force`."""
    key = f"campaign-progress:{campaign_id}"
    if not force and not cache.add(key, 1, timeout=PROGRESS_REFRESH_SECONDS):
        return
    Campaign.objects.filter(pk=campaign_id).update(progress=campaign_progress(campaign_id))


def campaigns_progress_refresh() -> None:
    """Recount the cached `progress` of every running campaign (it reads all their leads)."""
    for campaign_id in Campaign.objects.exclude(status=Campaign.Status.DRAFT).values_list(
        "pk", flat=True
    ):
        campaign_progress_refresh(campaign_id=campaign_id, force=True)


def campaign_progress(campaign_id: uuid.UUID) -> int:
    """Percent of the campaign's leads that will get no more email (finished or stopped)."""
    leads = Lead.objects.filter(campaign_id=campaign_id)
    total = leads.count()
    if not total:
        return 0
    in_flight = Send.objects.filter(campaign_id=campaign_id, status__in=rules.IN_FLIGHT).values(
        "lead_id"
    )
    done = leads.filter(next_due_at__isnull=True).exclude(pk__in=in_flight).count()
    return min(100, done * 100 // total)


@transaction.atomic
def lead_unsubscribe(*, lead: Lead) -> None:
    """The lead asked to hear no more: marked, its sequence stopped, its address blocklisted."""
    Lead.objects.filter(pk=lead.pk).update(is_unsubscribed=True, next_due_at=None, updated_at=now())
    Send.objects.filter(lead=lead, status=Send.Status.SCHEDULED).update(
        status=Send.Status.SKIPPED, skip_reason=Send.SkipReason.UNSUBSCRIBED
    )
    blocklist_add(workspace=lead.workspace, raw=lead.email)


@transaction.atomic
def lead_reply_received(
    *, lead: Lead, received_at: datetime, label: str | None = None, is_positive: bool = False
) -> None:
    """The lead replied (the unified inbox calls this).

    The lead becomes `replied`; with the campaign's `stop_on_reply` its sequence stops.
    The reply counts for the last email the lead got before it (per-variant analytics).
    """
    campaign = Campaign.objects.get(pk=lead.campaign_id)  # its options now, not as cached
    updates: dict[str, Any] = {
        "status": Lead.Status.REPLIED,
        "replied_at": Coalesce(F("replied_at"), Value(received_at)),
        "is_positive": is_positive,
        "updated_at": now(),
    }
    if label is not None:
        updates["label"] = label
    if campaign.stop_on_reply:
        updates["next_due_at"] = None
        Send.objects.filter(lead=lead, status=Send.Status.SCHEDULED).update(
            status=Send.Status.SKIPPED, skip_reason=Send.SkipReason.REPLIED
        )
    Lead.objects.filter(pk=lead.pk).update(**updates)
    answered = (
        Send.objects.filter(lead=lead, status=Send.Status.SENT, sent_at__lte=received_at)
        .order_by("-sent_at")
        .first()
    )
    if answered is not None and answered.replied_at is None:
        Send.objects.filter(pk=answered.pk).update(replied_at=received_at)
