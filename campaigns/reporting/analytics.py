"""Campaign analytics: the headline numbers, 30 daily rows and the per-variant breakdown.

`campaign_stats` takes a list of campaigns (a page of the index, or one) and answers in
a fixed number of queries, however many campaigns, leads and sends: leads and steps are
counted with one grouped query each, the breakdown reads sequences and variants with one
query each, and what the sending engine did is read by three grouped queries (below).

What each number means (the outbox is `campaigns.models.Send`, one row per lead and step):

- `sent`: emails that left, i.e. rows `sent` or `bounced`. A bounce is an email we sent
  that the recipient's server refused; like Instantly, it counts among the sent, so
  `bounce_rate` = bounced / sent is the share of sent emails that bounced, the very ratio
  bounce protection pauses a campaign on. Rows still in flight (`claimed`, `scheduled`,
  `unknown` until reconciled), `failed` and `skipped` rows were not sent.
- `contacted`: distinct leads with at least one email accepted (a `sent` row): the leads
  whose status became `contacted`. A lead whose only email bounced never heard from us.
- `bounced`: bounced emails (rows), so bounced <= sent. A lead stops after its first
  bounce, so this is also the number of bounced leads the campaign caused.
- `replies`, `positive_replies`: distinct leads of the campaign that replied (their
  `replied_at` is set), and those of them marked positive.
- Per variant: `sent` as above; `replies` are the emails of that variant a reply was
  attributed to (`Send.replied_at`: the last email the lead got before replying), and
  `positive_replies` those whose lead is positive.
- `daily`: emails sent per local date of the campaign's timezone (when they left:
  `sent_at`, or for a bounce when the server refused it), and replies per local date of
  `Lead.replied_at`. Over a campaign younger than 30 days the daily `sent` adds up to
  `sent`.
- `progress` is the campaign's cached percentage, kept by the sending engine
  (`sending.services.campaign_progress_refresh`): leads that will get no more email, over
  all leads.

Rates are percentages rounded to two decimals, and 0.0 whenever the base is zero:
reply and positive-reply rates are over the leads contacted (over the emails sent, for
a variant), the bounce rate over the emails sent.
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, DateField, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.models import Campaign, Send, Variant
from campaigns.models import Sequence as Step
from campaigns.sending import rules
from leads.models import Lead

DAILY_DAYS = 30
# Emails that left: accepted by the recipient's server, or refused by it (a bounce).
LEFT = (Send.Status.SENT, Send.Status.BOUNCED)


@dataclass(frozen=True)
class Activity:
    """What the sending engine counted for a campaign, a variant, or one day."""

    sent: int = 0
    contacted: int = 0
    replies: int = 0
    positive_replies: int = 0
    bounced: int = 0


@dataclass(frozen=True)
class DailyStats:
    date: date
    sent: int
    replies: int


@dataclass(frozen=True)
class VariantStats:
    id: uuid.UUID
    enabled: bool
    sent: int
    replies: int
    reply_rate: float
    positive_replies: int
    positive_reply_rate: float


@dataclass(frozen=True)
class SequenceStats:
    id: uuid.UUID
    step: int
    variants: list[VariantStats]


@dataclass(frozen=True)
class CampaignStats:
    progress: int
    sequence_steps: int
    leads_count: int
    sent: int
    contacted: int
    replies: int
    reply_rate: float
    positive_replies: int
    positive_reply_rate: float
    bounced: int
    bounce_rate: float
    # Only with the breakdown (show, analytics); the index leaves them out.
    daily: list[DailyStats] = field(default_factory=list)
    sequences: list[SequenceStats] = field(default_factory=list)


def rate(part: int, whole: int) -> float:
    """`part` as a percentage of `whole`, two decimals; 0.0 when there is nothing to divide."""
    return round(part * 100 / whole, 2) if whole else 0.0


def campaign_stats(
    campaigns: Sequence[Campaign], *, breakdown: bool, now: datetime | None = None
) -> dict[uuid.UUID, CampaignStats]:
    """Stats per campaign id, in a fixed number of queries.

    With `breakdown`, each also has its 30 `daily` rows (ending today in the campaign's
    timezone, oldest first) and its `sequences` with their variants. Campaigns should
    come with `select_related("schedule")`: the timezone is read from it.
    """
    ids = [campaign.pk for campaign in campaigns]
    if not ids:
        return {}
    now = now or timezone.now()
    leads = _count_by_campaign(Lead.objects.filter(campaign_id__in=ids))
    activity = _campaign_activity(ids)

    steps: dict[uuid.UUID, list[SequenceStats]] = {}
    daily: dict[uuid.UUID, list[DailyStats]] = {}
    if breakdown:
        steps = _sequence_stats(ids)
        step_counts = {campaign_id: len(rows) for campaign_id, rows in steps.items()}
        daily = _daily_stats(campaigns, now)
    else:
        step_counts = _count_by_campaign(Step.objects.filter(campaign_id__in=ids))

    result = {}
    for campaign in campaigns:
        counts = activity.get(campaign.pk, Activity())
        result[campaign.pk] = CampaignStats(
            progress=campaign.progress,
            sequence_steps=step_counts.get(campaign.pk, 0),
            leads_count=leads.get(campaign.pk, 0),
            sent=counts.sent,
            contacted=counts.contacted,
            replies=counts.replies,
            reply_rate=rate(counts.replies, counts.contacted),
            positive_replies=counts.positive_replies,
            positive_reply_rate=rate(counts.positive_replies, counts.contacted),
            bounced=counts.bounced,
            bounce_rate=rate(counts.bounced, counts.sent),
            daily=daily.get(campaign.pk, []),
            sequences=steps.get(campaign.pk, []),
        )
    return result


def _count_by_campaign(queryset: QuerySet[Any]) -> dict[uuid.UUID, int]:
    rows = queryset.values("campaign_id").annotate(n=Count("pk")).order_by()
    return {row["campaign_id"]: row["n"] for row in rows}


def _sequence_stats(campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[SequenceStats]]:
    sequences = list(
        Step.objects.filter(campaign_id__in=campaign_ids).order_by("campaign_id", "step")
    )
    variants: dict[uuid.UUID, list[Variant]] = defaultdict(list)
    for variant in Variant.objects.filter(sequence__campaign_id__in=campaign_ids).order_by(
        "letter"
    ):
        variants[variant.sequence_id].append(variant)
    activity = _variant_activity([v.pk for rows in variants.values() for v in rows])

    result: dict[uuid.UUID, list[SequenceStats]] = defaultdict(list)
    for sequence in sequences:
        rows = []
        for variant in variants[sequence.pk]:
            counts = activity.get(variant.pk, Activity())
            rows.append(
                VariantStats(
                    id=variant.pk,
                    enabled=variant.enabled,
                    sent=counts.sent,
                    replies=counts.replies,
                    reply_rate=rate(counts.replies, counts.sent),
                    positive_replies=counts.positive_replies,
                    positive_reply_rate=rate(counts.positive_replies, counts.sent),
                )
            )
        result[sequence.campaign_id].append(
            SequenceStats(id=sequence.pk, step=sequence.step, variants=rows)
        )
    return result


def _daily_stats(campaigns: Sequence[Campaign], now: datetime) -> dict[uuid.UUID, list[DailyStats]]:
    days = {
        campaign.pk: [
            rules.local_date(campaign.schedule.timezone, now) - timedelta(days=back)
            for back in range(DAILY_DAYS - 1, -1, -1)
        ]
        for campaign in campaigns
    }
    activity = _daily_activity(days, {c.pk: c.schedule.timezone for c in campaigns})
    result = {}
    for campaign_id, dates in days.items():
        counted = activity.get(campaign_id, {})
        result[campaign_id] = [
            DailyStats(
                date=day,
                sent=counted.get(day, Activity()).sent,
                replies=counted.get(day, Activity()).replies,
            )
            for day in dates
        ]
    return result


# --- What the sending engine counts ---------------------------------------------------------
# Each reader is ONE statement: grouped SELECTs over sends and leads joined by UNION ALL, so
# the database does the counting and the page of campaigns costs the same number of queries
# whatever its size. Replies come from the leads' own fields (what the unified inbox sets),
# never from conversations.


def _campaign_activity(campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, Activity]:
    """Per campaign: emails sent, distinct leads contacted, replied, positive, bounced."""
    sends = (
        Send.objects.filter(campaign_id__in=campaign_ids, status__in=LEFT)
        .values("campaign_id")
        .annotate(
            sent=Count("pk"),
            contacted=Count("lead_id", distinct=True, filter=Q(status=Send.Status.SENT)),
            bounced=Count("pk", filter=Q(status=Send.Status.BOUNCED)),
            replies=_zero(),
            positive_replies=_zero(),
        )
        .order_by()
    )
    replies = (
        Lead.objects.filter(campaign_id__in=campaign_ids, replied_at__isnull=False)
        .values("campaign_id")
        .annotate(
            sent=_zero(),
            contacted=_zero(),
            bounced=_zero(),
            replies=Count("pk"),
            positive_replies=Count("pk", filter=Q(is_positive=True)),
        )
        .order_by()
    )
    totals: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    for row in sends.union(replies, all=True):
        totals[row["campaign_id"]].update(
            sent=row["sent"],
            contacted=row["contacted"],
            replies=row["replies"],
            positive_replies=row["positive_replies"],
            bounced=row["bounced"],
        )
    return {campaign_id: Activity(**counts) for campaign_id, counts in totals.items()}


def _variant_activity(variant_ids: list[uuid.UUID]) -> dict[uuid.UUID, Activity]:
    """Per variant: emails sent, replies and positive replies to them."""
    if not variant_ids:
        return {}
    replied = Q(replied_at__isnull=False)
    rows = (
        Send.objects.filter(variant_id__in=variant_ids, status__in=LEFT)
        .values("variant_id")
        .annotate(
            sent=Count("pk"),
            replies=Count("pk", filter=replied),
            positive_replies=Count("pk", filter=replied & Q(lead__is_positive=True)),
        )
        .order_by()
    )
    return {
        row["variant_id"]: Activity(
            sent=row["sent"], replies=row["replies"], positive_replies=row["positive_replies"]
        )
        for row in rows
    }


def _daily_activity(
    days: Mapping[uuid.UUID, list[date]], zones: Mapping[uuid.UUID, str]
) -> dict[uuid.UUID, dict[date, Activity]]:
    """Per campaign and local date (the campaign's timezone): sent and replies that day.

    Campaigns are grouped by timezone: each zone's campaigns count the instants inside
    their 30 local days (UTC bounds, so the indexes on `sent_at`, bounced `attempted_at`
    and `replied_at` are range scans), dated by the database in that zone (`AT TIME ZONE`
    on PostgreSQL, Django's zone-aware date function on SQLite). An email's day is when
    it left: `sent_at`, or for a bounce (which has none) when the server refused it.
    """
    by_zone: dict[str, list[uuid.UUID]] = defaultdict(list)
    for campaign_id in days:
        by_zone[zones[campaign_id]].append(campaign_id)
    if not by_zone:
        return {}

    def dated(queryset: QuerySet[Any], instant: str, **counts: Any) -> QuerySet[Any]:
        inside = Q()
        local_day = []
        for zone, ids in by_zone.items():
            dates = days[ids[0]]
            start = rules.local_midnight(zone, dates[0])
            end = rules.local_midnight(zone, dates[-1] + timedelta(days=1))
            inside |= Q(campaign_id__in=ids, **{f"{instant}__gte": start, f"{instant}__lt": end})
            local_day.append(
                When(campaign_id__in=ids, then=TruncDate(instant, tzinfo=ZoneInfo(zone)))
            )
        return (
            queryset.filter(inside)
            .annotate(day=Case(*local_day, output_field=DateField()))
            .values("campaign_id", "day")
            .annotate(**counts)
            .order_by()
        )

    sent = dated(
        Send.objects.filter(status=Send.Status.SENT), "sent_at", sent=Count("pk"), replies=_zero()
    )
    bounced = dated(
        Send.objects.filter(status=Send.Status.BOUNCED),
        "attempted_at",
        sent=Count("pk"),
        replies=_zero(),
    )
    replies = dated(Lead.objects.all(), "replied_at", sent=_zero(), replies=Count("pk"))
    counted: dict[uuid.UUID, dict[date, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for row in sent.union(bounced, replies, all=True):
        counted[row["campaign_id"]][row["day"]].update(sent=row["sent"], replies=row["replies"])
    return {
        campaign_id: {day: Activity(**counts) for day, counts in by_day.items()}
        for campaign_id, by_day in counted.items()
    }


def _zero() -> Value:
    """A zero column, so the branches of a UNION line up."""
    return Value(0, output_field=IntegerField())
