"""Sequence steps: index, create, update delay_days, delete with renumbering."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Sequence, Variant
from tests.campaigns.factories import CampaignFactory, SequenceFactory, VariantFactory


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace)


def url(campaign, sequence=None) -> str:
    base = f"/api/v1/campaigns/{campaign.pk}/sequences"
    return f"{base}/{sequence.pk}" if sequence else base


def steps(campaign) -> list[tuple[int, int]]:
    return list(Sequence.objects.filter(campaign=campaign).values_list("step", "delay_days"))


def test_index_lists_steps_in_order_with_their_variants(api, campaign):
    second = SequenceFactory(campaign=campaign, delay_days=5)
    extra = VariantFactory(sequence=second, subject="Hello", body_html="Hi", body_text="Hi")

    response = api.get(url(campaign))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data"}
    first, last = body["data"]
    assert set(first) == {"id", "step", "delay_days", "variants"}
    assert (first["step"], first["delay_days"]) == (1, 3)
    assert (last["id"], last["step"], last["delay_days"]) == (str(second.pk), 2, None)
    assert [v["letter"] for v in last["variants"]] == ["A", "B"]
    assert last["variants"][1] == {
        "id": str(extra.pk),
        "letter": "B",
        "subject": "Hello",
        "body_html": "Hi",
        "body_text": "Hi",
        "enabled": True,
    }
    assert first["variants"][0]["subject"] is None


def test_index_query_count_does_not_grow_with_steps(api, campaign, alice):
    other = CampaignFactory(workspace=alice.workspace)
    for _ in range(5):
        VariantFactory(sequence__campaign=other)
    api.get(url(campaign))

    counts = []
    for each in (campaign, other):
        with CaptureQueriesContext(connection) as captured:
            api.get(url(each))
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_create_appends_a_step_with_one_empty_variant(api, campaign):
    response = api.post(url(campaign), {}, format="json")

    assert response.status_code == 201
    data = response.json()["data"]
    (variant,) = data["variants"]
    assert data["step"] == 2
    assert data["delay_days"] is None  # the last step has nothing to wait for
    assert variant == {
        "id": variant["id"],
        "letter": "A",
        "subject": None,
        "body_html": None,
        "body_text": None,
        "enabled": True,
    }
    assert steps(campaign) == [(1, 3), (2, 3)]
    assert Sequence.objects.get(pk=data["id"]).workspace == campaign.workspace
    assert Variant.objects.get(pk=variant["id"]).workspace == campaign.workspace


def test_the_previous_last_step_shows_its_delay_again(api, campaign):
    api.post(url(campaign), {"delay_days": 7}, format="json")
    api.post(url(campaign), {}, format="json")
    data = api.get(url(campaign)).json()["data"]
    assert [row["delay_days"] for row in data] == [3, 7, None]
    assert steps(campaign) == [(1, 3), (2, 7), (3, 3)]


@pytest.mark.parametrize("delay", [0, 1, 365])
def test_create_takes_a_delay_from_0_to_365(api, campaign, delay):
    response = api.post(url(campaign), {"delay_days": delay}, format="json")
    assert response.status_code == 201
    assert steps(campaign)[-1] == (2, delay)


@pytest.mark.parametrize("delay", [-1, 366, 2.5, "3", True, None, [3]])
def test_create_with_a_bad_delay_is_422_and_adds_nothing(api, campaign, delay):
    response = api.post(url(campaign), {"delay_days": delay}, format="json")
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"delay_days"}
    assert steps(campaign) == [(1, 3)]


def test_update_sets_the_delay_and_returns_the_step(api, campaign):
    first = Sequence.objects.get(campaign=campaign)
    SequenceFactory(campaign=campaign)

    response = api.patch(url(campaign, first), {"delay_days": 0}, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["id"], data["step"], data["delay_days"]) == (str(first.pk), 1, 0)
    assert [v["letter"] for v in data["variants"]] == ["A"]
    assert steps(campaign) == [(1, 0), (2, 3)]


def test_updating_the_last_steps_delay_is_stored_but_shown_as_null(api, campaign):
    only = Sequence.objects.get(campaign=campaign)
    response = api.patch(url(campaign, only), {"delay_days": 9}, format="json")
    assert response.json()["data"]["delay_days"] is None
    assert steps(campaign) == [(1, 9)]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"delay_days"}),
        ({"delay_days": None}, {"delay_days"}),
        ({"delay_days": 400}, {"delay_days"}),
        ({"delay_days": "1"}, {"delay_days"}),
        ({"step": 3}, {"delay_days", "step"}),  # step: not a field PATCH takes
    ],
)
def test_update_needs_a_valid_delay(api, campaign, payload, fields):
    only = Sequence.objects.get(campaign=campaign)
    response = api.patch(url(campaign, only), payload, format="json")
    assert response.status_code == 422
    assert set(response.json()["details"]) == fields
    assert steps(campaign) == [(1, 3)]


def test_delete_removes_the_step_and_its_variants_and_renumbers_the_rest(api, campaign):
    for delay in (4, 5, 6):
        SequenceFactory(campaign=campaign, delay_days=delay)
    second = Sequence.objects.get(campaign=campaign, step=2)
    VariantFactory(sequence=second)

    response = api.delete(url(campaign, second))

    assert response.status_code == 204
    assert response.content == b""
    assert steps(campaign) == [(1, 3), (2, 5), (3, 6)]
    assert not Variant.objects.filter(sequence_id=second.pk).exists()


def test_deleting_the_first_step_promotes_the_second(api, campaign):
    first = Sequence.objects.get(campaign=campaign)
    second = SequenceFactory(campaign=campaign)
    assert api.delete(url(campaign, first)).status_code == 204
    second.refresh_from_db()
    assert second.step == 1


def test_a_step_of_another_campaign_is_404_and_nothing_changes(api, campaign, alice):
    other = CampaignFactory(workspace=alice.workspace)
    foreign = Sequence.objects.get(campaign=other)

    assert api.patch(url(campaign, foreign), {"delay_days": 1}, format="json").status_code == 404
    assert api.delete(url(campaign, foreign)).status_code == 404
    assert steps(other) == [(1, 3)]


@pytest.mark.parametrize(
    ("method", "target", "payload"),
    [
        ("get", "list", None),
        ("post", "list", {"delay_days": 1}),
        ("patch", "detail", {"delay_days": 1}),
        ("delete", "detail", None),
    ],
)
def test_another_workspaces_steps_are_404_and_nothing_changes(
    alice, charlie, method, target, payload
):
    campaign = CampaignFactory(workspace=alice.workspace)
    sequence = Sequence.objects.get(campaign=campaign)
    path = url(campaign) if target == "list" else url(campaign, sequence)
    # charlie's own campaign id with alice's sequence id: still not his.
    charlies = CampaignFactory(workspace=charlie.workspace)

    response = getattr(charlie.client, method)(path, payload, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    if target == "detail":
        mixed = f"/api/v1/campaigns/{charlies.pk}/sequences/{sequence.pk}"
        assert getattr(charlie.client, method)(mixed, payload, format="json").status_code == 404
    assert steps(campaign) == [(1, 3)]
    assert steps(charlies) == [(1, 3)]


def test_the_readmes_three_step_example(api, campaign):
    """delay_days is the wait after a step: the README's and the OpenAPI document's example."""
    first = Sequence.objects.get(campaign=campaign)
    base = f"/api/v1/campaigns/{campaign.pk}/sequences"
    assert api.patch(f"{base}/{first.pk}", {"delay_days": 2}, format="json").status_code == 200
    second = api.post(base, {"delay_days": 5}, format="json").json()["data"]
    assert (second["step"], second["delay_days"]) == (2, None)  # last: nothing follows yet
    third = api.post(base, {}, format="json").json()["data"]
    assert (third["step"], third["delay_days"]) == (3, None)

    listed = api.get(base).json()["data"]
    assert [(step["step"], step["delay_days"]) for step in listed] == [(1, 2), (2, 5), (3, None)]


def test_the_openapi_document_says_what_delay_days_means(api):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(public=True)
    create = schema["paths"]["/api/v1/campaigns/{campaign_id}/sequences"]["post"]
    assert "is the wait after it" in create["description"]
    assert '`POST /sequences {"delay_days": 5}` (step 2)' in create["description"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][body.rpartition("/")[2]]
    assert "The new step's own delay" in component["properties"]["delay_days"]["description"]
