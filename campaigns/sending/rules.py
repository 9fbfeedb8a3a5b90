"""The sending engine's rules, stated once: pure values and functions, no queries.

Which rows use up a send, which inbox provider serves which lead, how an SMTP transaction
can end, when a lead must get no more email, and where a day starts. Every other module
of the engine, and diagnostics and analytics, import them from here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.db.models import Q

from campaigns.models import Campaign, Send
from inboxes.models import Inbox
from leads.models import Lead

# Rows that used up a send: they count against the daily limit and the inbox cap.
COUNTED = (
    Send.Status.CLAIMED,
    Send.Status.SENT,
    Send.Status.BOUNCED,
    Send.Status.FAILED,
    Send.Status.UNKNOWN,
)

# --- How an SMTP transaction ends --------------------------------------------------------------

SENT = "sent"
DEFERRED = "deferred"
BOUNCED = "bounced"
FAILED = "failed"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Delivery:
    """How one SMTP transaction ended. `connection_lost`: the session is no longer usable."""

    outcome: str
    code: int | None = None
    response: str = ""
    connection_lost: bool = False


# --- Inboxes ---------------------------------------------------------------------------------

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


def lead_stop_reason(
    campaign: Campaign, lead: Lead, blocked: set[str], replied_domains: set[str]
) -> str:
    if lead.is_unsubscribed:
        return "unsubscribed"
    if lead.is_bounced:
        return "bounced"
    if lead.is_blocklisted or lead.email.lower() in blocked:
        return "blocklisted"
    if campaign.stop_on_reply and (lead.status == Lead.Status.REPLIED or lead.replied_at):
        return "replied"
    if campaign.stop_on_company_reply and lead.domain in replied_domains:
        return "company_replied"
    return ""


# Leads that must get nothing more, whatever was planned for them: these flags, and a reply
# when the campaign stops on replies.
STOP_FLAGS = ("is_unsubscribed", "is_bounced", "is_blocklisted")


def stopped_q(campaign: Campaign) -> Q:
    stopped = Q()
    for flag in STOP_FLAGS:
        stopped |= Q(**{flag: True})
    if campaign.stop_on_reply:
        stopped |= Q(replied_at__isnull=False)
    return stopped


def stopped_sql(campaign: Campaign) -> str:
    conditions = list(STOP_FLAGS)
    if campaign.stop_on_reply:
        conditions.append("replied_at IS NOT NULL")
    return " OR ".join(conditions)


# --- Days ------------------------------------------------------------------------------------


def utc_day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def local_day_start(campaign: Campaign, now: datetime) -> datetime:
    """Midnight today in the campaign's timezone, as a UTC instant."""
    zone = ZoneInfo(campaign.schedule.timezone)
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date(), datetime.min.time(), tzinfo=zone)
    return midnight.astimezone(UTC)
