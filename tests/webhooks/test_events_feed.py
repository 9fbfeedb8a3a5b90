"""The events outbox and the pull feed (`GET /api/v1/events`)."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reachkit.webhooks.events import NewEvent, emit, emit_many
from reachkit.webhooks.feed import Cursor
from reachkit.webhooks.models import Event, EventType


def _emit(workspace, n=1, type=EventType.EMAIL_SENT, **payload):
    for index in range(n):
        emit(
            workspace_id=workspace.pk,
            type=type,
            payload={"index": index, "lead_id": uuid.uuid4(), **payload},
        )


def test_an_event_is_written_with_the_change_or_not_at_all(alice):
    class Boom(Exception):
        pass

    def change_that_fails() -> None:
        with transaction.atomic():
            _emit(alice.workspace)
            raise Boom

    with pytest.raises(Boom):
        change_that_fails()
    assert not Event.objects.exists()

    with transaction.atomic():
        _emit(alice.workspace)
    assert Event.objects.count() == 1
    if connection.vendor == "postgresql":  # the writing transaction's id, from the default
        assert Event.objects.get().txid > 0


def test_payload_ids_and_times_become_json_strings(alice):
    lead_id = uuid.uuid4()
    at = timezone.now()
    emit(
        workspace_id=alice.workspace.pk,
        type=EventType.REPLY_RECEIVED,
        payload={"lead_id": lead_id, "received_at": at},
    )
    event = Event.objects.get()
    assert event.payload["lead_id"] == str(lead_id)
    assert event.payload["received_at"].endswith("Z")


def test_the_feed_lists_events_in_order_with_a_cursor(alice, api):
    _emit(alice.workspace, 5)
    first = api.get("/api/v1/events?limit=2")
    assert first.status_code == 200
    body = first.json()
    assert [event["data"]["index"] for event in body["data"]] == [0, 1]
    assert body["metadata"]["has_more"] is True
    assert set(body["data"][0]) == {"id", "type", "timestamp", "workspace_id", "data"}
    assert body["data"][0]["timestamp"].endswith("Z")

    second = api.get(f"/api/v1/events?limit=2&after={body['metadata']['next_cursor']}").json()
    assert [event["data"]["index"] for event in second["data"]] == [2, 3]
    third = api.get(f"/api/v1/events?limit=2&after={second['metadata']['next_cursor']}").json()
    assert [event["data"]["index"] for event in third["data"]] == [4]
    assert third["metadata"]["has_more"] is False

    # Nothing new: the same cursor comes back, to poll with.
    empty = api.get(f"/api/v1/events?after={third['metadata']['next_cursor']}").json()
    assert empty["data"] == []
    assert empty["metadata"]["next_cursor"] == third["metadata"]["next_cursor"]
    _emit(alice.workspace, 1, index_after=True)
    later = api.get(f"/api/v1/events?after={third['metadata']['next_cursor']}").json()
    assert len(later["data"]) == 1


def test_the_feed_filters_by_type_and_time(alice, api):
    _emit(alice.workspace, 2, type=EventType.EMAIL_SENT)
    _emit(alice.workspace, 1, type=EventType.LEAD_UNSUBSCRIBED)
    _emit(alice.workspace, 1, type=EventType.EMAIL_BOUNCED)
    body = api.get("/api/v1/events?types=lead_unsubscribed,email_bounced").json()
    assert [event["type"] for event in body["data"]] == ["lead_unsubscribed", "email_bounced"]

    Event.objects.filter(type=EventType.EMAIL_SENT).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = api.get("/api/v1/events", {"since": since}).json()
    assert len(body["data"]) == 2


def test_an_empty_cursor_or_type_list_is_as_absent(alice, api):
    _emit(alice.workspace, 2)
    for query in ("after=", "types=", "after=&types="):
        body = api.get(f"/api/v1/events?{query}").json()
        assert len(body["data"]) == 2, query


def test_another_workspaces_events_are_never_listed(alice, charlie):
    _emit(alice.workspace, 3)
    assert charlie.client.get("/api/v1/events").json()["data"] == []
    assert len(alice.client.get("/api/v1/events").json()["data"]) == 3


@pytest.mark.parametrize(
    "query",
    [
        "after=nonsense!",
        "after=" + "A" * 80,
        "after=MTIz",  # base64 of "123": no seq
        "types=email_sent,nope",
        "limit=0",
        "limit=501",
        "limit=abc",
        "since=yesterday",
        "after=%00",
        "types=%00",
        "since=",
        "limit=",
    ],
)
def test_bad_feed_queries_are_a_422_in_the_envelope(api, query):
    response = api.get(f"/api/v1/events?{query}")
    assert response.status_code == 422, response.content
    assert set(response.json()) == {"error", "code", "details"}


def test_a_cursor_round_trips():
    cursor = Cursor(123456789, 42)
    assert Cursor.decode(cursor.encode()) == cursor


def test_a_page_of_the_feed_costs_the_same_queries_whatever_its_size(alice, api):
    _emit(alice.workspace, 3)
    with CaptureQueriesContext(connection) as small:
        assert len(api.get("/api/v1/events").json()["data"]) == 3
    _emit(alice.workspace, 150)
    with CaptureQueriesContext(connection) as large:
        assert len(api.get("/api/v1/events?limit=150").json()["data"]) == 150
    assert len(large) <= len(small)  # (the first request also notes the key as used)


def test_many_events_cost_the_statements_of_one(alice, receiver):
    from reachkit.webhooks.services import endpoint_create

    endpoint_create(workspace=alice.workspace, url=receiver.url)

    def emit_n(n):
        events = [
            NewEvent(alice.workspace.pk, EventType.EMAIL_SENT, {"n": i}, ordering_key=str(i))
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as queries:
            emit_many(events)
        return len(queries)

    assert emit_n(50) == emit_n(1)
    assert Event.objects.count() == 51
    assert sorted(e.payload["n"] for e in Event.objects.all())[-1] == 49
