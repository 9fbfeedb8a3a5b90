"""Writing many leads at once, as fast as the database allows.

On PostgreSQL new leads go in with `COPY` (the same path `pg_dump` restores with) and
changed ones with one `UPDATE … FROM unnest(…)`; elsewhere (SQLite) with Django's
bulk operations. Callers hold a transaction and `lock_campaign`, so no other writer adds
a lead to the campaign between their existence check and the insert.
"""

import json
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from campaigns.models import Campaign
from leads.models import Lead
from reachkit.errors import NotFound

_COPY_COLUMNS = (
    "id",
    "workspace_id",
    "campaign_id",
    "email",
    "email_key",
    "domain",
    "first_name",
    "last_name",
    "variables",
    "search_text",
    "status",
    "is_bounced",
    "is_unsubscribed",
    "is_blocklisted",
    "provider",
    "created_at",
    "updated_at",
    # Due for step 1 from the app's clock, like a lead saved one at a time (not the database's).
    "next_due_at",
)


@dataclass(slots=True)
class LeadRow:
    """A lead about to be written: plain data, no model instance (a CSV has 100,000 of them)."""

    id: uuid.UUID
    email: str
    email_key: str
    domain: str
    first_name: str
    last_name: str
    variables: dict[str, Any]
    search_text: str
    is_blocklisted: bool = False
    provider: str | None = None


def ordered_ids(count: int) -> list[uuid.UUID]:
    """`count` new, increasing lead ids (UUID version 7: a millisecond timestamp, then random
    bits, counted up within the batch).

    Random (version 4) ids land all over the primary key's index; these append to its end,
    which makes a large insert cheaper, and keep a batch's input order.
    """
    millis = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10), "big")
    rand_a = random_bits >> 68  # 12 bits
    rand_b = (random_bits & ((1 << 62) - 1)) >> 20 << 20  # room to count up to a million
    base = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return [uuid.UUID(int=base + n) for n in range(count)]


def lock_campaign(campaign_id: uuid.UUID) -> None:
    """Serialise lead writes per campaign until the transaction ends.

    PostgreSQL: a transaction-level advisory lock keyed by the campaign. SQLite needs none:
    its transactions take the write lock when they begin (`transaction_mode IMMEDIATE`).
    Deleting a campaign takes this lock too, so a write that waited for it finds the
    campaign gone: NotFound, not leads under a deleted campaign.
    """
    if connection.vendor == "postgresql":
        key = int.from_bytes(campaign_id.bytes[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    if not Campaign.objects.filter(pk=campaign_id).exists():
        raise NotFound()


def insert_leads(
    *,
    workspace_id: uuid.UUID,
    campaign_id: uuid.UUID,
    rows: Sequence[LeadRow],
    now: datetime,
) -> None:
    """Insert new leads. Each gets `created_at` a microsecond after the previous one, so the
    newest-first list shows a batch in reverse input order, like one-by-one creates would."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_leads(workspace_id, campaign_id, rows, now)
        return
    Lead.objects.bulk_create(
        [
            Lead(
                id=row.id,
                workspace_id=workspace_id,
                campaign_id=campaign_id,
                email=row.email,
                email_key=row.email_key,
                domain=row.domain,
                first_name=row.first_name,
                last_name=row.last_name,
                variables=row.variables,
                search_text=row.search_text,
                is_blocklisted=row.is_blocklisted,
                provider=row.provider,
            )
            for row in rows
        ],
        batch_size=500,
    )


_COPY_SLICE = 500
# COPY's text format: backslash, tab, newline and carriage return are escaped (a domain,
# checked by the email validator, has none of them).
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_leads(
    workspace_id: uuid.UUID, campaign_id: uuid.UUID, rows: Sequence[LeadRow], now: datetime
) -> None:
    """COPY in text format, each line formatted here (psycopg's per-value adaptation,
    `write_row`, would cost more than the database's whole insert), and sent a slice at a
    time: the server inserts one slice while this formats the next."""
    statement = f"COPY {Lead._meta.db_table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    fixed = f"{workspace_id.hex}\t{campaign_id.hex}"
    status = Lead.Status.UNCONTACTED.value
    tick = timedelta(microseconds=1)
    dumps = json.dumps
    escapes = _COPY_ESCAPES
    null = "\\N"
    created_at = now
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for start in range(0, len(rows), _COPY_SLICE):
            lines = []
            for row in rows[start : start + _COPY_SLICE]:
                stamp = created_at.isoformat()
                created_at += tick
                lines.append(
                    f"{row.id.hex}\t{fixed}\t{row.email.translate(escapes)}\t"
                    f"{row.email_key.translate(escapes)}\t{row.domain}\t"
                    f"{row.first_name.translate(escapes)}\t{row.last_name.translate(escapes)}\t"
                    f"{dumps(row.variables).translate(escapes)}\t"
                    f"{row.search_text.translate(escapes)}\t"
                    f"{status}\tf\tf\t{'t' if row.is_blocklisted else 'f'}\t"
                    f"{row.provider or null}\t{stamp}\t{stamp}\t{stamp}\n"
                )
            copy.write("".join(lines))


@dataclass(slots=True)
class LeadChange:
    """New names and variables for an existing lead (`if_exists: update`)."""

    id: uuid.UUID
    first_name: str
    last_name: str
    variables: dict[str, Any]
    search_text: str
    is_blocklisted: bool


def update_leads(*, changes: Sequence[LeadChange], now: datetime) -> None:
    if not changes:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {Lead._meta.db_table} AS lead SET
                    first_name = change.first_name,
                    last_name = change.last_name,
                    variables = change.variables,
                    search_text = change.search_text,
                    is_blocklisted = change.is_blocklisted,
                    updated_at = %s
                FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::jsonb[], %s::text[], %s::bool[])
                    AS change(id, first_name, last_name, variables, search_text, is_blocklisted)
                WHERE lead.id = change.id
                """,
                [
                    now,
                    [change.id for change in changes],
                    [change.first_name for change in changes],
                    [change.last_name for change in changes],
                    [json.dumps(change.variables) for change in changes],
                    [change.search_text for change in changes],
                    [change.is_blocklisted for change in changes],
                ],
            )
        return
    leads = [
        Lead(
            id=change.id,
            first_name=change.first_name,
            last_name=change.last_name,
            variables=change.variables,
            search_text=change.search_text,
            is_blocklisted=change.is_blocklisted,
            updated_at=now,
        )
        for change in changes
    ]
    Lead.objects.bulk_update(
        leads,
        ["first_name", "last_name", "variables", "search_text", "is_blocklisted", "updated_at"],
        batch_size=200,
    )
