"""Campaign analytics: the headline numbers, 30 daily rows and the per-variant breakdown.

`campaign_stats` takes a list of campaigns (a page of the index, or one) and answers in
a fixed number of queries, however many campaigns: leads and steps are counted with
one grouped query each, the breakdown reads sequences and variants with one query each.

What was sent, replied to and bounced comes from the sending engine's own table. Until
it exists, the three `_*_activity` readers below return nothing and every such number
is zero; the sending engine fills them in, each as one grouped query, and nothing else
here changes.

Rates are percentages rounded to two decimals, and 0.0 whenever the base is zero:
reply and positive-reply rates are over the leads contacted (over the emails sent, for
a variant), the bounce rate over the emails sent.
"""

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Variant
from campaigns.models import Sequence as Step
from leads.models import Lead

DAILY_DAYS = 30


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


def local_today(campaign: Campaign, now: datetime) -> date:
    return now.astimezone(ZoneInfo(campaign.schedule.timezone)).date()


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
            local_today(campaign, now) - timedelta(days=back)
            for back in range(DAILY_DAYS - 1, -1, -1)
        ]
        for campaign in campaigns
    }
    activity = _daily_activity(days)
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
# No send table exists yet, so nothing has been sent, replied to or bounced. The sending
# engine replaces each body with one grouped query over its sends (and the leads' reply
# and bounce fields); the shapes stay.


def _campaign_activity(campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, Activity]:
    """Per campaign: emails sent, distinct leads contacted, replied, positive, bounced."""
    return {}


def _variant_activity(variant_ids: list[uuid.UUID]) -> dict[uuid.UUID, Activity]:
    """Per variant: emails sent, replies and positive replies to them."""
    return {}


def _daily_activity(
    days: Mapping[uuid.UUID, list[date]],
) -> dict[uuid.UUID, dict[date, Activity]]:
    """Per campaign and local date (the campaign's timezone): sent and replies that day."""
    return {}
