"""Campaign authoring: every write on campaigns, schedules, inboxes, sequences and variants.

Each function validates everything before it writes and runs in one transaction, so a
refused request changes nothing. Writes that touch a campaign's steps or variants lock
the campaign row first: two concurrent requests cannot pick the same step number or
variant letter.
"""

import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from datetime import time, timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, Max, OuterRef, QuerySet
from django.utils.timezone import now

from campaigns import windows
from campaigns.content import html_body, merge_tags, rendering
from campaigns.models import (
    MAX_DELAY_DAYS,
    OPTION_FIELDS,
    Campaign,
    CampaignInbox,
    Schedule,
    Send,
    Sequence,
    Variant,
)
from campaigns.sending import events, rules
from inboxes.models import Inbox
from leads.bulk import lock_campaign
from leads.models import Lead
from reachkit.errors import DomainError, NotFound, ValidationFailed
from reachkit.models import Workspace
from reachkit.text import with_article

DEFAULT_DELAY_DAYS = 3
_Row = TypeVar("_Row", Sequence, Variant)
VARIANT_LETTERS = tuple(chr(code) for code in range(ord("A"), ord("Z") + 1))


class InvalidStatusTransition(ValidationFailed):
    code = "invalid_status_transition"
    message = "This status change is not allowed."


class CampaignNotReady(ValidationFailed):
    code = "campaign_not_ready"
    message = "The campaign cannot be launched yet."


class LastVariantError(DomainError):
    code = "cannot_delete_last_variant"
    message = "A step needs at least one enabled variant: this is its last one."


class LastEnabledVariantError(DomainError):
    code = "cannot_disable_last_variant"
    message = "A step needs at least one enabled variant: this is its last one."


class InvalidMergeTag(ValidationFailed):
    """`details` maps each bad field to `{"offset": int, "message": str}`."""

    code = "invalid_merge_tag"
    message = "A merge tag is malformed."


class EmailTooLong(DomainError):
    """`details` maps the field past its cap (subject, body_html, body_text) to a message."""

    code = "email_too_long"
    message = "The email is too long once its merge tags are filled."

    @classmethod
    def of(cls, error: merge_tags.TooLong) -> "EmailTooLong":
        message = f"{error}."
        return cls(message, details={error.field or "non_field_errors": [message]})


class TooManyVariants(DomainError):
    code = "too_many_variants"
    message = f"A step has at most {len(VARIANT_LETTERS)} variants (A to Z)."


# --- Campaigns ------------------------------------------------------------------------------


@transaction.atomic
def campaign_create(*, workspace: Workspace, name: str) -> Campaign:
    """A draft with the default schedule and an empty first step (one empty variant A)."""
    campaign = Campaign.objects.create(workspace=workspace, name=name)
    Schedule.objects.create(
        campaign=campaign,
        timezone=windows.DEFAULT_TIMEZONE,
        start_time=windows.DEFAULT_START,
        end_time=windows.DEFAULT_END,
        days=windows.days_to_json(windows.default_days()),
    )
    _step_append(campaign, delay_days=DEFAULT_DELAY_DAYS)
    return campaign


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    name: str | None = None,
    status: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> Campaign:
    """Rename, change options and status together, or not at all.

    1. Lock the row, so a concurrent launch and pause cannot both pass their checks.
    2. Check the status change: an allowed transition, and launch readiness for → active.
    3. Apply name, options and status; switching `unsubscribe_option` adds the
       unsubscribe link to every variant body, or removes it from every one.
    """
    campaign = _lock(campaign)
    if status is not None:
        _check_transition(campaign, status)
    pausing = status == Campaign.Status.PAUSED and campaign.status != Campaign.Status.PAUSED

    if name is not None:
        campaign.name = name
    unsubscribe_before = campaign.unsubscribe_option
    for key, value in (options or {}).items():
        if key not in OPTION_FIELDS:
            raise ValueError(f"not a campaign option: {key}")
        setattr(campaign, key, value)
    if status is not None:
        campaign.status = status
        campaign.paused_reason = ""
    campaign.save()

    if campaign.unsubscribe_option != unsubscribe_before:
        _sync_unsubscribe_links(campaign)
    if pausing:
        events.campaign_paused(campaign, reason="Paused by hand.", by="user")
    return campaign


def _sync_unsubscribe_links(campaign: Campaign) -> None:
    variants = list(Variant.objects.filter(sequence__campaign=campaign))
    for variant in variants:
        if campaign.unsubscribe_option:
            variant.set_body(html_body.ensure_unsubscribe_link(variant.body_html))
        else:
            variant.set_body(html_body.remove_unsubscribe_link(variant.body_html))
        variant.updated_at = now()
    Variant.objects.bulk_update(variants, ["body_html", "body_text", "updated_at"])


def _check_transition(campaign: Campaign, status: str) -> None:
    if not campaign.may_become(status):
        message = f"{with_article(campaign.status).capitalize()} campaign cannot become {status}."
        raise InvalidStatusTransition(message, details={"status": [message]})
    if status == Campaign.Status.ACTIVE:
        problems = campaign_launch_problems(campaign)
        if problems:
            raise CampaignNotReady(details=problems)


def campaign_launch_problems(campaign: Campaign) -> dict[str, list[str]]:
    """What stops the campaign from sending: `{"inboxes": [...], "sequences": [...]}`.

    It needs an attached inbox, a step 1 with an enabled variant that has a subject and
    a body, and on every later step an enabled variant with a body (an empty follow-up
    subject is sent as "Re: <first subject>"). Empty when the campaign is ready.
    """
    problems: dict[str, list[str]] = {}
    if not CampaignInbox.objects.filter(campaign=campaign).exists():
        problems["inboxes"] = ["Attach at least one inbox."]

    steps = list(Sequence.objects.filter(campaign=campaign).prefetch_related("variants"))
    messages = []
    if not steps:
        messages.append("Add a first step.")
    for step in steps:
        enabled = [variant for variant in step.variants.all() if variant.enabled]
        if step.step == 1 and not any(v.has_subject and v.has_body for v in enabled):
            messages.append("Step 1 needs an enabled variant with a subject and a body.")
        elif step.step > 1 and not any(v.has_body for v in enabled):
            messages.append(f"Step {step.step} needs an enabled variant with a body.")
    if messages:
        problems["sequences"] = messages
    return problems


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    """Deletes the campaign with everything it owns (the foreign keys cascade).

    It takes the locks that writes to the campaign take (its lead lock, then its row), so
    none of them adds a row under it while it goes: they wait, then find it gone (404).
    """
    lock_campaign(campaign.pk)
    _lock(campaign).delete()


def _lock(campaign: Campaign) -> Campaign:
    """The campaign row, locked until the transaction ends: every write to a campaign or to
    what it owns (steps, variants, inboxes, schedule) takes it first, its deletion too.

    NotFound when the campaign was deleted meanwhile; a row of it read before the lock is
    read again after it (`_still_there`), as another request may have changed or deleted it.
    """
    locked = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    if locked is None:
        raise NotFound()
    return locked


def _still_there(row: _Row) -> _Row:
    """The row as it is now, under its campaign's lock; NotFound when it was deleted."""
    current = type(row).objects.filter(pk=row.pk).first()
    if current is None:
        raise NotFound()
    return current


# --- Schedule -------------------------------------------------------------------------------


@transaction.atomic
def schedule_update(
    *,
    campaign: Campaign,
    timezone: str | None = None,
    default_window: Mapping[str, time] | None = None,
    days: Mapping[str, Mapping[str, Any]] | None = None,
) -> Schedule:
    """Change any of timezone, default window and per-day settings; omitted ones stay.

    Times arrive on the grid already. `days` maps a day name to any of `enabled`,
    `start`, `end` (None: fall back to the default window). Every day's effective
    window must end after it starts, checked against the result, not the request alone.
    """
    schedule = Schedule.objects.select_for_update().filter(campaign=campaign).first()
    if schedule is None:  # the campaign was deleted meanwhile
        raise NotFound()
    current = schedule.weekly()
    default = windows.Window(
        start=(default_window or {}).get("start", current.default.start),
        end=(default_window or {}).get("end", current.default.end),
    )
    new_days = dict(current.days)
    for name, changes in (days or {}).items():
        new_days[name] = dataclasses.replace(new_days[name], **changes)
    weekly = windows.WeeklySchedule(
        timezone=timezone or current.timezone, default=default, days=new_days
    )

    bad = weekly.invalid_windows()
    if bad:
        details: dict[str, Any] = {}
        if "default" in bad:
            details["default_window"] = {"end": ["The end must be after the start."]}
        day_errors = {
            name: {"end": ["The end must be after the start (the default window fills gaps)."]}
            for name in bad
            if name != "default"
        }
        if day_errors:
            details["days"] = day_errors
        raise ValidationFailed(
            "A sending window must end after it starts.", code="invalid_window", details=details
        )

    schedule.timezone = weekly.timezone
    schedule.start_time = default.start
    schedule.end_time = default.end
    schedule.days = windows.days_to_json(weekly.days)
    schedule.save()
    return schedule


# --- Inboxes on a campaign ------------------------------------------------------------------


def campaign_inboxes(campaign: Campaign) -> list[Inbox]:
    return list(Inbox.objects.filter(campaigns=campaign).order_by("email"))


def campaign_attachable_inboxes(campaign: Campaign) -> QuerySet[Inbox]:
    """The inboxes a campaign may send from: its own workspace's, never another's."""
    return Inbox.objects.filter(workspace_id=campaign.workspace_id)


def _workspace_inboxes(campaign: Campaign, inbox_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The ids, deduped; NotFound naming them when any is unknown or another workspace's.

    The inboxes stay locked until the transaction ends, so none is deleted under a link
    being written (inbox_delete locks its inbox first).
    """
    wanted = set(inbox_ids)
    found = set(
        campaign_attachable_inboxes(campaign)
        .select_for_update(no_key=True)
        .filter(pk__in=wanted)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    missing = sorted(str(inbox_id) for inbox_id in wanted - found)
    if missing:
        raise NotFound(
            "Inbox not found.", details={"inbox_ids": [f"Unknown inbox: {i}" for i in missing]}
        )
    return wanted


@transaction.atomic
def campaign_inboxes_attach(*, campaign: Campaign, inbox_ids: Iterable[uuid.UUID]) -> list[Inbox]:
    """Attach inboxes; already attached ones stay. Returns the attached set."""
    campaign = _lock(campaign)
    wanted = _workspace_inboxes(campaign, inbox_ids)
    attached = set(
        CampaignInbox.objects.filter(campaign=campaign).values_list("inbox_id", flat=True)
    )
    CampaignInbox.objects.bulk_create(
        [CampaignInbox(campaign=campaign, inbox_id=i) for i in sorted(wanted - attached)],
        ignore_conflicts=True,
    )
    return campaign_inboxes(campaign)


@transaction.atomic
def campaign_inboxes_detach(*, campaign: Campaign, inbox_ids: Iterable[uuid.UUID]) -> list[Inbox]:
    """Detach inboxes; ones that were not attached are skipped. Returns the attached set."""
    campaign = _lock(campaign)
    wanted = _workspace_inboxes(campaign, inbox_ids)
    CampaignInbox.objects.filter(campaign=campaign, inbox_id__in=wanted).delete()
    return campaign_inboxes(campaign)


# --- Sequences ------------------------------------------------------------------------------


@transaction.atomic
def sequence_create(*, campaign: Campaign, delay_days: int = DEFAULT_DELAY_DAYS) -> Sequence:
    """A new last step, with one variant A: empty, or the unsubscribe block when that's on.

    Leads that had finished the sequence (they got the old last step) are due for the new
    one, the previous step's delay after their last email.
    """
    campaign = _lock(campaign)
    sequence = _step_append(campaign, delay_days=delay_days)
    previous = Sequence.objects.filter(campaign=campaign, step=sequence.step - 1).first()
    if previous is not None:
        _still_going(campaign).filter(
            next_step=sequence.step, next_due_at__isnull=True, last_sent_at__isnull=False
        ).update(next_due_at=_after_last_email(previous.delay_days))
    return sequence


def _still_going(campaign: Campaign) -> Any:
    """The campaign's leads that may get more email (no stop rule holds them)."""
    return Lead.objects.filter(campaign=campaign).exclude(rules.stopped_q(campaign))


def _after_last_email(delay_days: int) -> ExpressionWrapper:
    return ExpressionWrapper(
        F("last_sent_at") + timedelta(days=delay_days), output_field=DateTimeField()
    )


def _step_append(campaign: Campaign, *, delay_days: int) -> Sequence:
    if not 0 <= delay_days <= MAX_DELAY_DAYS:
        raise ValueError(f"delay_days out of range: {delay_days}")
    last = Sequence.objects.filter(campaign=campaign).aggregate(last=Max("step"))["last"] or 0
    sequence = Sequence.objects.create(
        workspace_id=campaign.workspace_id,
        campaign=campaign,
        step=last + 1,
        delay_days=delay_days,
    )
    variant = Variant(workspace_id=campaign.workspace_id, sequence=sequence, letter="A")
    if campaign.unsubscribe_option:
        variant.set_body(html_body.UNSUBSCRIBE_BLOCK)
    variant.save()
    return sequence


@transaction.atomic
def sequence_update(*, sequence: Sequence, delay_days: int) -> Sequence:
    if not 0 <= delay_days <= MAX_DELAY_DAYS:
        raise ValueError(f"delay_days out of range: {delay_days}")
    _lock(sequence.campaign)
    sequence = _still_there(sequence)
    sequence.delay_days = delay_days
    sequence.save(update_fields=["delay_days"])
    # Leads waiting for the next step wait the new delay, counted from their last email.
    Lead.objects.filter(
        campaign_id=sequence.campaign_id, next_step=sequence.step + 1, next_due_at__isnull=False
    ).update(next_due_at=_after_last_email(delay_days))
    return sequence


@transaction.atomic
def sequence_delete(*, sequence: Sequence) -> None:
    """Delete a step and its variants; later steps move up, so steps stay 1, 2, 3…"""
    campaign = _lock(sequence.campaign)
    sequence = _still_there(sequence)  # its step number now, not as it was read
    step = sequence.step
    sequence.delete()
    # The unique (campaign, step) constraint is deferred, so shifting many rows in one
    # statement is fine whatever order the database updates them in.
    Sequence.objects.filter(campaign=campaign, step__gt=step).update(step=F("step") - 1)
    # Leads and sent history move with their steps; the deleted step's sends keep its number.
    Lead.objects.filter(campaign=campaign, next_step__gt=step).update(next_step=F("next_step") - 1)
    Send.objects.filter(campaign=campaign, step__gt=step, sequence__isnull=False).update(
        step=F("step") - 1
    )


def variant_next_letter(sequence: Sequence) -> str:
    """The first letter, A to Z, that no variant of the step uses."""
    used = set(Variant.objects.filter(sequence=sequence).values_list("letter", flat=True))
    for letter in VARIANT_LETTERS:
        if letter not in used:
            return letter
    raise TooManyVariants()


def sequence_last_step(campaign_id: uuid.UUID) -> int:
    return Sequence.objects.filter(campaign_id=campaign_id).aggregate(last=Max("step"))["last"] or 0


# --- Variants -------------------------------------------------------------------------------


def _check_merge_tags(fields: Mapping[str, str | None]) -> None:
    """InvalidMergeTag naming every field whose merge tags do not parse."""
    details = {}
    for field, text in fields.items():
        try:
            merge_tags.validate(text or "")
        except merge_tags.MergeTagError as error:
            details[field] = {"offset": error.offset, "message": error.message}
    if details:
        first = next(iter(details.values()))
        raise InvalidMergeTag(f"{first['message']} at offset {first['offset']}.", details=details)


def _body(campaign: Campaign, body_html: str) -> str:
    """Submitted HTML as stored: normalised, with the unsubscribe link when that's on."""
    html = html_body.normalize_html(body_html)
    if campaign.unsubscribe_option:
        html = html_body.ensure_unsubscribe_link(html)
    # Normalising can join braces that markup or an entity kept apart ("{<b></b>{x",
    # "&#123;{x"), in the HTML or only in its text: both are rendered, so both must parse.
    # Such an error's offset points into the stored HTML, or into the text version.
    _check_merge_tags({"body_html": html})
    try:
        merge_tags.validate(html_body.html_to_text(html))
    except merge_tags.MergeTagError as error:
        message = f"{error.message} (in the plain-text version)"
        raise InvalidMergeTag(
            f"{message} at offset {error.offset}.",
            details={"body_html": {"offset": error.offset, "message": message}},
        ) from None
    return html


@transaction.atomic
def variant_create(
    *, sequence: Sequence, subject: str, body_html: str = "", enabled: bool = True
) -> Variant:
    """A new variant of a step, lettered with the first free letter (A to Z)."""
    campaign = _lock(sequence.campaign)
    sequence = _still_there(sequence)
    _check_merge_tags({"subject": subject, "body_html": body_html})
    variant = Variant(
        workspace_id=campaign.workspace_id,
        sequence=sequence,
        letter=variant_next_letter(sequence),
        subject=subject.strip(),
        enabled=enabled,
    )
    variant.set_body(_body(campaign, body_html))
    _check_rendered_size(variant)
    variant.save()
    return variant


@transaction.atomic
def variant_update(
    *,
    variant: Variant,
    subject: str | None = None,
    body_html: str | None = None,
    enabled: bool | None = None,
) -> Variant:
    """Change any of subject, body and enabled; None leaves a field as it is.

    The last enabled variant of a step cannot be disabled. A body loses nothing it needs:
    with `unsubscribe_option` on, a removed unsubscribe link is put back.
    """
    campaign = _lock(variant.sequence.campaign)
    variant = _still_there(variant)
    _check_merge_tags(
        {
            field: value
            for field, value in (("subject", subject), ("body_html", body_html))
            if value is not None
        }
    )
    if enabled is False and variant.enabled and not _other_enabled(variant):
        raise LastEnabledVariantError(
            details={"enabled": ["A step needs at least one enabled variant."]}
        )

    if subject is not None:
        variant.subject = subject.strip()
    if body_html is not None:
        variant.set_body(_body(campaign, body_html))
    if enabled is not None:
        variant.enabled = enabled
    if subject is not None or body_html is not None:
        _check_rendered_size(variant)
    variant.save()
    return variant


# A variant names at most this many variables in its warnings (one query asks about them).
MAX_CHECKED_VARIABLES = 50


@dataclasses.dataclass(frozen=True)
class VariantWarning:
    code: str
    name: str
    message: str


def variant_warnings(*, variant: Variant) -> list[VariantWarning]:
    """What a saved variant may not render as meant, without refusing it (a lead may bring
    the variable later): each merge tag that is neither a built-in, a sender's value, nor a
    variable of any lead of the campaign. One query, each name's EXISTS stopping at its
    first lead."""
    used = dict.fromkeys(
        [
            *merge_tags.variables_used(variant.subject or ""),
            *merge_tags.variables_used(variant.body_html or ""),
        ]
    )
    known = {*rendering.LEAD_BUILTINS, *rendering.SENDER_VARIABLES}
    names = [name for name in used if name not in known][:MAX_CHECKED_VARIABLES]
    if not names:
        return []
    leads = Lead.objects.filter(campaign_id=OuterRef("sequence__campaign_id"))
    found = (
        Variant.objects.filter(pk=variant.pk)
        .values_list(*[Exists(leads.filter(variables__has_key=name)) for name in names])
        .first()
    )
    fallbackless = set(merge_tags.variables_without_fallback(variant.subject or ""))
    fallbackless |= set(merge_tags.variables_without_fallback(variant.body_html or ""))
    return [
        VariantWarning(
            code="unknown_merge_tag",
            name=name,
            message=(
                f'No lead of this campaign has a "{name}" variable, and it is not a built-in: '
                + (
                    "the tag renders empty until a lead brings it (add a fallback: "
                    f"{{{{{name}|…}}}})."
                    if name in fallbackless
                    else "its fallback is used until a lead brings it."
                )
            ),
        )
        for name, exists in zip(names, found or (), strict=False)
        if not exists
    ]


def _check_rendered_size(variant: Variant) -> None:
    """EmailTooLong when the template alone, with no values, already passes a cap."""
    try:
        rendering.check_template(subject=variant.subject, body_html=variant.body_html)
    except merge_tags.TooLong as error:
        raise EmailTooLong.of(error) from None


@transaction.atomic
def variant_delete(*, variant: Variant) -> None:
    """Delete a variant, unless the step would be left without an enabled one."""
    _lock(variant.sequence.campaign)
    variant = _still_there(variant)
    if not _other_enabled(variant):
        raise LastVariantError()
    variant.delete()


def _other_enabled(variant: Variant) -> bool:
    return (
        Variant.objects.filter(sequence_id=variant.sequence_id, enabled=True)
        .exclude(pk=variant.pk)
        .exists()
    )


def variant_preview(
    *,
    variant: Variant,
    lead_id: uuid.UUID | None = None,
    variables: Mapping[str, object] | None = None,
    inbox_id: uuid.UUID | None = None,
) -> rendering.RenderedEmail:
    """The variant rendered for a lead of its campaign, or for given values.

    NotFound when the lead is not one of this campaign's or the inbox not the workspace's;
    EmailTooLong when the email passes a rendered-size cap (the sender would fail it).
    """
    campaign = variant.sequence.campaign
    lead = None
    if lead_id is not None:
        lead = Lead.objects.filter(campaign=campaign, pk=lead_id).first()
        if lead is None:
            raise NotFound("Lead not found.", details={"lead_id": ["Not a lead of this campaign."]})
    inbox = None
    if inbox_id is not None:
        inbox = Inbox.objects.filter(workspace_id=campaign.workspace_id, pk=inbox_id).first()
        if inbox is None:
            raise NotFound("Inbox not found.", details={"inbox_id": ["Unknown inbox."]})
    try:
        return rendering.preview(variant, lead=lead, variables=variables, inbox=inbox)
    except merge_tags.TooLong as error:
        raise EmailTooLong.of(error) from None
