"""Campaign analytics: the spec's shape, zero-filled days in the campaign's timezone, and
a fixed number of queries however many campaigns."""

from datetime import UTC, datetime

import pytest
import time_machine

from campaigns.models import Campaign, Schedule, Variant
from campaigns.reporting.analytics import campaign_stats, rate
from tests.campaigns.factories import CampaignFactory, SequenceFactory, VariantFactory
from tests.leads.factories import LeadFactory


def loaded(*campaigns: Campaign) -> list[Campaign]:
    return list(
        Campaign.objects.select_related("schedule").filter(pk__in=[c.pk for c in campaigns])
    )


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(0, 0, 0.0), (5, 0, 0.0), (1, 3, 33.33), (2, 3, 66.67), (3, 3, 100.0), (0, 7, 0.0)],
)
def test_rates_are_percentages_that_never_divide_by_zero(part, whole, expected):
    assert rate(part, whole) == expected
    assert isinstance(rate(part, whole), float)


def test_counts_leads_and_steps_per_campaign(alice):
    busy = CampaignFactory(workspace=alice.workspace)
    SequenceFactory(campaign=busy)
    LeadFactory.create_batch(3, campaign=busy)
    quiet = CampaignFactory(workspace=alice.workspace)

    for breakdown in (False, True):
        stats = campaign_stats(loaded(busy, quiet), breakdown=breakdown)
        assert (stats[busy.pk].leads_count, stats[busy.pk].sequence_steps) == (3, 2)
        assert (stats[quiet.pk].leads_count, stats[quiet.pk].sequence_steps) == (0, 1)


def test_nothing_sent_yet_means_zeros_everywhere(alice):
    campaign = CampaignFactory(workspace=alice.workspace, progress=40)
    stats = campaign_stats(loaded(campaign), breakdown=True)[campaign.pk]
    assert stats.progress == 40
    assert (stats.sent, stats.contacted, stats.replies, stats.bounced) == (0, 0, 0, 0)
    assert (stats.reply_rate, stats.positive_reply_rate, stats.bounce_rate) == (0.0, 0.0, 0.0)
    assert all((row.sent, row.replies) == (0, 0) for row in stats.daily)


def test_the_breakdown_lists_steps_and_variants_in_order(alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    second = SequenceFactory(campaign=campaign)
    b = VariantFactory(sequence=second, enabled=False)
    stats = campaign_stats(loaded(campaign), breakdown=True)[campaign.pk]

    assert [s.step for s in stats.sequences] == [1, 2]
    assert stats.sequences[1].id == second.pk
    assert [(v.id, v.enabled) for v in stats.sequences[1].variants] == [
        (Variant.objects.get(sequence=second, letter="A").pk, True),
        (b.pk, False),
    ]


def test_without_the_breakdown_there_are_no_daily_rows_or_sequences(alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    stats = campaign_stats(loaded(campaign), breakdown=False)[campaign.pk]
    assert (stats.daily, stats.sequences) == ([], [])


def test_daily_has_30_rows_ending_today_in_the_campaigns_timezone(alice):
    tokyo = CampaignFactory(workspace=alice.workspace)
    Schedule.objects.filter(campaign=tokyo).update(timezone="Asia/Tokyo")
    honolulu = CampaignFactory(workspace=alice.workspace)
    Schedule.objects.filter(campaign=honolulu).update(timezone="Pacific/Honolulu")

    # 20:00 UTC on 1 March: already 2 March in Tokyo, still 1 March in Honolulu.
    with time_machine.travel(datetime(2026, 3, 1, 20, tzinfo=UTC), tick=False):
        stats = campaign_stats(loaded(tokyo, honolulu), breakdown=True)

    for campaign, first, last in [
        (tokyo, "2026-02-01", "2026-03-02"),
        (honolulu, "2026-01-31", "2026-03-01"),
    ]:
        days = [row.date.isoformat() for row in stats[campaign.pk].daily]
        assert len(days) == 30
        assert len(set(days)) == 30
        assert days == sorted(days)
        assert (days[0], days[-1]) == (first, last)


def test_a_fixed_number_of_queries_however_many_campaigns(alice, django_assert_num_queries):
    few = [CampaignFactory(workspace=alice.workspace)]
    many = [CampaignFactory(workspace=alice.workspace) for _ in range(6)]
    zones = ("Asia/Tokyo", "Pacific/Honolulu", "Europe/Paris")
    for n, campaign in enumerate(many):
        VariantFactory(sequence__campaign=campaign)
        LeadFactory(campaign=campaign)
        # Daily rows are dated per timezone, still in one query.
        Schedule.objects.filter(campaign=campaign).update(timezone=zones[n % len(zones)])
    few, many = loaded(*few), loaded(*many)

    # Leads, steps and activity; with the breakdown, sequences, variants, variant and daily
    # activity instead of steps.
    with django_assert_num_queries(3):
        campaign_stats(few, breakdown=False)
    with django_assert_num_queries(3):
        campaign_stats(many, breakdown=False)
    with django_assert_num_queries(6):
        campaign_stats(few, breakdown=True)
    with django_assert_num_queries(6):
        campaign_stats(many, breakdown=True)


def test_no_campaigns_no_queries(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        assert campaign_stats([], breakdown=True) == {}
