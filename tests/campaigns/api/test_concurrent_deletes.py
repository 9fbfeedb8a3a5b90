"""A write that races a deletion answers 404 and leaves the data whole, never a 500.

Found by the fuzzer (.ci/fuzz, two workers): a variant added to a step that another request
was deleting failed its foreign key at commit, a 500. Each test holds a deletion open in one
transaction (its locks taken, its rows gone but not committed), sends the racing request on
another thread, waits until that request waits on a lock, then lets the deletion commit.
Row locks decide these races, so the tests need PostgreSQL (SQLite runs one writer at a time).
"""

from typing import Any

import pytest
from django.db import connection

from campaigns import services
from campaigns.models import Campaign, CampaignInbox, Sequence, Variant
from inboxes import services as inbox_services
from inboxes.models import Inbox
from leads.models import Lead
from tests.inboxes.factories import InboxFactory
from tests.services.races import HeldDeletion, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def on_postgresql(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the races are decided by PostgreSQL's row locks")


def _campaign(api: Any, steps: int = 1) -> tuple[str, list[str]]:
    campaign = api.post("/api/v1/campaigns", {"name": "Race"}, format="json").json()["data"]["id"]
    for _ in range(steps - 1):
        api.post(f"/api/v1/campaigns/{campaign}/sequences", {}, format="json")
    sequences = api.get(f"/api/v1/campaigns/{campaign}/sequences").json()["data"]
    return campaign, [sequence["id"] for sequence in sequences]


def test_a_variant_added_to_a_step_being_deleted_is_404(api):
    campaign, (_, step_2) = _campaign(api, steps=2)
    deletion = HeldDeletion(
        lambda: services.sequence_delete(sequence=Sequence.objects.get(pk=step_2))
    )

    response = race(
        deletion,
        lambda: api.post(
            f"/api/v1/campaigns/{campaign}/sequences/{step_2}/variants",
            {"subject": "Hello"},
            format="json",
        ),
    )

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
    assert list(Sequence.objects.filter(campaign_id=campaign).values_list("step", flat=True)) == [1]
    assert not Variant.objects.filter(sequence_id=step_2).exists()


def test_two_steps_deleted_at_once_leave_the_steps_numbered_without_a_gap(api):
    campaign, steps = _campaign(api, steps=4)
    deletion = HeldDeletion(
        lambda: services.sequence_delete(sequence=Sequence.objects.get(pk=steps[1]))
    )

    # Read as step 3 before the first deletion shifted it to step 2.
    response = race(
        deletion, lambda: api.delete(f"/api/v1/campaigns/{campaign}/sequences/{steps[2]}")
    )

    assert response.status_code == 204, response.content
    remaining = Sequence.objects.filter(campaign_id=campaign).order_by("step")
    assert [(str(row.pk), row.step) for row in remaining] == [(steps[0], 1), (steps[3], 2)]


def test_a_lead_added_to_a_campaign_being_deleted_is_404_and_the_deletion_succeeds(api):
    campaign, _ = _campaign(api)
    deletion = HeldDeletion(
        lambda: services.campaign_delete(campaign=Campaign.objects.get(pk=campaign))
    )

    response = race(
        deletion,
        lambda: api.post(
            f"/api/v1/campaigns/{campaign}/leads", {"email": "ada@example.com"}, format="json"
        ),
    )

    assert response.status_code == 404, response.content
    assert not Campaign.objects.filter(pk=campaign).exists()
    assert not Lead.objects.exists()


def test_an_inbox_attached_while_it_is_deleted_is_404(api, alice):
    campaign, _ = _campaign(api)
    inbox = InboxFactory(workspace=alice.workspace)
    deletion = HeldDeletion(
        lambda: inbox_services.inbox_delete(inbox=Inbox.objects.get(pk=inbox.pk))
    )

    response = race(
        deletion,
        lambda: api.post(
            f"/api/v1/campaigns/{campaign}/inboxes/attach",
            {"inbox_ids": [str(inbox.pk)]},
            format="json",
        ),
    )

    assert response.status_code == 404, response.content
    assert not Inbox.objects.filter(pk=inbox.pk).exists()
    assert not CampaignInbox.objects.exists()
