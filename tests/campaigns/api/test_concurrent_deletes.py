"""A write that races a deletion answers 404 and leaves the data whole, never a 500.

Found by the fuzzer (.ci/fuzz, two workers): a variant added to a step that another request
was deleting failed its foreign key at commit, a 500. Each test holds a deletion open in one
transaction (its locks taken, its rows gone but not committed), sends the racing request on
another thread, waits until that request waits on a lock, then lets the deletion commit.
Row locks decide these races, so the tests need PostgreSQL (SQLite runs one writer at a time).
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from campaigns import services
from campaigns.models import Campaign, CampaignInbox, Sequence, Variant
from inboxes import services as inbox_services
from inboxes.models import Inbox
from leads.models import Lead
from tests.inboxes.factories import InboxFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def on_postgresql(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the races are decided by PostgreSQL's row locks")


class HeldDeletion:
    """Runs `delete` in a transaction on its own thread and keeps it open until released."""

    def __init__(self, delete: Callable[[], None]) -> None:
        self._delete = delete
        self._deleted = threading.Event()
        self._release = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        assert self._deleted.wait(10), "the deletion did not run"
        assert self.error is None, self.error

    def _run(self) -> None:
        try:
            with transaction.atomic():
                self._delete()
                self._deleted.set()
                self._release.wait(10)
        except BaseException as error:  # reported by the test thread
            self.error = error
            self._deleted.set()
        finally:
            connections.close_all()

    def commit(self) -> None:
        self._release.set()
        self._thread.join(10)
        assert self.error is None, self.error


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def race(deletion: HeldDeletion, request: Callable[[], Any]) -> Any:
    """Send `request` while `deletion` is open; commit the deletion once the request waits."""
    result: dict[str, Any] = {}

    def send() -> None:
        try:
            result["response"] = request()
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 10
    while not _waiting_on_a_lock():
        assert time.monotonic() < deadline, "the request never waited for the deletion"
        assert sender.is_alive(), f"the request did not wait: {result.get('response')}"
        time.sleep(0.01)
    deletion.commit()
    sender.join(10)
    return result["response"]


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
