"""A claim round's cost follows the work due, not the campaign's history: what picking a
variant reads (queries, and PostgreSQL's plan). Figures: bench/scheduler_scale.py."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.content.message import make_message_id
from campaigns.models import Campaign, Send, Variant
from campaigns.sending.scheduler import StepPlan
from tests.campaigns.factories import CampaignFactory, SequenceFactory, VariantFactory
from tests.leads.factories import LeadFactory


def sent(campaign: Campaign, variant: Variant, count: int) -> None:
    """`count` leads that got step 1 in this variant."""
    rows = []
    for _ in range(count):
        lead = LeadFactory(campaign=campaign)
        send_id = uuid.uuid4()
        rows.append(
            Send(
                id=send_id,
                campaign=campaign,
                lead=lead,
                step=1,
                sequence=variant.sequence,
                variant=variant,
                to_email=lead.email,
                status=Send.Status.SENT,
                message_id=make_message_id(send_id, "acme.com"),
            )
        )
    Send.objects.bulk_create(rows)


@pytest.fixture
def campaign(alice) -> Campaign:
    """Two steps; step 1 has variant A, which 2 leads got already."""
    campaign = CampaignFactory(workspace=alice.workspace)
    SequenceFactory(campaign=campaign)
    sent(campaign, variant_a(campaign), 2)
    return campaign


def variant_a(campaign: Campaign) -> Variant:
    return Variant.objects.get(sequence__campaign=campaign, sequence__step=1, letter="A")


def send_queries(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured if "campaigns_send" in query["sql"]]


def test_steps_with_one_variant_each_read_no_sends_to_pick_it(campaign):
    with CaptureQueriesContext(connection) as captured:
        plan = StepPlan.load(campaign)

    assert send_queries(captured) == []
    assert plan.pick_variant(1) == variant_a(campaign)
    assert plan.pick_variant(2) is not None


def test_an_ab_tested_step_counts_its_variants_sends_to_keep_the_split_even(campaign):
    VariantFactory(sequence=variant_a(campaign).sequence)  # B, no lead yet

    with CaptureQueriesContext(connection) as captured:
        plan = StepPlan.load(campaign)

    assert len(send_queries(captured)) == 1
    # B catches up with A's two leads, then they alternate, A first on a tie.
    assert [plan.pick_variant(1).letter for _ in range(4)] == ["B", "B", "A", "B"]


@pytest.mark.postgres
def test_the_count_of_an_ab_tested_step_is_served_by_the_variant_index(campaign):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")
    VariantFactory(sequence=variant_a(campaign).sequence)
    with CaptureQueriesContext(connection) as captured:
        StepPlan.load(campaign)
    (count,) = send_queries(captured)

    with connection.cursor() as cursor:
        # A few rows make any plan cheap; forbid reading the whole table to see the index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {count}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "send_variant_status" in plan
