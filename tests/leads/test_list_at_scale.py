"""The lead list on a sizeable campaign: a fixed number of queries, every filter and sort on
an index (PostgreSQL's plans). 100,000-lead figures are in bench/leads_import.py."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.inputs import LeadInput
from leads.models import Lead
from leads.services import lead_save_many
from tests.campaigns.factories import CampaignFactory

PER_CAMPAIGN = 3000
NAMES = ["Ann", "Bob", "Cy", "Dee", "Eve", "Finn", "Gus", "Hal"]

LIST_QUERIES = {
    "default": ({}, "lead_created"),
    "later page": ({"page": 30}, None),  # any of the campaign's indexes, then a sort
    "sort email": ({"sort_by": "email", "sort_order": "asc"}, "lead_unique_email_key"),
    "sort first_name": ({"sort_by": "first_name"}, "lead_first_name"),
    "sort last_name": ({"sort_by": "last_name", "sort_order": "asc"}, "lead_last_name"),
    "status": ({"status": "replied"}, "lead_status"),
    "provider": ({"provider": "zoho"}, "lead_provider"),
    "bounced": ({"is_bounced": "true"}, "lead_bounced"),
    "unsubscribed": ({"is_unsubscribed": "true"}, "lead_unsubscribed"),
    "blocklisted": ({"is_blocklisted": "true"}, "lead_blocklisted"),
}


@pytest.fixture
def on_postgresql(db):
    """Skips before the big campaign is built: plans are PostgreSQL's."""
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")


@pytest.fixture
def big_campaign(alice):
    """Three campaigns of 3,000 leads; the first one is listed."""
    if connection.vendor == "postgresql":
        # Leads that earlier tests wrote and rolled back stay in the table as dead space
        # until autovacuum reaches them, and the planner prices a sequential scan by the
        # table's pages: whether an index won depended on what ran before. The table starts
        # afresh inside this test's transaction (TRUNCATE is rolled back with it), as a
        # vacuumed table in production would be.
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE leads_lead CASCADE")
    campaigns = [CampaignFactory(workspace=alice.workspace) for _ in range(3)]
    for number, campaign in enumerate(campaigns):
        lead_save_many(
            campaign=campaign,
            leads=[
                LeadInput(
                    email=f"lead{n}@company{n % 300}.com",
                    first_name=NAMES[(n * 7 + number) % len(NAMES)] + str(n),
                    last_name=NAMES[(n * 3) % len(NAMES)],
                    variables={"company": f"Company {n % 300}"},
                )
                for n in range(PER_CAMPAIGN)
            ],
        )
    leads = Lead.objects.filter(campaign=campaigns[0])
    leads.filter(email_key__endswith="7@company7.com").update(status="replied", provider="zoho")
    leads.filter(email_key__endswith="3@company3.com").update(is_bounced=True)
    leads.filter(email_key__endswith="5@company5.com").update(is_unsubscribed=True)
    leads.filter(email_key__endswith="9@company9.com").update(is_blocklisted=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead")
    return campaigns[0]


def page_queries(api, campaign, query: dict) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(f"/api/v1/campaigns/{campaign.pk}/leads", {"page_size": 100, **query})
    assert response.status_code == 200
    return [entry["sql"] for entry in captured]


def test_a_page_takes_the_same_queries_whatever_the_filter_sort_or_size(api, big_campaign):
    api.get(f"/api/v1/campaigns/{big_campaign.pk}/leads")  # the key's first use
    counts = {
        label: len(page_queries(api, big_campaign, query))
        for label, (query, _) in LIST_QUERIES.items()
    }
    counts["search"] = len(page_queries(api, big_campaign, {"search": "company1"}))
    # auth, campaign, page, count; a short first page needs no count.
    assert set(counts.values()) <= {3, 4}, counts
    assert counts["default"] == counts["later page"] == 4


def plan_of(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def indexes_in(plan: str) -> set[str]:
    return set(re.findall(r"(?:using|Index Scan on|Bitmap Index Scan on) (\w+)", plan))


# Every index of the list leads with the campaign.
CAMPAIGN_INDEXES = {
    "lead_created",
    "lead_unique_email_key",
    "lead_first_name",
    "lead_last_name",
    "lead_status",
    "lead_provider",
    "lead_bounced",
    "lead_unsubscribed",
    "lead_blocklisted",
}


@pytest.mark.postgres
def test_every_filter_and_sort_is_served_by_its_index(on_postgresql, api, big_campaign):
    for label, (query, index) in LIST_QUERIES.items():
        page_sql = next(
            sql
            for sql in page_queries(api, big_campaign, query)
            if "LIMIT" in sql and "leads_lead" in sql
        )
        plan = plan_of(page_sql)
        assert "Seq Scan on leads_lead" not in plan, (label, plan)
        used = indexes_in(plan)
        if index is None:
            assert used & CAMPAIGN_INDEXES, (label, plan)
        else:
            assert index in used, (label, plan)


@pytest.mark.postgres
def test_search_stays_within_the_campaigns_index(on_postgresql, api, big_campaign):
    """Substring search has no index of its own (see README: a trigram index would double
    the cost of imports); it reads one campaign's leads through one of the campaign's
    indexes, never the whole table."""
    sqls = page_queries(api, big_campaign, {"search": "company12"})
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in sqls:
            if "leads_lead" in sql:
                plan = plan_of(sql)
                assert "Seq Scan on leads_lead" not in plan, plan
                assert indexes_in(plan) & CAMPAIGN_INDEXES, plan
