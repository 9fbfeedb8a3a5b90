"""Attaching inboxes to a campaign and detaching them: idempotent, deduped, all-or-nothing."""

import uuid

import pytest

from campaigns.models import CampaignInbox
from tests.campaigns.factories import CampaignFactory
from tests.inboxes.factories import InboxFactory


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace)


def attach(client, campaign, ids):
    return client.post(
        f"/api/v1/campaigns/{campaign.pk}/inboxes/attach",
        {"inbox_ids": [str(i) for i in ids]},
        format="json",
    )


def detach(client, campaign, ids):
    return client.post(
        f"/api/v1/campaigns/{campaign.pk}/inboxes/detach",
        {"inbox_ids": [str(i) for i in ids]},
        format="json",
    )


def attached(campaign) -> set:
    return set(CampaignInbox.objects.filter(campaign=campaign).values_list("inbox_id", flat=True))


def test_attach_returns_the_attached_set_in_the_campaign_projection(api, alice, campaign):
    bob = InboxFactory(workspace=alice.workspace, email="bob@outreach.example", provider="google")
    amy = InboxFactory(workspace=alice.workspace, email="amy@outreach.example")

    response = attach(api, campaign, [bob.pk, amy.pk])

    assert response.status_code == 200
    assert response.json() == {
        "data": [
            {
                "id": str(amy.pk),
                "email": "amy@outreach.example",
                "provider": "other",
                "is_active": True,
                "connection_status": "pending",
            },
            {
                "id": str(bob.pk),
                "email": "bob@outreach.example",
                "provider": "google",
                "is_active": True,
                "connection_status": "pending",
            },
        ]
    }
    shown = api.get(f"/api/v1/campaigns/{campaign.pk}").json()["data"]["inboxes"]
    assert shown == response.json()["data"]


def test_attach_is_idempotent_and_dedupes(api, alice, campaign):
    inbox, other = InboxFactory.create_batch(2, workspace=alice.workspace)
    attach(api, campaign, [inbox.pk])

    response = attach(api, campaign, [inbox.pk, other.pk, other.pk, str(other.pk).upper()])

    assert response.status_code == 200
    assert len(response.json()["data"]) == 2
    assert attached(campaign) == {inbox.pk, other.pk}
    assert CampaignInbox.objects.filter(campaign=campaign).count() == 2


def test_detach_removes_and_skips_ones_not_attached(api, alice, campaign):
    kept, gone, never = InboxFactory.create_batch(3, workspace=alice.workspace)
    attach(api, campaign, [kept.pk, gone.pk])

    response = detach(api, campaign, [gone.pk, never.pk, gone.pk])

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["data"]] == [str(kept.pk)]
    assert attached(campaign) == {kept.pk}
    again = detach(api, campaign, [gone.pk])
    assert again.status_code == 200
    assert attached(campaign) == {kept.pk}


def test_an_inbox_can_serve_several_campaigns(api, alice, campaign):
    inbox = InboxFactory(workspace=alice.workspace)
    second = CampaignFactory(workspace=alice.workspace)
    attach(api, campaign, [inbox.pk])
    attach(api, second, [inbox.pk])
    detach(api, campaign, [inbox.pk])
    assert attached(campaign) == set()
    assert attached(second) == {inbox.pk}


@pytest.mark.parametrize("action", [attach, detach])
def test_any_unknown_or_foreign_inbox_is_404_and_nothing_changes(
    api, alice, charlie, campaign, action
):
    mine, already = InboxFactory.create_batch(2, workspace=alice.workspace)
    attach(api, campaign, [already.pk])
    foreign = InboxFactory(workspace=charlie.workspace)

    for ids in ([mine.pk, already.pk, foreign.pk], [mine.pk, already.pk, uuid.uuid4()]):
        response = action(api, campaign, ids)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert attached(campaign) == {already.pk}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"inbox_ids": []},
        {"inbox_ids": None},
        {"inbox_ids": "0b6c2f6e-4c1b-4d2e-9b8a-2f8f3c4d5e6f"},
        {"inbox_ids": ["not-a-uuid"]},
        {"inbox_ids": [5]},
        {"inbox_ids": [None]},
        {"inbox_ids": [{"id": "0b6c2f6e-4c1b-4d2e-9b8a-2f8f3c4d5e6f"}]},
        {"inbox_ids": [str(uuid.uuid4()) for _ in range(501)]},
    ],
)
@pytest.mark.parametrize("verb", ["attach", "detach"])
def test_inbox_ids_must_be_a_non_empty_list_of_uuid_strings(api, campaign, payload, verb):
    response = api.post(f"/api/v1/campaigns/{campaign.pk}/inboxes/{verb}", payload, format="json")
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"inbox_ids"}
    assert attached(campaign) == set()


@pytest.mark.parametrize("action", [attach, detach])
def test_another_workspaces_campaign_is_404_and_nothing_changes(alice, charlie, action):
    campaign = CampaignFactory(workspace=alice.workspace)
    alices = InboxFactory(workspace=alice.workspace)
    attach(alice.client, campaign, [alices.pk])
    charlies = InboxFactory(workspace=charlie.workspace)

    for ids in ([charlies.pk], [alices.pk]):
        response = action(charlie.client, campaign, ids)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert attached(campaign) == {alices.pk}
