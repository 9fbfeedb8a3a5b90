"""`POST /api/v1/campaigns/:id/leads/bulk` (design.md): up to 1,000 leads, each on its own."""

import pytest

from leads.models import Lead
from tests.blocklist.factories import BlocklistEntryFactory
from tests.campaigns.factories import CampaignFactory
from tests.leads.factories import LeadFactory


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace)


@pytest.fixture
def bulk_url(campaign):
    return f"/api/v1/campaigns/{campaign.pk}/leads/bulk"


def test_bulk_creates_leads_and_reports_counts(api, campaign, bulk_url):
    response = api.post(
        bulk_url,
        {
            "leads": [
                {"email": "Ann@Initech.com", "first_name": "Ann", "variables": {"Company": "I"}},
                {"email": "bob@acme.com"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"created": 2, "updated": 0, "skipped": 0, "errors": []}}
    ann = Lead.objects.get(email_key="ann@initech.com")
    assert (ann.email, ann.first_name, ann.variables) == (
        "Ann@initech.com",
        "Ann",
        {"company": "I"},
    )
    assert ann.campaign == campaign
    assert ann.workspace == campaign.workspace
    assert ann.search_text == "ann@initech.com ann i"


def test_one_bad_lead_does_not_reject_the_others(api, campaign, bulk_url):
    response = api.post(
        bulk_url,
        {
            "leads": [
                {"email": "good1@acme.com"},
                {"email": "not-an-email"},
                "bob@acme.com",
                {"email": "good2@acme.com", "variables": {"a": {"nested": True}}},
                {"email": "good3@acme.com", "first_name": 7},
                {"email": "good4@acme.com"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["created"], data["updated"], data["skipped"]) == (2, 0, 0)
    assert [(error["index"], set(error["details"])) for error in data["errors"]] == [
        (1, {"email"}),
        (2, {"non_field_errors"}),
        (3, {"variables"}),
        (4, {"first_name"}),
    ]
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "good1@acme.com",
        "good4@acme.com",
    }


def test_bulk_fail_reports_existing_emails_with_their_ids(api, campaign, bulk_url):
    existing = LeadFactory(campaign=campaign, email="Bob@acme.com")

    data = api.post(
        bulk_url,
        {"leads": [{"email": "new@acme.com"}, {"email": "bob@ACME.com"}]},
        format="json",
    ).json()["data"]

    assert (data["created"], data["skipped"]) == (1, 0)
    assert data["errors"] == [
        {
            "index": 1,
            "details": {
                "email": ["A lead with this email already exists in this campaign."],
                "id": str(existing.pk),
            },
        }
    ]


def test_bulk_skip_leaves_existing_leads_alone(api, campaign, bulk_url):
    existing = LeadFactory(campaign=campaign, email="bob@acme.com", first_name="Bob")

    data = api.post(
        bulk_url,
        {
            "leads": [{"email": "BOB@acme.com", "first_name": "Robert"}, {"email": "n@acme.com"}],
            "if_exists": "skip",
        },
        format="json",
    ).json()["data"]

    assert data == {"created": 1, "updated": 0, "skipped": 1, "errors": []}
    existing.refresh_from_db()
    assert existing.first_name == "Bob"


def test_bulk_update_merges_into_existing_leads(api, alice, campaign, bulk_url):
    existing = LeadFactory(
        campaign=campaign,
        email="bob@acme.com",
        first_name="Bob",
        last_name="Smith",
        variables={"company": "Acme", "role": "VP"},
    )
    BlocklistEntryFactory(workspace=alice.workspace, value="acme.com", kind="domain")

    data = api.post(
        bulk_url,
        {
            "leads": [
                {"email": "Bob@Acme.com", "last_name": "Jones", "variables": {"role": "CEO"}}
            ],
            "if_exists": "update",
        },
        format="json",
    ).json()["data"]

    assert data == {"created": 0, "updated": 1, "skipped": 0, "errors": []}
    existing.refresh_from_db()
    assert existing.email == "bob@acme.com"
    assert (existing.first_name, existing.last_name) == ("Bob", "Jones")
    assert existing.variables == {"company": "Acme", "role": "CEO"}
    assert existing.search_text == "bob@acme.com bob jones acme"
    assert existing.is_blocklisted is True


@pytest.mark.parametrize(
    ("if_exists", "counts", "error_indexes", "first_name"),
    [
        ("fail", (1, 0, 0), [1], "Ann"),
        ("skip", (1, 0, 1), [], "Ann"),
        ("update", (1, 1, 0), [], "Annie"),
    ],
)
def test_a_repeated_email_in_one_call_is_treated_as_if_sent_one_after_the_other(
    api, bulk_url, if_exists, counts, error_indexes, first_name
):
    data = api.post(
        bulk_url,
        {
            "leads": [
                {"email": "ann@acme.com", "first_name": "Ann"},
                {"email": "ANN@acme.com", "first_name": "Annie"},
            ],
            "if_exists": if_exists,
        },
        format="json",
    ).json()["data"]

    assert (data["created"], data["updated"], data["skipped"]) == counts
    assert [error["index"] for error in data["errors"]] == error_indexes
    assert Lead.objects.get().first_name == first_name


def test_bulk_marks_blocklisted_addresses(api, alice, bulk_url):
    BlocklistEntryFactory(workspace=alice.workspace, value="bob@acme.com")
    api.post(
        bulk_url, {"leads": [{"email": "Bob@acme.com"}, {"email": "a@acme.com"}]}, format="json"
    )
    assert dict(Lead.objects.values_list("email_key", "is_blocklisted")) == {
        "bob@acme.com": True,
        "a@acme.com": False,
    }


def test_bulk_takes_1000_leads(api, bulk_url):
    leads = [{"email": f"u{n}@acme.com", "first_name": f"U{n}"} for n in range(1000)]
    response = api.post(bulk_url, {"leads": leads}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["created"] == 1000
    assert Lead.objects.count() == 1000


def test_bulk_keeps_the_input_order_newest_last(api, campaign, bulk_url):
    api.post(bulk_url, {"leads": [{"email": f"u{n}@acme.com"} for n in range(5)]}, format="json")
    listed = api.get(f"/api/v1/campaigns/{campaign.pk}/leads").json()["data"]
    assert [lead["email"] for lead in listed] == [f"u{n}@acme.com" for n in range(4, -1, -1)]


@pytest.mark.parametrize(
    "payload",
    [
        {"leads": [{"email": f"u{n}@acme.com"} for n in range(1001)]},
        {"leads": []},
        {"leads": {"email": "a@acme.com"}},
        {"leads": "a@acme.com"},
        {"leads": None},
        {},
        {"leads": [{"email": "a@acme.com"}], "if_exists": "merge"},
    ],
)
def test_bulk_rejects_bad_shapes_with_422_and_stores_nothing(api, bulk_url, payload):
    response = api.post(bulk_url, payload, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert not Lead.objects.exists()


def test_bulk_reports_fields_a_client_may_not_set_as_that_leads_error(api, bulk_url):
    response = api.post(
        bulk_url,
        {
            "leads": [
                {"email": "a@acme.com", "status": "replied", "is_bounced": True, "id": "x"},
                {"email": "b@acme.com"},
            ]
        },
        format="json",
    )
    data = response.json()["data"]
    assert (data["created"], len(data["errors"])) == (1, 1)
    assert data["errors"][0]["index"] == 0
    assert set(data["errors"][0]["details"]) == {"status", "is_bounced", "id"}
    assert list(Lead.objects.values_list("email", "status", "is_bounced")) == [
        ("b@acme.com", "uncontacted", False)
    ]


def test_bulk_on_another_workspaces_campaign_is_404_and_stores_nothing(alice, charlie, bulk_url):
    response = charlie.client.post(bulk_url, {"leads": [{"email": "a@acme.com"}]}, format="json")
    assert response.status_code == 404
    assert not Lead.objects.exists()
