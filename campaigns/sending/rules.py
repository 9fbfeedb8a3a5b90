"""The sending engine's rules, each stated once: pure values and functions, no queries.

Which rows use up a send, how an SMTP transaction can end, which inbox may send now, which
provider serves which lead, when a lead must get no more email, and where a day starts.
The engine's modules, the authoring services, diagnostics and analytics import them from
here instead of writing them again.

The stop rules are one list (`STOP_RULES`) of conditions on a lead; every form the engine
needs is derived from it: the Python predicate the scheduler runs over a claimed batch
(`stop_reason`), the `Q` that filters leads in the database (`stopped_q`), the CASE that
names the rule holding each lead (`stop_reason_case`), and the SQL of the PostgreSQL fast
path (`stopped_sql`, compiled from the `Q`). tests/campaigns/sending/test_rules.py checks,
rule by rule and over generated leads, that they never disagree.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import reduce
from operator import or_
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.db import connection as db_connection
from django.db.models import Case, CharField, Exists, OuterRef, Q, Value, When

from blocklist.services import blocklist_holds
from campaigns.models import Campaign, Send
from inboxes import pace
from inboxes.models import Inbox
from inboxes.pace import gap_passed
from leads.models import Lead

SkipReason = Send.SkipReason

# Rows that used up a send: they count against the daily limit and the inbox cap.
COUNTED = (
    Send.Status.CLAIMED,
    Send.Status.SENT,
    Send.Status.BOUNCED,
    Send.Status.FAILED,
    Send.Status.UNKNOWN,
)
# Rows whose email is on its way: claimed, waiting for a retry, or of unknown outcome. A lead
# with one is not done, whatever its own columns say.
IN_FLIGHT = (Send.Status.CLAIMED, Send.Status.SCHEDULED, Send.Status.UNKNOWN)


# --- How an SMTP transaction ends --------------------------------------------------------------


class Outcome(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"  # refused for now (4xx, no connection): tried again later
    BOUNCED = "bounced"  # the recipient's server refused the address
    FAILED = "failed"
    UNKNOWN = "unknown"  # the connection broke after DATA: reconciled, never resent blindly


@dataclass(frozen=True)
class Delivery:
    """How one SMTP transaction ended. `connection_lost`: the session is no longer usable."""

    outcome: Outcome
    code: int | None = None
    response: str = ""
    connection_lost: bool = False


# --- Inboxes ---------------------------------------------------------------------------------


class InboxState(StrEnum):
    """Whether an attached inbox may send a campaign email now, and if not, why."""

    READY = "ready"
    WAITING_FOR_GAP = "waiting_for_gap"
    AT_DAILY_CAP = "at_daily_cap"
    NOT_CONNECTED = "not_connected"
    INACTIVE = "inactive"


def inbox_usable(inbox: Inbox) -> bool:
    """Active and connected: it may send at all (today's cap and its gap aside)."""
    return inbox.is_active and inbox.connection_status == Inbox.ConnectionStatus.CONNECTED


def cap_left(inbox: Inbox, used_today: int) -> int:
    """How many more campaign emails the inbox may send today (its emails of the UTC day,
    across campaigns, are `used_today`): the inbox's pace rule (inboxes/pace.py), which
    warmup shares."""
    return pace.campaign_room(inbox, used_today)


def inbox_state(
    inbox: Inbox, *, used_today: int, next_send_at: datetime | None, now: datetime
) -> InboxState:
    """Whether an inbox may send a campaign email now (READY), else the first reason not.

    The scheduler's pool asks the same three questions (in the order cheapest to answer
    under its locks); diagnostics asks this.
    """
    if not inbox.is_active:
        return InboxState.INACTIVE
    if not inbox_usable(inbox):
        return InboxState.NOT_CONNECTED
    if cap_left(inbox, used_today) <= 0:
        return InboxState.AT_DAILY_CAP
    if not gap_passed(next_send_at, now):
        return InboxState.WAITING_FOR_GAP
    return InboxState.READY


# esp_matching: which inbox provider serves which lead providers.
SERVED_BY: dict[str, tuple[str, ...]] = {
    Inbox.Provider.GOOGLE: (Lead.Provider.GOOGLE,),
    Inbox.Provider.MICROSOFT: (Lead.Provider.MICROSOFT,),
    Inbox.Provider.OTHER: (Lead.Provider.YAHOO, Lead.Provider.ZOHO, Lead.Provider.OTHER),
}


def inbox_provider_for(lead_provider: str | None) -> str | None:
    """The inbox provider that matches a lead's ESP (esp_matching); None while unknown."""
    for inbox_provider, lead_providers in SERVED_BY.items():
        if lead_provider in lead_providers:
            return inbox_provider
    return None


def lead_providers_served(inbox_providers: Iterable[str]) -> list[str]:
    return [lead for inbox in inbox_providers for lead in SERVED_BY.get(inbox, ())]


# --- Stop rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the stop rules read beyond the lead's own row, gathered once for a batch of leads:
    the addresses (lower-cased) the workspace's blocklist holds, by their own entry or their
    domain's, and the domains where a lead of the campaign replied (`REPLIED`)."""

    blocked: frozenset[str] = frozenset()
    replied_domains: frozenset[str] = frozenset()


class Condition(Protocol):
    """A condition on a lead, in the two forms everything else is derived from."""

    def holds(self, lead: Lead, facts: Facts) -> bool: ...

    def q(self) -> Q: ...


@dataclass(frozen=True)
class IsTrue:
    field: str

    def holds(self, lead: Lead, facts: Facts) -> bool:
        return getattr(lead, self.field) is True

    def q(self) -> Q:
        return Q(**{self.field: True})


@dataclass(frozen=True)
class IsSet:
    field: str

    def holds(self, lead: Lead, facts: Facts) -> bool:
        return getattr(lead, self.field) is not None

    def q(self) -> Q:
        return Q(**{f"{self.field}__isnull": False})


@dataclass(frozen=True)
class Equals:
    field: str
    value: str

    def holds(self, lead: Lead, facts: Facts) -> bool:
        return bool(getattr(lead, self.field) == self.value)

    def q(self) -> Q:
        return Q(**{self.field: self.value})


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]

    def holds(self, lead: Lead, facts: Facts) -> bool:
        return any(condition.holds(lead, facts) for condition in self.conditions)

    def q(self) -> Q:
        return reduce(or_, (condition.q() for condition in self.conditions))


class OnBlocklist:
    """The workspace's blocklist holds the lead's address or its domain (blocklist's rule)."""

    def holds(self, lead: Lead, facts: Facts) -> bool:
        return lead.email_key in facts.blocked

    def q(self) -> Q:
        return Q(
            blocklist_holds(
                workspace=OuterRef("workspace_id"),
                address=OuterRef("email_key"),
                domain=OuterRef("domain"),
            )
        )


# A lead replied: the unified inbox records when (`replied_at`, with the status `replied`);
# either one is enough, so a lead marked replied without a time is never emailed again.
REPLIED: Condition = AnyOf((IsSet("replied_at"), Equals("status", Lead.Status.REPLIED)))


class ColleagueReplied:
    """Someone at the lead's domain (a lead of the same campaign, the lead included) replied."""

    def holds(self, lead: Lead, facts: Facts) -> bool:
        return lead.domain in facts.replied_domains

    def q(self) -> Q:
        colleagues = Lead.objects.filter(
            campaign_id=OuterRef("campaign_id"), domain=OuterRef("domain")
        ).filter(REPLIED.q())
        return Q(Exists(colleagues))


@dataclass(frozen=True)
class StopRule:
    """A lead for whom `condition` holds gets no more email from a campaign whose `option`
    is on (None: always), and the step it was due is skipped with `reason`."""

    reason: SkipReason
    condition: Condition
    option: str | None = None


# In the order a skip names them: the first rule that holds is the reason.
STOP_RULES = (
    StopRule(SkipReason.UNSUBSCRIBED, IsTrue("is_unsubscribed")),
    StopRule(SkipReason.BOUNCED, IsTrue("is_bounced")),
    StopRule(SkipReason.BLOCKLISTED, AnyOf((IsTrue("is_blocklisted"), OnBlocklist()))),
    StopRule(SkipReason.LEFT_COMPANY, IsSet("left_company_at")),
    StopRule(SkipReason.REPLIED, REPLIED, option="stop_on_reply"),
    StopRule(SkipReason.COMPANY_REPLIED, ColleagueReplied(), option="stop_on_company_reply"),
)


def rules_of(campaign: Campaign) -> tuple[StopRule, ...]:
    """The stop rules that apply to the campaign's leads, with its options as they are."""
    return tuple(
        rule for rule in STOP_RULES if rule.option is None or getattr(campaign, rule.option)
    )


def needs_colleagues(campaign: Campaign) -> bool:
    """Whether the campaign's rules read `Facts.replied_domains` (else it need not be read)."""
    return any(isinstance(rule.condition, ColleagueReplied) for rule in rules_of(campaign))


def stop_reason(campaign: Campaign, lead: Lead, facts: Facts) -> SkipReason | None:
    """The first rule that holds the lead, or None: it may get its next email."""
    for rule in rules_of(campaign):
        if rule.condition.holds(lead, facts):
            return rule.reason
    return None


def stopped_q(campaign: Campaign) -> Q:
    """Leads of `campaign` that a stop rule holds, as a filter (`Lead.objects.filter(…)`)."""
    return reduce(or_, (rule.condition.q() for rule in rules_of(campaign)))


def stop_reason_case(campaign: Campaign, *, prefix: str = "") -> list[When]:
    """One `When` per applying rule, in order, naming it (`prefix` + reason): the first
    arms of a CASE over leads."""
    return [
        When(rule.condition.q(), then=Value(f"{prefix}{rule.reason}", output_field=CharField()))
        for rule in rules_of(campaign)
    ]


def stop_reason_annotation(campaign: Campaign) -> Case:
    """The reason a stop rule holds each lead, or NULL, as an annotation."""
    return Case(*stop_reason_case(campaign), default=None, output_field=CharField())


_compiled: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[Any, ...]]] = {}


def stopped_sql(campaign: Campaign) -> tuple[str, tuple[Any, ...]]:
    """`stopped_q` as SQL for a statement on the leads table (unaliased), with its
    parameters: compiled by Django once per database and set of rules, so the hot path
    pays no expression building."""
    rules = rules_of(campaign)
    key = (db_connection.vendor, tuple(rule.reason for rule in rules))
    if key not in _compiled:
        query = Lead.objects.filter(stopped_q(campaign)).query
        sql, params = query.get_compiler(connection=db_connection).compile(query.where)
        _compiled[key] = (sql, tuple(params))
    return _compiled[key]


# --- Days ------------------------------------------------------------------------------------


def utc_day_start(now: datetime) -> datetime:
    """Midnight UTC today: inbox caps count per UTC day."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def utc_day_end(now: datetime) -> datetime:
    """Midnight UTC tonight: when inbox caps reset."""
    return utc_day_start(now) + timedelta(days=1)


def local_date(zone: str, now: datetime) -> date:
    """Today's date in a campaign's timezone."""
    return now.astimezone(ZoneInfo(zone)).date()


def local_midnight(zone: str, day: date) -> datetime:
    """The UTC instant a local date starts in `zone` (a campaign's day, for its daily limit,
    its analytics and its diagnostics)."""
    tz = ZoneInfo(zone)
    return datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)


def local_day_start(zone: str, now: datetime) -> datetime:
    """Midnight today in `zone`, as a UTC instant."""
    return local_midnight(zone, local_date(zone, now))


def local_day_end(zone: str, now: datetime) -> datetime:
    """Midnight tonight in `zone` (when today's daily limit resets), as a UTC instant."""
    return local_midnight(zone, local_date(zone, now) + timedelta(days=1))
