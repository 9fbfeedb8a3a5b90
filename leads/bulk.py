"""Writing many leads at once, as fast as the database allows.

On PostgreSQL new leads go in with `COPY` (the same path `pg_dump` restores with) and
changed ones with one `UPDATE … FROM unnest(…)`; elsewhere (SQLite) with Django's
bulk operations. Callers hold a transaction and `lock_campaign`, so no other writer adds
a lead to the campaign between their existence check and the insert.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from leads.models import Lead

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


def lock_campaign(campaign_id: uuid.UUID) -> None:
    """Serialise lead writes per campaign until the transaction ends.

    PostgreSQL: a transaction-level advisory lock keyed by the campaign. SQLite needs none:
    its transactions take the write lock when they begin (`transaction_mode IMMEDIATE`).
    """
    if connection.vendor == "postgresql":
        key = int.from_bytes(campaign_id.bytes[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


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


def _copy_leads(
    workspace_id: uuid.UUID, campaign_id: uuid.UUID, rows: Sequence[LeadRow], now: datetime
) -> None:
    status = Lead.Status.UNCONTACTED.value
    statement = f"COPY {Lead._meta.db_table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    tick = timedelta(microseconds=1)
    dumps = json.dumps
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        write_row = copy.write_row
        created_at = now
        for row in rows:
            write_row(
                (
                    row.id,
                    workspace_id,
                    campaign_id,
                    row.email,
                    row.email_key,
                    row.domain,
                    row.first_name,
                    row.last_name,
                    dumps(row.variables),
                    row.search_text,
                    status,
                    False,
                    False,
                    row.is_blocklisted,
                    row.provider,
                    created_at,
                    created_at,
                )
            )
            created_at += tick


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
