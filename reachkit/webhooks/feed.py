"""The pull feed: a workspace's events in order, read page by page with a cursor.

Events are ordered by (`txid`, `seq`). On PostgreSQL a reader sees only events whose
transaction id is below the oldest transaction still running (`pg_snapshot_xmin`): an
event written by a transaction that has not committed yet may get a lower `seq` than one
already visible, and a cursor that moved past it would skip it for good. Every transaction
still running has an id at or above that bound, so whatever commits later sorts after
every cursor handed out. (Events of the reading transaction itself are visible too: tests
run a request inside the transaction that wrote them.) On SQLite one writer commits at a
time, `txid` is 0 and `seq` alone orders.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from reachkit.models import Workspace
from reachkit.webhooks.models import Event

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_CURSOR = re.compile(r"(\d{1,19})\.(\d{1,19})")


class BadCursor(ValueError):
    """The `after` cursor is not one this feed handed out."""


@dataclass(frozen=True)
class Cursor:
    txid: int
    seq: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.txid}.{self.seq}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        if len(text) > 64:
            raise BadCursor(text)
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadCursor(text) from None
        match = _CURSOR.fullmatch(raw)
        if match is None or int(match[1]) >= 2**63 or int(match[2]) >= 2**63:
            raise BadCursor(text)
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, event: Event) -> "Cursor":
        return cls(event.txid, event.seq)


@dataclass(frozen=True)
class Page:
    events: list[Event]
    next_cursor: Cursor | None  # where the next read starts (the last event's), or `after`
    has_more: bool


def visible(events: QuerySet[Event]) -> QuerySet[Event]:
    """Only events no transaction still running can sort before (see the module's docstring)."""
    if connection.vendor != "postgresql":
        return events
    return events.filter(
        Q(txid__lt=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", []))
        | Q(txid=RawSQL("pg_current_xact_id_if_assigned()::text::bigint", []))
    )


def read(
    *,
    workspace: Workspace,
    after: Cursor | None = None,
    types: list[str] | None = None,
    since: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Up to `limit` events after the cursor, oldest first; `types` and `since` narrow."""
    events = visible(Event.objects.filter(workspace=workspace))
    if after is not None:
        events = events.filter(Q(txid__gt=after.txid) | Q(txid=after.txid, seq__gt=after.seq))
    if types:
        events = events.filter(type__in=types)
    if since is not None:
        events = events.filter(created_at__gte=since)
    rows = list(events.order_by("txid", "seq")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = Cursor.of(rows[-1]) if rows else after
    return Page(events=rows, next_cursor=next_cursor, has_more=has_more)


def envelope(event: Event) -> dict[str, object]:
    """An event as the feed lists it and a webhook's body carries it."""
    return {
        "id": str(event.id),
        "type": event.type,
        "timestamp": iso(event.created_at),
        "workspace_id": str(event.workspace_id),
        "data": event.payload,
    }


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
