"""How the rest of Reachkit reports what happened: `emit` and `emit_many`.

Call them inside the transaction that makes the change: the event row (and a pending
delivery for each of the workspace's active endpoints that wants it) commits with the
change or not at all, so an event is never lost and never phantom. Once the transaction
commits, each endpoint that got a delivery is handed to a worker on the `webhooks`
queue; a periodic tick picks up whatever a lost hand-over left (reachkit/webhooks/tasks.py).
"""

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from reachkit.webhooks.models import Delivery, Event, EventType, WebhookEndpoint


@dataclass(frozen=True)
class NewEvent:
    """An event to write: `payload` holds the ids and the fields a CRM needs."""

    workspace_id: uuid.UUID
    type: EventType
    payload: Mapping[str, Any]
    # Events with one key reach each endpoint in the order they happened (a lead's id).
    ordering_key: str = ""


def emit(
    *,
    workspace_id: uuid.UUID,
    type: EventType,
    payload: Mapping[str, Any],
    ordering_key: str | uuid.UUID = "",
) -> None:
    """Write one event in the caller's transaction."""
    emit_many([NewEvent(workspace_id, type, payload, str(ordering_key))])


def emit_many(events: Sequence[NewEvent]) -> None:
    """Write events in the caller's transaction, in this order, with a pending delivery for
    each active endpoint of their workspace that wants them: one statement on PostgreSQL
    however many (it is on the send pipeline's path, once per chunk of emails)."""
    if not events:
        return
    at = timezone.now()
    if connection.vendor == "postgresql":
        endpoint_ids = _write_postgresql(events, at)
    else:
        with transaction.atomic():
            endpoint_ids = _write_orm(events, at)
    if endpoint_ids:
        _deliver_after_commit(endpoint_ids)


# The events (their `seq` and `txid` from the columns' defaults) and, from what was inserted,
# the deliveries: one round trip, no model instances (their construction cost more than the
# database's insert). The rows travel as one JSON document: psycopg's client-side quoting of
# a text array cost more than the statement.
_INSERT_POSTGRESQL = """
WITH event AS (
    INSERT INTO webhooks_event (id, workspace_id, type, created_at, payload, ordering_key)
    SELECT (row.value->>'id')::uuid, (row.value->>'workspace_id')::uuid, row.value->>'type',
           %(at)s, row.value->'payload', row.value->>'ordering_key'
    FROM jsonb_array_elements(%(rows)s::jsonb) WITH ORDINALITY AS row(value, position)
    ORDER BY row.position
    RETURNING seq, id, workspace_id, type, ordering_key
)
INSERT INTO webhooks_delivery (
    id, workspace_id, endpoint_id, event_id, message_id, event_type, position, ordering_key,
    status, attempt, next_attempt_at, error, created_at
)
SELECT gen_random_uuid(), event.workspace_id, endpoint.id, event.seq, event.id, event.type,
       event.seq, event.ordering_key, 'pending', 0, %(at)s, '', %(at)s
FROM event
JOIN webhooks_webhookendpoint AS endpoint
  ON endpoint.workspace_id = event.workspace_id
 AND endpoint.is_active AND endpoint.deleted_at IS NULL
 AND (endpoint.event_types = '[]'::jsonb OR jsonb_exists(endpoint.event_types, event.type))
RETURNING endpoint_id
"""


def _write_postgresql(events: Sequence[NewEvent], at: datetime) -> set[uuid.UUID]:
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_POSTGRESQL,
            {
                "at": at,
                "rows": json.dumps(
                    [
                        {
                            "id": str(uuid.uuid4()),
                            "workspace_id": str(event.workspace_id),
                            "type": event.type,
                            "payload": event.payload,
                            "ordering_key": event.ordering_key,
                        }
                        for event in events
                    ],
                    cls=DjangoJSONEncoder,
                ),
            },
        )
        return {endpoint_id for (endpoint_id,) in cursor.fetchall()}


def _write_orm(events: Sequence[NewEvent], at: datetime) -> set[uuid.UUID]:
    rows = [
        Event(
            workspace_id=event.workspace_id,
            type=event.type,
            payload=json.loads(json.dumps(event.payload, cls=DjangoJSONEncoder)),
            ordering_key=event.ordering_key,
            created_at=at,
        )
        for event in events
    ]
    Event.objects.bulk_create(rows)
    endpoints = _listening(event.workspace_id for event in events)
    deliveries = [
        Delivery(
            workspace_id=row.workspace_id,
            endpoint_id=endpoint.pk,
            event_id=row.seq,
            message_id=row.id,
            event_type=row.type,
            position=row.seq,
            ordering_key=row.ordering_key,
            next_attempt_at=at,
            created_at=at,
        )
        for row in rows
        for endpoint in endpoints.get(row.workspace_id, ())
        if endpoint.wants(row.type)
    ]
    Delivery.objects.bulk_create(deliveries)
    return {delivery.endpoint_id for delivery in deliveries}


def _listening(workspace_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[WebhookEndpoint]]:
    found: dict[uuid.UUID, list[WebhookEndpoint]] = {}
    endpoints = WebhookEndpoint.objects.filter(
        workspace_id__in=set(workspace_ids), is_active=True, deleted_at__isnull=True
    ).only("pk", "workspace_id", "event_types")
    for endpoint in endpoints:
        found.setdefault(endpoint.workspace_id, []).append(endpoint)
    return found


@dataclass
class _HandOver:
    """The endpoints to hand to workers once this transaction commits (one per endpoint,
    however many events the transaction wrote)."""

    endpoint_ids: set[uuid.UUID] = field(default_factory=set)

    def hand_over(self) -> None:
        from reachkit.webhooks.tasks import enqueue_deliveries

        enqueue_deliveries(self.endpoint_ids)


def _deliver_after_commit(endpoint_ids: set[uuid.UUID]) -> None:
    # Django keeps (savepoint ids, callback, robust) per registered callback.
    owners = (getattr(entry[1], "__self__", None) for entry in connection.run_on_commit)
    pending = next((owner for owner in owners if isinstance(owner, _HandOver)), None)
    if pending is None:
        pending = _HandOver()
        pending.endpoint_ids |= endpoint_ids
        # robust: the change and its events are committed; with the broker down the answer
        # must not be a 500, and webhooks.tick (every 10 s) delivers the events anyway.
        transaction.on_commit(pending.hand_over, robust=True)
    else:
        pending.endpoint_ids |= endpoint_ids
