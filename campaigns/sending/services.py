"""The sending engine's public surface: what the rest of Reachkit calls, and nothing else.

Celery tasks (campaigns/tasks.py), `manage.py send_due`, the unsubscribe page, and the
unified inbox call these keyword-only functions; the modules below them are the engine's
own business (campaigns/sending/__init__.py draws the stack).
"""

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils.timezone import now

from blocklist.services import blocklist_add
from campaigns.models import MAX_DELAY_DAYS, Campaign, Send
from campaigns.sending import delivery, outbox, passes, protection, rules
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
    Campaign.objects.filter(pk=campaign_id).update(
        progress=campaign_progress(campaign_id=campaign_id)
    )


def campaigns_progress_refresh() -> None:
    """Recount the cached `progress` of every running campaign (it reads all their leads)."""
    for campaign_id in Campaign.objects.exclude(status=Campaign.Status.DRAFT).values_list(
        "pk", flat=True
    ):
        campaign_progress_refresh(campaign_id=campaign_id, force=True)


def campaign_progress(*, campaign_id: uuid.UUID) -> int:
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


# --- What happens to a lead while the campaign sends (the unified inbox calls these) ------------
# Each runs in one transaction with the lead's row locked (a scheduler claiming the lead
# meanwhile skips it), and applying one twice changes nothing more: syncing the same
# message again, or a replayed task, is harmless.


class BounceEffect(StrEnum):
    """What a bounce report did to its send."""

    BOUNCED = "bounced"  # the send counts as bounced; the lead is bounced and stops
    RETRY_SCHEDULED = "retry_scheduled"  # soft: the step goes once more, the next day
    RECORDED = "recorded"  # soft, but nothing to retry (a later step went, or a rule holds)
    IGNORED = "ignored"  # already applied, or not about an email that left


class AutoReply(StrEnum):
    OUT_OF_OFFICE = "out_of_office"  # the lead waits until it is back, then goes on
    LEFT_COMPANY = "left_company"  # the lead stops
    OTHER = "other"  # a ticket system, "we got your message": nothing changes


# An out-of-office without a return date pauses the lead this long; one with a date never
# longer than the longest follow-up delay (a misread year must not park a lead for good).
OUT_OF_OFFICE_DAYS = 7
MAX_OUT_OF_OFFICE_DAYS = MAX_DELAY_DAYS


@transaction.atomic
def lead_unsubscribe(*, lead: Lead) -> None:
    """The lead asked to hear no more: marked, its sequence stopped, its address blocklisted."""
    # The blocklist first: it takes the workspace's blocklist lock and then marks leads, so
    # taking this lead's row lock before it could deadlock with a removal doing the same.
    blocklist_add(workspace=lead.workspace, raw=lead.email)
    lead = _lock(lead)
    at = now()
    Lead.objects.filter(pk=lead.pk).update(is_unsubscribed=True, updated_at=at)
    outbox.stop_held_leads(_campaign(lead), Lead.objects.filter(pk=lead.pk), at)


@transaction.atomic
def lead_reply_received(
    *,
    lead: Lead,
    received_at: datetime,
    send: Send | None = None,
    label: str | None = None,
    is_positive: bool = False,
) -> None:
    """A person replied (not an automatic reply: `lead_auto_replied`).

    The lead becomes `replied` (its first reply's time is kept) with its label and
    `is_positive`; with `stop_on_reply` its sequence stops now. With
    `stop_on_company_reply` its colleagues (the campaign's leads at its domain) are held by
    that stop rule from now on: diagnostics counts them stopped, and the scheduler skips
    each one's next step with the reason when it comes due. The reply counts for `send`,
    the email it answers when the caller knows it, else the last email the lead got before
    `received_at` (per-variant analytics).
    """
    lead = _lock(lead)
    if send is not None and send.lead_id != lead.pk:
        raise ValueError("the send answered is not one of this lead's")
    campaign = _campaign(lead)
    updates: dict[str, Any] = {
        "status": Lead.Status.REPLIED,
        "replied_at": Coalesce(F("replied_at"), Value(received_at)),
        "is_positive": is_positive,
        "updated_at": now(),
    }
    if label is not None:
        updates["label"] = label
    Lead.objects.filter(pk=lead.pk).update(**updates)
    if campaign.stop_on_reply:
        outbox.stop_held_leads(campaign, Lead.objects.filter(pk=lead.pk), now())
    answered = send
    if answered is None:
        answered = (
            Send.objects.filter(lead=lead, status=Send.Status.SENT, sent_at__lte=received_at)
            .order_by("-sent_at")
            .first()
        )
    if answered is not None:
        Send.objects.filter(pk=answered.pk, replied_at__isnull=True).update(replied_at=received_at)


@transaction.atomic
def lead_relabel(*, lead: Lead, label: str | None, is_positive: bool) -> None:
    """A person's judgement of a lead's reply replaces the classifier's.

    The lead's label and `is_positive` are what analytics count, so an override set on a
    conversation reaches them through here.
    """
    Lead.objects.filter(pk=lead.pk).update(label=label, is_positive=is_positive, updated_at=now())


@transaction.atomic
def lead_bounced(
    *, send: Send, hard: bool, at: datetime | None = None, response: str = ""
) -> BounceEffect:
    """A bounce report came back for `send` (an email that left): `hard` for a permanent
    failure (no such user, no such domain), soft for a temporary one (mailbox full…).

    Hard: the send is `bounced`, the lead `is_bounced` and stopped, and bounce protection
    weighs the campaign's bounces again. Soft: recorded on the send, and the lead keeps its
    place: the step is sent once more the next day (the campaign's), its follow-ups waiting
    for it; a soft bounce of that second try counts as bounced. `at`: when the report
    arrived (now by default); `response`: its diagnostic, kept on the send.
    """
    at = at or now()
    lead = _lock(send.lead)
    send = Send.objects.select_for_update().get(pk=send.pk)
    if send.status == Send.Status.BOUNCED:
        return BounceEffect.IGNORED
    if not hard:
        effect = _soft_bounce(send, lead, at, response)
        if effect is not None:
            return effect
    left = send.status in (Send.Status.SENT, Send.Status.UNKNOWN) or (
        send.status == Send.Status.SCHEDULED and send.soft_bounced_at is not None
    )
    if not left:
        return BounceEffect.IGNORED  # never left (failed, skipped, retried after a 4xx)
    Send.objects.filter(pk=send.pk).update(
        status=Send.Status.BOUNCED, smtp_response=response or send.smtp_response
    )
    Lead.objects.filter(pk=lead.pk).update(is_bounced=True, updated_at=at)
    outbox.stop_held_leads(_campaign(lead), Lead.objects.filter(pk=lead.pk), at)
    protection.check_bounce_rate(send.campaign_id)
    return BounceEffect.BOUNCED


def _soft_bounce(send: Send, lead: Lead, at: datetime, response: str) -> BounceEffect | None:
    """A soft bounce's effect, or None when it counts as a hard one (the retry bounced too).

    A report about an attempt before the latest (replayed, or late) changes nothing.
    """
    if send.status != Send.Status.SENT or send.sent_at is None or at < send.sent_at:
        return BounceEffect.IGNORED
    if send.soft_bounced_at is not None:
        retried = send.sent_at > send.soft_bounced_at
        return None if retried else BounceEffect.IGNORED
    fields: dict[str, Any] = {
        "soft_bounced_at": at,
        "smtp_response": response or send.smtp_response,
    }
    campaign = _campaign(lead)
    waiting = lead.next_step == send.step + 1 and not _held(campaign, lead)
    if not waiting:
        Send.objects.filter(pk=send.pk).update(**fields)
        return BounceEffect.RECORDED
    zone = campaign.schedule.timezone
    Send.objects.filter(pk=send.pk).update(
        **fields,
        status=Send.Status.SCHEDULED,
        due_at=rules.local_day_end(zone, at),
        sent_at=None,
        attempted_at=None,
    )
    # The follow-ups wait for the second try: sending it moves the lead on again.
    Lead.objects.filter(pk=lead.pk).update(next_step=send.step, next_due_at=None, updated_at=at)
    return BounceEffect.RETRY_SCHEDULED


@transaction.atomic
def lead_auto_replied(
    *,
    lead: Lead,
    kind: AutoReply,
    received_at: datetime,
    back_on: date | None = None,
) -> datetime | None:
    """An automatic reply came from the lead; it is not a reply (analytics do not count it).

    Out of office: the lead's next email waits until the day after `back_on` (the return
    date the message gives), or `OUT_OF_OFFICE_DAYS` after `received_at` without one, at
    midnight in the campaign's timezone; then the sequence goes on where it was (an email
    already due later stays later). Returns when it resumes, or None when nothing was due.
    Left the company: the lead stops (a stop rule). Other automatic mail changes nothing.
    """
    lead = _lock(lead)
    campaign = _campaign(lead)
    if kind == AutoReply.LEFT_COMPANY:
        Lead.objects.filter(pk=lead.pk, left_company_at__isnull=True).update(
            left_company_at=received_at, updated_at=now()
        )
        outbox.stop_held_leads(campaign, Lead.objects.filter(pk=lead.pk), now())
        return None
    if kind != AutoReply.OUT_OF_OFFICE or _held(campaign, lead):
        return None
    zone = campaign.schedule.timezone
    today = rules.local_date(zone, received_at)
    back = back_on + timedelta(days=1) if back_on else today + timedelta(days=OUT_OF_OFFICE_DAYS)
    resume_at = rules.local_midnight(
        zone, min(back, today + timedelta(days=MAX_OUT_OF_OFFICE_DAYS))
    )
    waiting = Send.objects.filter(lead=lead, status=Send.Status.SCHEDULED)
    if lead.next_due_at is None and not waiting.exists():
        return None
    if lead.next_due_at is not None and lead.next_due_at < resume_at:
        Lead.objects.filter(pk=lead.pk).update(next_due_at=resume_at, updated_at=now())
    waiting.filter(due_at__lt=resume_at).update(due_at=resume_at)
    return resume_at


def _lock(lead: Lead) -> Lead:
    """The lead's row, locked until the transaction ends, as it is now."""
    return Lead.objects.select_for_update().select_related("workspace").get(pk=lead.pk)


def _campaign(lead: Lead) -> Campaign:
    """The lead's campaign with its options as they are now (not as a caller cached them)."""
    return Campaign.objects.select_related("schedule", "workspace").get(pk=lead.campaign_id)


def _held(campaign: Campaign, lead: Lead) -> bool:
    """Whether a stop rule holds the lead now."""
    return Lead.objects.filter(pk=lead.pk).filter(rules.stopped_q(campaign)).exists()
