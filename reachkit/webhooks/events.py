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
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from reachkit.bulk import insert_rows
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
    """Write events in the caller's transaction, in this order: three statements at most
    however many (the events, the workspaces' endpoints, their deliveries)."""
    if not events:
        return
    at = timezone.now()
    rows = [
        Event(
            workspace_id=event.workspace_id,
            type=event.type,
            payload=json.dumps(event.payload, cls=DjangoJSONEncoder),
            ordering_key=event.ordering_key,
            created_at=at,
        )
        for event in events
    ]
    with transaction.atomic():
        _insert(rows)
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
        if deliveries:
            insert_rows(deliveries)
            _deliver_after_commit({delivery.endpoint_id for delivery in deliveries})


def _insert(rows: list[Event]) -> None:
    """The events, their `payload` holding JSON text, in one statement; each gets its `seq`.

    On PostgreSQL: the sequence's next values, then COPY (the ORM's per-value work cost more
    than the database's insert, on the send pipeline's path); `txid` comes from the
    column's default. Elsewhere: bulk_create.
    """
    if connection.vendor != "postgresql":
        for row in rows:
            row.payload = json.loads(row.payload)
        Event.objects.bulk_create(rows)
        return
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'seq')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        for row, (seq,) in zip(rows, sorted(cursor.fetchall()), strict=True):
            row.seq = seq
        columns = "seq, id, workspace_id, type, created_at, payload, ordering_key"
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [row.seq, row.id, row.workspace_id, row.type, row.created_at, row.payload,
                     row.ordering_key]
                )  # fmt: skip


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

    def __call__(self) -> None:
        from reachkit.webhooks.tasks import enqueue_deliveries

        enqueue_deliveries(self.endpoint_ids)


def _deliver_after_commit(endpoint_ids: set[uuid.UUID]) -> None:
    # Django keeps (savepoint ids, callback, robust) per registered callback.
    pending = next(
        (entry[1] for entry in connection.run_on_commit if isinstance(entry[1], _HandOver)),
        None,
    )
    if pending is None:
        pending = _HandOver()
        pending.endpoint_ids |= endpoint_ids
        transaction.on_commit(pending)
    else:
        pending.endpoint_ids |= endpoint_ids
