"""The campaign endpoints: create, index, show, update (options and status), delete."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign, CampaignInbox, Schedule, Sequence, Variant
from leads.models import Lead
from tests.campaigns.factories import CampaignFactory, VariantFactory, make_ready
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory

URL = "/api/v1/campaigns"

PROJECTION = {
    "id",
    "name",
    "status",
    "progress",
    "options",
    "schedule",
    "stats",
    "inboxes",
    "created_at",
    "updated_at",
}
SUMMARY_STATS = {
    "progress",
    "sequence_steps",
    "leads_count",
    "sent",
    "contacted",
    "replies",
    "reply_rate",
    "positive_replies",
    "positive_reply_rate",
    "bounced",
    "bounce_rate",
}
DEFAULT_SCHEDULE = {
    "timezone": "America/New_York",
    "default_window": {"start": "09:00", "end": "17:00"},
    "days": {
        **{
            day: {"enabled": True, "start": None, "end": None}
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
        },
        "saturday": {"enabled": False, "start": None, "end": None},
        "sunday": {"enabled": False, "start": None, "end": None},
    },
}


def snapshot(campaign: Campaign) -> dict:
    """Everything an update could change, to prove a refused one changed nothing."""
    campaign.refresh_from_db()
    return {
        "campaign": {f.name: getattr(campaign, f.name) for f in Campaign._meta.concrete_fields},
        "variants": list(
            Variant.objects.filter(sequence__campaign=campaign).values().order_by("id")
        ),
        "inboxes": list(CampaignInbox.objects.filter(campaign=campaign).values_list("inbox_id")),
    }


# --- create ---------------------------------------------------------------------------------


def test_create_makes_a_draft_with_defaults_and_an_empty_first_step(api, alice):
    response = api.post(URL, {"name": "Q3 founders"}, format="json")

    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == PROJECTION
    assert data["name"] == "Q3 founders"
    assert data["status"] == "draft"
    assert data["progress"] == 0
    assert data["options"] == {
        "daily_limit": 50,
        "stop_on_reply": True,
        "stop_on_company_reply": False,
        "text_only": False,
        "esp_matching": False,
        "unsubscribe_option": False,
    }
    assert data["schedule"] == DEFAULT_SCHEDULE
    assert data["inboxes"] == []
    assert data["created_at"].endswith("Z")
    assert data["updated_at"].endswith("Z")

    campaign = Campaign.objects.get(pk=data["id"])
    assert campaign.workspace == alice.workspace
    (step,) = Sequence.objects.filter(campaign=campaign)
    (variant,) = step.variants.all()
    assert (step.step, step.delay_days) == (1, 3)
    assert (variant.letter, variant.subject, variant.body_html, variant.enabled) == (
        "A",
        None,
        None,
        True,
    )
    stats = data["stats"]
    assert set(stats) == SUMMARY_STATS | {"daily", "sequences"}
    assert stats["sequence_steps"] == 1
    assert stats["sequences"] == [
        {
            "id": str(step.pk),
            "step": 1,
            "variants": [
                {
                    "id": str(variant.pk),
                    "enabled": True,
                    "sent": 0,
                    "replies": 0,
                    "reply_rate": 0.0,
                    "positive_replies": 0,
                    "positive_reply_rate": 0.0,
                }
            ],
        }
    ]


@pytest.mark.parametrize(
    "payload",
    [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 151}, {"name": 5}, {"name": None}],
)
def test_create_without_a_good_name_is_422_and_stores_nothing(api, payload):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert "name" in body["details"]
    assert not Campaign.objects.exists()
    assert not Schedule.objects.exists()


def test_create_accepts_a_150_character_name(api):
    response = api.post(URL, {"name": "x" * 150}, format="json")
    assert response.status_code == 201


def test_create_refuses_fields_a_client_may_not_set_naming_them(api, charlie):
    response = api.post(
        URL,
        {"name": "n", "status": "active", "workspace": str(charlie.workspace.pk), "progress": 80},
        format="json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["details"]) == {"status", "workspace", "progress"}
    assert body["details"]["progress"] == ["Unknown field: this endpoint does not take it."]
    assert not Campaign.objects.exists()


def test_create_with_a_non_object_body_is_422(api):
    response = api.post(URL, ["name"], format="json")
    assert response.status_code == 422
    assert not Campaign.objects.exists()


# --- show and index ---------------------------------------------------------------------------


def test_show_returns_the_full_projection(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    inbox = InboxFactory(workspace=alice.workspace, email="zed@outreach.example")
    make_ready(campaign, inbox=inbox)
    LeadFactory.create_batch(2, campaign=campaign)

    response = api.get(f"{URL}/{campaign.pk}")

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == PROJECTION
    assert data["inboxes"] == [
        {
            "id": str(inbox.pk),
            "email": "zed@outreach.example",
            "provider": "other",
            "is_active": True,
            "connection_status": "pending",
        }
    ]
    assert data["stats"]["leads_count"] == 2
    assert len(data["stats"]["daily"]) == 30


def test_index_lists_the_projection_without_daily_rows_or_the_breakdown(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    LeadFactory(campaign=campaign)

    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["metadata"] == {"page": 1, "page_size": 30, "total_count": 1, "total_pages": 1}
    (row,) = body["data"]
    assert set(row) == PROJECTION
    assert set(row["stats"]) == SUMMARY_STATS
    assert row["stats"]["leads_count"] == 1
    assert row["stats"]["sequence_steps"] == 1
    assert row["schedule"] == DEFAULT_SCHEDULE


def test_index_searches_names(api, alice):
    CampaignFactory(workspace=alice.workspace, name="Founders in Berlin")
    CampaignFactory(workspace=alice.workspace, name="CFOs")
    names = [row["name"] for row in api.get(URL, {"search": "berlin"}).json()["data"]]
    assert names == ["Founders in Berlin"]


def test_index_filters_by_status(api, alice):
    CampaignFactory(workspace=alice.workspace, name="draft one")
    CampaignFactory(workspace=alice.workspace, name="paused one", status="paused")
    data = api.get(URL, {"status": "paused"}).json()["data"]
    assert [row["name"] for row in data] == ["paused one"]
    response = api.get(URL, {"status": "archived"})
    assert response.status_code == 422
    assert "status" in response.json()["details"]


def test_index_is_newest_first_by_default(api, alice):
    start = timezone.now() - timedelta(hours=1)
    for n in range(3):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            CampaignFactory(workspace=alice.workspace, name=f"c{n}")
    assert [row["name"] for row in api.get(URL).json()["data"]] == ["c2", "c1", "c0"]


@pytest.mark.parametrize(
    ("sort_by", "sort_order", "expected"),
    [
        ("name", "asc", ["alpha", "bravo", "charlie"]),
        ("name", "desc", ["charlie", "bravo", "alpha"]),
        ("status", "asc", ["bravo", "alpha", "charlie"]),
        ("created_at", "asc", ["charlie", "alpha", "bravo"]),
        ("updated_at", "desc", ["alpha", "bravo", "charlie"]),
    ],
)
def test_index_sorts_by_the_allowed_fields(api, alice, sort_by, sort_order, expected):
    start = timezone.now() - timedelta(hours=1)
    specs = [("charlie", "paused"), ("alpha", "active"), ("bravo", "active")]
    campaigns = {}
    for n, (name, status) in enumerate(specs):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            campaigns[name] = CampaignFactory(workspace=alice.workspace, name=name, status=status)
    # Touch in another order so updated_at differs from created_at.
    for n, name in enumerate(["charlie", "bravo", "alpha"]):
        with time_machine.travel(start + timedelta(minutes=10 + n), tick=False):
            campaigns[name].save()

    response = api.get(URL, {"sort_by": sort_by, "sort_order": sort_order})
    names = [row["name"] for row in response.json()["data"]]
    if sort_by == "status":  # ties (two active) are broken by id; only the groups are fixed
        assert sorted(names[:2]) == ["alpha", "bravo"]
        assert names[2] == "charlie"
    else:
        assert names == expected


@pytest.mark.parametrize("query", [{"sort_by": "progress"}, {"sort_order": "up"}])
def test_index_rejects_unknown_sorting(api, query):
    response = api.get(URL, query)
    assert response.status_code == 422
    assert set(query) <= set(response.json()["details"])


def test_index_query_count_does_not_grow_with_page_size(api, alice):
    for n in range(12):
        campaign = CampaignFactory(workspace=alice.workspace, name=f"c{n}")
        LeadFactory(campaign=campaign)
        CampaignInbox.objects.create(
            campaign=campaign, inbox=InboxFactory(workspace=alice.workspace)
        )
    api.get(URL)

    counts = []
    for page_size in (2, 12):
        with CaptureQueriesContext(connection) as captured:
            response = api.get(URL, {"page_size": page_size})
        assert len(response.json()["data"]) == page_size
        assert all(len(row["inboxes"]) == 1 for row in response.json()["data"])
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_show_query_count_does_not_grow_with_steps_variants_or_inboxes(api, alice):
    small = CampaignFactory(workspace=alice.workspace)
    big = CampaignFactory(workspace=alice.workspace)
    for _ in range(4):
        VariantFactory(sequence__campaign=big)
        CampaignInbox.objects.create(campaign=big, inbox=InboxFactory(workspace=alice.workspace))
    api.get(f"{URL}/{small.pk}")

    counts = []
    for campaign in (small, big):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"{URL}/{campaign.pk}").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- update -----------------------------------------------------------------------------------


def test_update_changes_name_and_options_together(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    response = api.patch(
        f"{URL}/{campaign.pk}",
        {
            "name": "Renamed",
            "daily_limit": 0,
            "stop_on_reply": False,
            "stop_on_company_reply": True,
            "text_only": True,
            "esp_matching": True,
        },
        format="json",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == PROJECTION
    assert set(data["stats"]) == SUMMARY_STATS
    assert data["name"] == "Renamed"
    assert data["options"] == {
        "daily_limit": 0,
        "stop_on_reply": False,
        "stop_on_company_reply": True,
        "text_only": True,
        "esp_matching": True,
        "unsubscribe_option": False,
    }
    campaign.refresh_from_db()
    assert (campaign.name, campaign.daily_limit, campaign.esp_matching) == ("Renamed", 0, True)


def test_update_leaves_omitted_fields_alone(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace, daily_limit=77, text_only=True)
    response = api.patch(f"{URL}/{campaign.pk}", {"name": "Only the name"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["options"]["daily_limit"] == 77
    assert response.json()["data"]["options"]["text_only"] is True


@pytest.mark.parametrize(
    ("payload", "bad"),
    [
        ({"name": "ok", "daily_limit": -1}, {"daily_limit"}),
        ({"name": "ok", "daily_limit": "50"}, {"daily_limit"}),
        ({"name": "ok", "daily_limit": 5.5}, {"daily_limit"}),
        ({"name": "ok", "daily_limit": True}, {"daily_limit"}),
        ({"name": "ok", "daily_limit": 10**12}, {"daily_limit"}),
        ({"name": "ok", "stop_on_reply": "false"}, {"stop_on_reply"}),
        ({"name": "ok", "text_only": 0}, {"text_only"}),
        ({"name": "", "esp_matching": True}, {"name"}),
        ({"name": "x" * 151, "text_only": None}, {"name", "text_only"}),
        ({"status": "archived", "daily_limit": 5}, {"status"}),
        ({"status": "draft"}, {"status"}),
        ({"status": 1}, {"status"}),
        ({"unsubscribe_option": "yes", "stop_on_company_reply": [], "name": 3}, None),
    ],
)
def test_one_bad_field_fails_the_whole_update_and_names_every_bad_field(api, alice, payload, bad):
    campaign = CampaignFactory(workspace=alice.workspace)
    before = snapshot(campaign)

    response = api.patch(f"{URL}/{campaign.pk}", payload, format="json")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["details"]) == (bad or set(payload))
    assert snapshot(campaign) == before


def test_draft_launches_when_ready(api, alice):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace))
    response = api.patch(f"{URL}/{campaign.pk}", {"status": "active"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "active"
    campaign.refresh_from_db()
    assert campaign.status == "active"


def test_active_pauses_and_paused_resumes(api, alice):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace, status="active"))
    paused = api.patch(f"{URL}/{campaign.pk}", {"status": "paused"}, format="json")
    assert paused.status_code == 200
    assert paused.json()["data"]["status"] == "paused"
    resumed = api.patch(f"{URL}/{campaign.pk}", {"status": "active"}, format="json")
    assert resumed.status_code == 200
    assert resumed.json()["data"]["status"] == "active"


@pytest.mark.parametrize(
    ("current", "wanted"),
    [("draft", "paused"), ("active", "active"), ("paused", "paused")],
)
def test_any_other_status_change_is_422_and_changes_nothing(api, alice, current, wanted):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace, status=current))
    before = snapshot(campaign)

    response = api.patch(
        f"{URL}/{campaign.pk}", {"status": wanted, "name": "changed"}, format="json"
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_status_transition"
    assert set(body["details"]) == {"status"}
    assert snapshot(campaign) == before


def test_launch_without_inbox_or_content_says_what_is_missing(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    before = snapshot(campaign)

    response = api.patch(
        f"{URL}/{campaign.pk}", {"status": "active", "daily_limit": 9}, format="json"
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "campaign_not_ready"
    assert body["details"] == {
        "inboxes": ["Attach at least one inbox."],
        "sequences": ["Step 1 needs an enabled variant with a subject and a body."],
    }
    assert snapshot(campaign) == before


def test_launch_needs_a_subject_on_step_1(api, alice):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace))
    Variant.objects.filter(sequence__campaign=campaign).update(subject="  ")
    response = api.patch(f"{URL}/{campaign.pk}", {"status": "active"}, format="json")
    assert response.status_code == 422
    assert response.json()["details"] == {
        "sequences": ["Step 1 needs an enabled variant with a subject and a body."]
    }


def test_launch_ignores_disabled_variants(api, alice):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace))
    step = Sequence.objects.get(campaign=campaign)
    VariantFactory(sequence=step, subject="", body_html="", body_text="")
    Variant.objects.filter(sequence=step, letter="A").update(enabled=False)
    response = api.patch(f"{URL}/{campaign.pk}", {"status": "active"}, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "campaign_not_ready"


def test_a_follow_up_needs_a_body_but_not_a_subject(api, alice):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace))
    follow_up = VariantFactory(sequence__campaign=campaign, subject="", body_html="", body_text="")
    response = api.patch(f"{URL}/{campaign.pk}", {"status": "active"}, format="json")
    assert response.status_code == 422
    assert response.json()["details"] == {
        "sequences": ["Step 2 needs an enabled variant with a body."]
    }

    Variant.objects.filter(pk=follow_up.pk).update(body_html="Bump", body_text="Bump")
    response = api.patch(f"{URL}/{campaign.pk}", {"status": "active"}, format="json")
    assert response.status_code == 200


def test_resuming_rechecks_readiness(api, alice):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace, status="paused"))
    CampaignInbox.objects.filter(campaign=campaign).delete()
    response = api.patch(f"{URL}/{campaign.pk}", {"status": "active"}, format="json")
    assert response.status_code == 422
    assert response.json()["details"] == {"inboxes": ["Attach at least one inbox."]}


def test_a_launch_without_any_step_asks_for_one(api, alice):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace))
    Sequence.objects.filter(campaign=campaign).delete()
    response = api.patch(f"{URL}/{campaign.pk}", {"status": "active"}, format="json")
    assert response.json()["details"] == {"sequences": ["Add a first step."]}


def test_put_is_not_allowed(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    response = api.put(f"{URL}/{campaign.pk}", {"name": "x"}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# --- delete -----------------------------------------------------------------------------------


def test_delete_removes_the_campaign_and_everything_it_owns(api, alice):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace))
    VariantFactory(sequence__campaign=campaign)
    LeadFactory.create_batch(2, campaign=campaign)
    other = CampaignFactory(workspace=alice.workspace)
    LeadFactory(campaign=other)

    response = api.delete(f"{URL}/{campaign.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not Schedule.objects.filter(campaign_id=campaign.pk).exists()
    assert not Sequence.objects.filter(campaign_id=campaign.pk).exists()
    assert not Variant.objects.filter(sequence__campaign_id=campaign.pk).exists()
    assert not CampaignInbox.objects.filter(campaign_id=campaign.pk).exists()
    assert not Lead.objects.filter(campaign_id=campaign.pk).exists()
    # The inbox and the other campaign are untouched.
    assert Lead.objects.filter(campaign=other).count() == 1
    assert api.get(f"{URL}/{campaign.pk}").status_code == 404


# --- isolation --------------------------------------------------------------------------------


def test_another_workspaces_campaigns_are_invisible(alice, charlie):
    CampaignFactory(workspace=alice.workspace, name="secret plan")
    assert charlie.client.get(URL).json()["metadata"]["total_count"] == 0
    assert charlie.client.get(URL, {"search": "secret"}).json()["data"] == []


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("patch", "", {"name": "pwned", "daily_limit": 1}),
        ("patch", "", {"status": "active"}),
        ("delete", "", None),
        ("get", "/analytics", None),
        ("patch", "/schedule", {"timezone": "Europe/Paris"}),
    ],
)
def test_another_workspaces_campaign_is_404_and_nothing_changes(
    alice, charlie, method, suffix, payload
):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace))
    before = snapshot(campaign)
    schedule_before = Schedule.objects.filter(campaign=campaign).values().get()

    response = getattr(charlie.client, method)(
        f"{URL}/{campaign.pk}{suffix}", payload, format="json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert snapshot(campaign) == before
    assert Schedule.objects.filter(campaign=campaign).values().get() == schedule_before


@pytest.mark.parametrize("suffix", ["", "/analytics", "/sequences"])
def test_a_malformed_campaign_id_is_404(api, suffix):
    response = api.get(f"{URL}/not-a-uuid{suffix}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_refused_launch_does_not_apply_the_unsubscribe_option_either(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    before = snapshot(campaign)

    response = api.patch(
        f"{URL}/{campaign.pk}", {"unsubscribe_option": True, "status": "active"}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "campaign_not_ready"
    assert snapshot(campaign) == before
    assert Variant.objects.get(sequence__campaign=campaign).body_html is None
