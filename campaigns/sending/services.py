"""The sending engine's public surface: what the rest of Reachkit calls, and nothing else.

Celery tasks (campaigns/tasks.py), `manage.py send_due`, the unsubscribe page, and the
unified inbox call these keyword-only functions; the modules below them are the engine's
own business (campaigns/sending/__init__.py draws the stack).
"""

import copy as copy_module
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils.timezone import now

from blocklist.services import blocklist_add
from campaigns.content import html_body, unsubscribe
from campaigns.content.merge_tags import MergeTagError, TooLong
from campaigns.content.message import OutgoingEmail, UnsafeHeader, make_message_id
from campaigns.models import MAX_DELAY_DAYS, Campaign, Send, Variant
from campaigns.sending import compose, delivery, events, outbox, passes, protection, rules
from campaigns.sending.delivery import DeliverLater, PassReport
from inboxes.models import Inbox
from leads.models import Lead
from reachkit.errors import DomainError, ValidationFailed

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
    progress = campaign_progress(campaign_id=campaign_id)
    with transaction.atomic():
        # Reaching 100 (every lead finished or stopped) is the campaign's completion, once.
        completed = progress == 100 and Campaign.objects.filter(
            pk=campaign_id, progress__lt=100
        ).exclude(status=Campaign.Status.DRAFT).update(progress=progress)
        Campaign.objects.filter(pk=campaign_id).update(progress=progress)
        if completed:
            events.campaigns_completed([Campaign.objects.get(pk=campaign_id)])


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


# --- Look-ups for the unified inbox (threading what comes back to the emails that left) --------

# Emails that left (or may have: `unknown`), which a reply or a bounce can be about.
LEFT = (Send.Status.SENT, Send.Status.BOUNCED, Send.Status.UNKNOWN)


def sends_by_message_id(*, workspace_id: uuid.UUID, message_ids: Sequence[str]) -> dict[str, Send]:
    """The workspace's sends whose Message-ID is among `message_ids` (`<…@…>`, as sent),
    keyed by it, each with its lead."""
    if not message_ids:
        return {}
    sends = Send.objects.filter(
        message_id__in=list(message_ids), campaign__workspace_id=workspace_id
    ).select_related("lead")
    return {send.message_id: send for send in sends}


def sends_to(*, inbox_id: uuid.UUID, addresses: Sequence[str], since: datetime) -> list[Send]:
    """The emails this inbox sent to any of `addresses` since `since`, newest first, each
    with its lead. Addresses match as given and lower-cased."""
    wanted = {address for given in addresses for address in (given, given.lower()) if address}
    if not wanted:
        return []
    return list(
        Send.objects.filter(
            inbox_id=inbox_id,
            to_email__in=sorted(wanted),
            claimed_at__gte=since,
            status__in=LEFT,
        )
        .select_related("lead")
        .order_by("-claimed_at")[:50]
    )


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
    if not lead.is_unsubscribed:
        events.lead_unsubscribed(lead, _campaign(lead), at)


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
    if lead.replied_at != received_at:  # the same first reply synced again tells nothing new
        events.reply_received(
            lead,
            campaign,
            received_at=received_at,
            label=lead.label if label is None else label,
            is_positive=is_positive,
            answered=answered,
            previous_label=lead.label,
            was_positive=lead.is_positive,
        )


@transaction.atomic
def lead_relabel(*, lead: Lead, label: str | None, is_positive: bool) -> None:
    """A person's judgement of a lead's reply replaces the classifier's.

    The lead's label and `is_positive` are what analytics count, so an override set on a
    conversation reaches them through here.
    """
    lead = _lock(lead)
    Lead.objects.filter(pk=lead.pk).update(label=label, is_positive=is_positive, updated_at=now())
    events.lead_labeled(
        lead,
        _campaign(lead),
        label=label,
        is_positive=is_positive,
        previous_label=lead.label,
        was_positive=lead.is_positive,
    )


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
            if effect != BounceEffect.IGNORED:
                events.email_bounced(
                    send, lead=lead, campaign=_campaign(lead), hard=False, response=response, at=at
                )
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
    events.email_bounced(
        send, lead=lead, campaign=_campaign(lead), hard=hard, response=response, at=at
    )
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
    events.auto_reply_received(
        lead, campaign, kind=kind.value, received_at=received_at, back_on=back_on
    )
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


# --- The unified inbox's view of a lead's campaign emails, and its own email ---------------------
# A conversation shows the campaign emails the lead got (its sent rows, which keep the
# subject and Message-ID but not the bodies), and sends replies and new threads through
# the inbox's SMTP server like campaign email goes.


@dataclass(frozen=True)
class SentContent:
    """An email as its lead got it: the subject it went with, its text and HTML bodies."""

    subject: str
    text: str
    html: str


# Rendered bodies are kept this long, keyed by everything rendering reads: an edit of the
# variant, the lead, the inbox or the campaign makes a new key. Bump the version when the
# rendering itself changes.
SENT_CONTENT_CACHE_SECONDS = 3600
SENT_CONTENT_VERSION = 1


def sends_rendered(*, sends: Iterable[Send]) -> dict[uuid.UUID, SentContent]:
    """What each sent row's lead got, by the row's id: its subject as sent, its bodies rendered
    again (compose.rendered_of, the sender's own rendering, spintax seeded by lead and variant).

    Deterministic: the bodies are those that went, unless the variant, the lead's values or the
    inbox's signature were edited since; a row whose variant was deleted, or whose content no
    longer renders, has empty bodies. Each row needs its `lead`; variants, inboxes and
    campaigns are loaded here, a query each for all of them, and bodies already rendered
    from the same inputs come from the cache in one round trip.
    """
    rows = list(sends)
    variants = Variant.objects.in_bulk({send.variant_id for send in rows} - {None})
    inboxes = Inbox.objects.in_bulk({send.inbox_id for send in rows} - {None})
    campaigns = Campaign.objects.in_bulk({send.campaign_id for send in rows})
    prepared = []
    for send in rows:
        copy = copy_module.copy(send)
        copy.variant = variants.get(send.variant_id) if send.variant_id else None
        copy.inbox = inboxes.get(send.inbox_id) if send.inbox_id else None
        copy.campaign = campaigns[send.campaign_id]
        prepared.append((copy, _rendering_key(copy)))
    cached = cache.get_many([key for _, key in prepared if key])
    shown: dict[uuid.UUID, SentContent] = {}
    fresh: dict[str, tuple[str, str]] = {}
    for copy, key in prepared:
        if key in cached:
            text, html = cached[key]
        else:
            text, html = _bodies(copy)
            if key:
                fresh[key] = (text, html)
        shown[copy.pk] = SentContent(subject=copy.subject, text=text, html=html)
    if fresh:
        cache.set_many(fresh, timeout=SENT_CONTENT_CACHE_SECONDS)
    return shown


def _bodies(send: Send) -> tuple[str, str]:
    """The text and HTML the row's lead got; empty when they cannot be made again."""
    if send.variant is None:
        return "", ""
    try:
        rendered = compose.rendered_of(send, compose.Thread())
    except (MergeTagError, TooLong):
        return "", ""
    return rendered.body_text, "" if send.campaign.text_only else rendered.body_html


def _rendering_key(send: Send) -> str:
    """A cache key naming every input of the row's rendering; "" when there is nothing to
    render (no variant)."""
    variant, lead, inbox, campaign = send.variant, send.lead, send.inbox, send.campaign
    if variant is None:
        return ""
    inputs = [
        SENT_CONTENT_VERSION,
        str(send.pk),
        [str(variant.pk), variant.subject, variant.body_html, variant.body_text],
        [str(lead.pk), lead.email, lead.first_name, lead.last_name, lead.variables],
        [inbox.email, inbox.first_name, inbox.last_name, inbox.signature] if inbox else None,
        [campaign.text_only, unsubscribe.url_in(campaign, lead)],
    ]
    digest = hashlib.blake2b(
        json.dumps(inputs, sort_keys=True, default=str).encode("utf-8", "surrogatepass"),
        digest_size=20,
    ).hexdigest()
    return f"sent-content:{digest}"


def send_rendered(*, send: Send) -> SentContent:
    """`sends_rendered` for one sent row."""
    return sends_rendered(sends=[send])[send.pk]


class EmailNotSent(DomainError):
    """The inbox's SMTP server refused the email or could not be reached: nothing went."""

    status_code = 502
    code = "send_failed"
    message = "The email could not be sent."


@dataclass(frozen=True)
class SentEmail:
    """An email `email_send` sent, as it went."""

    message_id: str
    from_email: str
    from_name: str
    to: tuple[tuple[str, str], ...]  # (address, name)
    subject: str
    text: str
    html: str
    date: datetime
    in_reply_to: str
    references: tuple[str, ...]
    # Recipients the server refused while taking the email for the others: address → reply.
    refused: dict[str, str]


def email_send(
    *,
    inbox: Inbox,
    to: Sequence[tuple[str, str]],
    subject: str,
    html: str,
    in_reply_to: str = "",
    references: Sequence[str] = (),
) -> SentEmail:
    """Send one email from `inbox` now: a reply or a new thread of the unified inbox.

    `to`: (address, name) pairs, at least one. `html` is sanitised as campaign bodies are
    and the text part derived from it. Built and sent by the engine's own code
    (delivery.deliver_one: header checks, the SSRF-guarded connect, filing in Sent).
    Raises ValidationFailed when a value cannot go in a header, EmailNotSent when the
    server refused it or could not be reached.
    """
    if not to:
        raise ValidationFailed("An email needs a recipient.", details={"to": ["Required."]})
    body_html = html_body.normalize_html(html)
    email = OutgoingEmail(
        message_id=make_message_id(uuid.uuid4(), inbox.domain or inbox.email.rpartition("@")[2]),
        from_email=inbox.email,
        from_name=inbox.display_name,
        to_email=to[0][0],
        to_name=to[0][1],
        more_to=tuple((address, name) for address, name in to[1:]),
        reply_to=inbox.reply_to,
        subject=subject,
        text=html_body.html_to_text(body_html),
        html=body_html,
        date=now(),
        in_reply_to=in_reply_to,
        references=tuple(references),
    )
    try:
        _, refused = delivery.deliver_one(inbox, email, [address for address, _ in to])
    except UnsafeHeader as error:
        raise ValidationFailed(str(error)) from error
    except delivery.Undelivered as error:
        raise EmailNotSent(f"The email could not be sent: {error.reason}") from error
    return SentEmail(
        message_id=email.message_id,
        from_email=email.from_email,
        from_name=email.from_name,
        to=tuple(to),
        subject=email.subject,
        text=email.text,
        html=body_html,
        date=email.date,
        in_reply_to=email.in_reply_to,
        references=email.references,
        refused=refused,
    )
