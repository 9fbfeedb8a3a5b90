"""Why a campaign is or is not sending right now, with the counts behind the answer.

`campaign_diagnosis` reads what the scheduler's next pass would read
(campaigns/sending/scheduler.py), claims nothing and changes nothing, in a fixed number of
queries however many leads and sends:

1. The attached inboxes (none when prefetched), their pace rows (the gap between sends),
   and today's sends per inbox, in the UTC day, with the scheduler's own counter.
2. The campaign's sends today, in its timezone's day (the scheduler's counter again).
3. The leads, one grouped query: each lead in exactly one state (below), with its ESP.
   It reads every lead of the campaign once (about 0.2 s for 100,000 on PostgreSQL on
   the development machine), which an on-demand diagnosis can afford.
4. The outbox rows in flight: retries due now, unknown outcomes.

Then it lists `reasons` (what keeps the campaign from sending; `sending` is true exactly
when there is none) and `warnings` (what slows it down), in the order a person would
fix them. The scheduler still decides lead by lead (a follow-up waits for its thread's
inbox); the counts say what holds the campaign back as a whole.

A lead's state, the first that applies:

- `stopped`, with a reason: the first stop rule that holds it now (campaigns/sending/rules.py:
  unsubscribed, bounced, blocklisted, replied with `stop_on_reply`, company_replied with
  `stop_on_company_reply`), or the reason recorded on its last, skipped send
  (`inbox_detached`…);
- `due_first_step` / `due_follow_up`: its next email is due (`next_due_at` passed);
- `waiting_on_delay`: its next email is due later (a follow-up's `delay_days`);
- `in_flight`: an email is claimed, scheduled for a retry, or of unknown outcome;
- `failed`: its last email failed for good, so its sequence went no further;
- `finished`: it got every step.
"""

import uuid
from collections import Counter
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import reduce
from operator import or_
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    CharField,
    Count,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Concat
from django.db.models.lookups import Exact

from campaigns.content import merge_tags, rendering
from campaigns.models import Campaign, Send, Variant
from campaigns.sending import outbox, rules
from campaigns.sending.rules import InboxState
from inboxes import pace
from inboxes.models import Inbox
from leads.models import Lead

STOPPED = "stopped:"
LAST = "last:"
PROVIDER_NAMES: dict[str, str] = {
    Inbox.Provider.GOOGLE: "Google",
    Inbox.Provider.MICROSOFT: "Microsoft",
    Inbox.Provider.OTHER: "other providers",
}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class WindowDiagnosis:
    timezone: str
    is_open: bool
    # When the window is closed: its next opening (None when no day is enabled).
    opens_at: datetime | None
    # When it is open: when today's window closes.
    closes_at: datetime | None


@dataclass(frozen=True)
class DailyLimitDiagnosis:
    limit: int
    used_today: int
    remaining: int
    resets_at: datetime


@dataclass(frozen=True)
class InboxDiagnosis:
    id: uuid.UUID
    email: str
    provider: str
    state: InboxState
    used_today: int
    daily_limit: int
    next_send_at: datetime | None


@dataclass(frozen=True)
class InboxesDiagnosis:
    attached: int
    usable_now: int
    waiting_for_gap: int
    at_daily_cap: int
    not_connected: int
    inactive: int
    next_send_at: datetime | None
    caps_reset_at: datetime
    items: list[InboxDiagnosis]


@dataclass(frozen=True)
class StoppedDiagnosis:
    """Stopped leads by skip reason (`Send.SkipReason`'s values); any other is `other`."""

    total: int
    bounced: int
    unsubscribed: int
    blocklisted: int
    replied: int
    company_replied: int
    inbox_detached: int
    other: int


# The skip reasons the answer counts by name.
NAMED_REASONS = tuple(field.name for field in fields(StoppedDiagnosis))[1:-1]


@dataclass(frozen=True)
class LeadsDiagnosis:
    total: int
    due_first_step: int
    due_follow_ups: int
    retries_due: int
    awaiting_esp_detection: int | None
    waiting_on_delay: int
    next_due_at: datetime | None
    in_flight: int
    unknown_outcome: int
    failed: int
    finished: int
    stopped: StoppedDiagnosis
    empty_merge_tags: int


@dataclass(frozen=True)
class Diagnosis:
    checked_at: datetime
    sending: bool
    status: str
    paused_reason: str | None
    reasons: list[Reason]
    warnings: list[Reason]
    window: WindowDiagnosis
    daily_limit: DailyLimitDiagnosis
    inboxes: InboxesDiagnosis
    leads: LeadsDiagnosis


def campaign_diagnosis(*, campaign: Campaign, now: datetime) -> Diagnosis:
    """Why `campaign` is or is not sending at `now`. The campaign needs its schedule."""
    window = _window(campaign, now)
    daily_limit = _daily_limit(campaign, now)
    inboxes = _inboxes(campaign, now)
    empty_tags = _empty_tags(campaign)
    leads, due_by_provider = _leads(campaign, now, empty_tags)

    reasons: list[Reason] = []
    warnings: list[Reason] = []
    _status_reasons(campaign, reasons)
    _window_reasons(window, reasons)
    _limit_reasons(campaign, daily_limit, reasons)
    _inbox_reasons(inboxes, reasons, warnings)
    _lead_reasons(campaign, inboxes, leads, due_by_provider, reasons, warnings)
    if empty_tags.leads:
        warnings.append(Reason("empty_merge_tags", _empty_tags_message(empty_tags)))
    return Diagnosis(
        checked_at=now,
        sending=not reasons,
        status=campaign.status,
        paused_reason=(campaign.paused_reason or None)
        if campaign.status == Campaign.Status.PAUSED
        else None,
        reasons=reasons,
        warnings=warnings,
        window=window,
        daily_limit=daily_limit,
        inboxes=inboxes,
        leads=leads,
    )


# --- Reading ---------------------------------------------------------------------------------


def _window(campaign: Campaign, now: datetime) -> WindowDiagnosis:
    weekly = campaign.schedule.weekly()
    if weekly.is_open(now):
        today = now.astimezone(weekly.zone).date()
        window = weekly.window_on(today)
        assert window is not None
        return WindowDiagnosis(weekly.timezone, True, opens_at=None, closes_at=window[1])
    return WindowDiagnosis(weekly.timezone, False, opens_at=weekly.next_open(now), closes_at=None)


def _daily_limit(campaign: Campaign, now: datetime) -> DailyLimitDiagnosis:
    used = outbox.campaign_sends_today(campaign, now)
    resets_at = rules.local_day_end(campaign.schedule.timezone, now)
    return DailyLimitDiagnosis(
        limit=campaign.daily_limit,
        used_today=used,
        remaining=max(0, campaign.daily_limit - used),
        resets_at=resets_at,
    )


def _inboxes(campaign: Campaign, now: datetime) -> InboxesDiagnosis:
    attached = sorted(campaign.inboxes.all(), key=lambda inbox: inbox.email)
    ids = [inbox.pk for inbox in attached]
    paces = pace.next_send_at(ids)
    used = outbox.inbox_sends_today(ids, now)
    items = []
    for inbox in attached:
        next_send_at = paces.get(inbox.pk)
        state = rules.inbox_state(
            inbox, used_today=used.get(inbox.pk, 0), next_send_at=next_send_at, now=now
        )
        items.append(
            InboxDiagnosis(
                id=inbox.pk,
                email=inbox.email,
                provider=inbox.provider,
                state=state,
                used_today=used.get(inbox.pk, 0),
                daily_limit=inbox.daily_campaign_limit,
                next_send_at=next_send_at if state == InboxState.WAITING_FOR_GAP else None,
            )
        )
    states = Counter(item.state for item in items)
    gaps = [item.next_send_at for item in items if item.next_send_at is not None]
    return InboxesDiagnosis(
        attached=len(items),
        usable_now=states[InboxState.READY],
        waiting_for_gap=states[InboxState.WAITING_FOR_GAP],
        at_daily_cap=states[InboxState.AT_DAILY_CAP],
        not_connected=states[InboxState.NOT_CONNECTED],
        inactive=states[InboxState.INACTIVE],
        next_send_at=min(gaps, default=None),
        caps_reset_at=rules.utc_day_end(now),
        items=items,
    )


def _lead_states(campaign: Campaign, now: datetime) -> QuerySet[Any]:
    """The campaign's leads, each annotated with its `state` (see the module docstring).

    The lead's own columns settle most leads. The others (nothing due: in flight, stopped
    by a rule, failed or finished) are told apart by their last email, read with one
    look-up per lead on the sends' lead index: `last:<status>:<skip reason>`, or `last::`
    without any email. `_state_of` names those.
    """
    last_email = (
        Send.objects.filter(lead=OuterRef("pk"))
        .order_by("-step", "-created_at")
        .annotate(key=Concat("status", Value(":"), "skip_reason", output_field=CharField()))
        .values("key")[:1]
    )
    return Lead.objects.filter(campaign=campaign).annotate(
        state=Case(
            *rules.stop_reason_case(campaign, prefix=STOPPED),
            When(next_due_at__lte=now, next_step=1, then=Value("due_first_step")),
            When(next_due_at__lte=now, then=Value("due_follow_up")),
            When(next_due_at__gt=now, then=Value("waiting_on_delay")),
            default=Concat(
                Value(LAST), Coalesce(Subquery(last_email), Value(":")), output_field=CharField()
            ),
            output_field=CharField(),
        )
    )


def _state_of(key: str) -> str:
    """A lead's state from `_lead_states`, its last email's key named."""
    if not key.startswith(LAST):
        return key
    status, _, reason = key.removeprefix(LAST).partition(":")
    if status in rules.IN_FLIGHT:
        return "in_flight"
    if status == Send.Status.SKIPPED:
        return f"{STOPPED}{reason}"
    if status == Send.Status.FAILED:
        return "failed"
    return "finished"  # its last email was sent (or bounced, which its flag says first)


def _leads(
    campaign: Campaign, now: datetime, empty_tags: "EmptyTags"
) -> tuple[LeadsDiagnosis, Counter[str | None]]:
    """The lead counts, and the leads due for step 1 by their ESP (None: not detected yet)."""
    rows = (
        _lead_states(campaign, now)
        .values("state", "provider")
        .annotate(n=Count("pk"), earliest_due=Min("next_due_at"))
        .order_by()
    )
    states: Counter[str] = Counter()
    due_by_provider: Counter[str | None] = Counter()
    waiting_next: list[datetime] = []
    for row in rows:
        row["state"] = _state_of(row["state"])
        states[row["state"]] += row["n"]
        if row["state"] == "due_first_step":
            due_by_provider[row["provider"]] += row["n"]
        if row["state"] == "waiting_on_delay" and row["earliest_due"] is not None:
            waiting_next.append(row["earliest_due"])
    outbox = Send.objects.filter(campaign=campaign, status__in=rules.IN_FLIGHT).aggregate(
        retries_due=Count("pk", filter=Q(status=Send.Status.SCHEDULED, due_at__lte=now)),
        unknown=Count("pk", filter=Q(status=Send.Status.UNKNOWN)),
    )
    stopped: Counter[str] = Counter()
    for state, n in states.items():
        if state.startswith(STOPPED):
            reason = state.removeprefix(STOPPED)
            stopped[reason if reason in NAMED_REASONS else "other"] += n
    leads = LeadsDiagnosis(
        total=sum(states.values()),
        due_first_step=states["due_first_step"],
        due_follow_ups=states["due_follow_up"],
        retries_due=outbox["retries_due"],
        awaiting_esp_detection=due_by_provider[None] if campaign.esp_matching else None,
        waiting_on_delay=states["waiting_on_delay"],
        next_due_at=min(waiting_next, default=None),
        in_flight=states["in_flight"],
        unknown_outcome=outbox["unknown"],
        failed=states["failed"],
        finished=states["finished"],
        stopped=StoppedDiagnosis(
            total=stopped.total(), other=stopped["other"], **{r: stopped[r] for r in NAMED_REASONS}
        ),
        empty_merge_tags=empty_tags.leads,
    )
    return leads, due_by_provider


# --- Merge tags a lead has no value for --------------------------------------------------------

# The variables a diagnosis counts empty tags for, at most (one query counts them all).
MAX_COUNTED_VARIABLES = 20
# Never empty (`contact` falls back to the address), or not the lead's (the inbox's).
_ALWAYS_FILLED = {"email", "contact", *rendering.SENDER_VARIABLES}


@dataclass(frozen=True)
class EmptyTags:
    leads: int  # leads still to be emailed with at least one empty tag
    by_name: dict[str, int]  # for each variable, the leads without a value for it


def _value_missing(name: str) -> Q:
    """The lead has no value for the variable `name`: no key, null, or ""."""
    value = Coalesce(KeyTextTransform(name, "variables"), Value(""), output_field=CharField())
    # Normal names never hold "__"; the trailing `exact` keeps a name such as `contains`
    # a key rather than a lookup. None there is JSON null (KeyTransformExact).
    return Q(Exact(value, "")) | Q(**{f"variables__{name}__exact": None})


def _empty_for(name: str) -> Q:
    """What renders a fallback-less `{{name}}` empty for a lead (rendering.lead_variables: a
    built-in with a value wins, an empty one leaves the name to the variable)."""
    if name in ("first_name", "last_name"):
        return Q(**{name: ""}) & _value_missing(name)
    if name == "full_name":
        return Q(first_name="", last_name="") & _value_missing(name)
    return _value_missing(name)


def _empty_tags(campaign: Campaign) -> EmptyTags:
    """The leads still to be emailed (a step due or waiting, not marked unsubscribed,
    bounced or blocklisted) that some enabled variant's fallback-less merge tag would leave
    empty: two queries, the variants and one count over the leads."""
    names: dict[str, None] = {}
    for subject, body in Variant.objects.filter(
        sequence__campaign=campaign, enabled=True
    ).values_list("subject", "body_html"):
        for text in (subject or "", body or ""):
            try:
                names.update(dict.fromkeys(merge_tags.variables_without_fallback(text)))
            except merge_tags.MergeTagError:
                continue  # validated on save; an old row must not break the diagnosis
    # A digits-only key reads as an array index in PostgreSQL's JSON operators: left out.
    counted = [n for n in names if n not in _ALWAYS_FILLED and not n.isdigit()]
    counted = counted[:MAX_COUNTED_VARIABLES]
    if not counted:
        return EmptyTags(leads=0, by_name={})
    conditions = {name: _empty_for(name) for name in counted}
    counts = Lead.objects.filter(
        campaign=campaign,
        next_due_at__isnull=False,
        is_unsubscribed=False,
        is_bounced=False,
        is_blocklisted=False,
    ).aggregate(
        any_empty=Count("pk", filter=reduce(or_, conditions.values())),
        **{f"n{i}": Count("pk", filter=q) for i, q in enumerate(conditions.values())},
    )
    by_name = {name: counts[f"n{i}"] for i, name in enumerate(counted) if counts[f"n{i}"]}
    return EmptyTags(leads=counts["any_empty"], by_name=by_name)


# --- Explaining ------------------------------------------------------------------------------


def _n(count: int, noun: str) -> str:
    """A count with its noun: 1 lead, 2 leads, 2 inboxes."""
    plural = f"{noun}es" if noun.endswith("x") else f"{noun}s"
    return f"{count} {noun if count == 1 else plural}"


def _at(instant: datetime, zone: str) -> str:
    """An instant as a person in the campaign's timezone reads it, with UTC beside it."""
    local = instant.astimezone(ZoneInfo(zone))
    utc = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{local:%a %d %b %H:%M} {zone} ({utc})"


def _status_reasons(campaign: Campaign, reasons: list[Reason]) -> None:
    if campaign.status == Campaign.Status.DRAFT:
        reasons.append(Reason("draft", "The campaign is a draft: launch it to start sending."))
    elif campaign.status == Campaign.Status.PAUSED:
        message = campaign.paused_reason or "The campaign is paused: resume it to send again."
        reasons.append(Reason("paused", message))


def _window_reasons(window: WindowDiagnosis, reasons: list[Reason]) -> None:
    if window.is_open:
        return
    if window.opens_at is None:
        reasons.append(Reason("no_sending_days", "No day of the schedule is enabled."))
        return
    opens = _at(window.opens_at, window.timezone)
    reasons.append(Reason("outside_window", f"Outside the sending window; it opens at {opens}."))


def _limit_reasons(
    campaign: Campaign, daily_limit: DailyLimitDiagnosis, reasons: list[Reason]
) -> None:
    if daily_limit.remaining > 0:
        return
    if daily_limit.limit == 0:
        reasons.append(Reason("daily_limit_reached", "The daily limit is 0: raise it to send."))
        return
    resets = _at(daily_limit.resets_at, campaign.schedule.timezone)
    reasons.append(
        Reason(
            "daily_limit_reached",
            f"Daily limit of {daily_limit.limit} reached; it resets at {resets}.",
        )
    )


def _inbox_reasons(
    inboxes: InboxesDiagnosis, reasons: list[Reason], warnings: list[Reason]
) -> None:
    unusable = inboxes.not_connected + inboxes.inactive
    if not inboxes.attached:
        reasons.append(Reason("no_inbox", "No inbox is attached."))
        return
    detail = f"{inboxes.not_connected} not connected, {inboxes.inactive} inactive"
    if unusable == inboxes.attached:
        reasons.append(
            Reason(
                "no_connected_inbox",
                f"No connected inbox: {_n(inboxes.attached, 'inbox')} attached, {detail}.",
            )
        )
        return
    if unusable:
        warnings.append(
            Reason(
                "inboxes_not_sending",
                f"Not sending from {unusable} of {_n(inboxes.attached, 'inbox')}: {detail}.",
            )
        )
    resets = inboxes.caps_reset_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    sending = inboxes.usable_now + inboxes.waiting_for_gap
    if not sending:
        reasons.append(
            Reason(
                "inboxes_at_daily_cap",
                f"Every connected inbox reached its daily cap; caps reset at {resets}.",
            )
        )
    elif inboxes.at_daily_cap:
        warnings.append(
            Reason(
                "inboxes_at_daily_cap",
                f"At their daily cap: {inboxes.at_daily_cap} of "
                f"{_n(inboxes.attached, 'inbox')}; caps reset at {resets}.",
            )
        )


def _lead_reasons(
    campaign: Campaign,
    inboxes: InboxesDiagnosis,
    leads: LeadsDiagnosis,
    due_by_provider: Counter[str | None],
    reasons: list[Reason],
    warnings: list[Reason],
) -> None:
    if not leads.total:
        reasons.append(Reason("no_leads", "The campaign has no leads."))
        return
    if leads.unknown_outcome:
        warnings.append(
            Reason(
                "unknown_outcomes",
                f"Outcome unknown for {_n(leads.unknown_outcome, 'email')} (the connection "
                "broke after sending): they are looked up in the inbox's Sent folder, never "
                "sent again blindly.",
            )
        )
    sendable_first = leads.due_first_step
    unmatched: list[Reason] = []
    if campaign.esp_matching:
        sendable_first, unmatched = _esp_matching(inboxes, leads, due_by_provider)
    if leads.retries_due + leads.due_follow_ups + sendable_first:
        warnings.extend(unmatched)
        return
    if leads.due_first_step:
        reasons.extend(unmatched)  # due, but ESP matching finds no inbox for any of them
    elif leads.waiting_on_delay:
        assert leads.next_due_at is not None
        next_due = _at(leads.next_due_at, campaign.schedule.timezone)
        reasons.append(
            Reason(
                "nothing_due",
                f"No lead is due now; {_n(leads.waiting_on_delay, 'lead')} on a follow-up "
                f"delay, the next due at {next_due}.",
            )
        )
    elif leads.in_flight:
        reasons.append(
            Reason(
                "nothing_due",
                f"No lead is due now; {_n(leads.in_flight, 'email')} in flight (being sent, "
                "waiting for a retry, or being reconciled).",
            )
        )
    else:
        reasons.append(
            Reason(
                "all_leads_done",
                f"Every lead is done: {leads.finished} finished the sequence, "
                f"{leads.stopped.total} stopped, {leads.failed} failed.",
            )
        )


def _empty_tags_message(empty_tags: EmptyTags) -> str:
    named = ", ".join(
        f"{{{{{name}}}}} ({_n(n, 'lead')})"
        for name, n in sorted(empty_tags.by_name.items(), key=lambda item: -item[1])[:5]
    )
    return (
        f"{_n(empty_tags.leads, 'lead')} still to be emailed "
        f"{'has' if empty_tags.leads == 1 else 'have'} no value for a merge tag without "
        f"a fallback, which renders empty for them: {named}. Add the variable to those leads, "
        "or a fallback to the tag ({{name|fallback}})."
    )


def _esp_matching(
    inboxes: InboxesDiagnosis, leads: LeadsDiagnosis, due_by_provider: Counter[str | None]
) -> tuple[int, list[Reason]]:
    """With ESP matching: how many leads due for step 1 an inbox could take, and why the
    others wait (their ESP is not detected yet, or no inbox of it can send today)."""
    providers = {
        item.provider
        for item in inboxes.items
        if item.state in (InboxState.READY, InboxState.WAITING_FOR_GAP)
    }
    sendable = 0
    unmatched: Counter[str] = Counter()
    for provider, n in due_by_provider.items():
        wanted = rules.inbox_provider_for(provider)
        if wanted is None:
            continue
        if wanted in providers:
            sendable += n
        else:
            unmatched[wanted] += n
    why = []
    if leads.awaiting_esp_detection:
        why.append(
            Reason(
                "awaiting_esp_detection",
                "ESP matching is on and the email provider of "
                f"{_n(leads.awaiting_esp_detection, 'lead')} due for step 1 is not detected yet.",
            )
        )
    for provider, n in sorted(unmatched.items()):
        why.append(
            Reason(
                "no_inbox_for_esp",
                f"ESP matching is on and no inbox on {PROVIDER_NAMES[provider]} can send today "
                f"to the {_n(n, 'lead')} due for step 1 there.",
            )
        )
    return sendable, why
