"""The outbox's writes and counters: every change of a `Send` row's status, and the leads it
moves along.

A row is claimed by the scheduler (campaigns/sending/scheduler.py), marked attempted here in
one durable commit just before SMTP (`mark_attempted`), then recorded: sent (and its lead
moves on), bounced, failed, retried later, or unknown. Rows nobody tried go back to the
queue (`release`, `unattempt`), and claims whose sender died are recovered
(`recover_stale_claims`).

The hot writes have a PostgreSQL branch beside the portable one (one statement from arrays
instead of one per row or Django's CASE per row and field): each pair sits side by side, so
they are read, and changed, together.
"""

import logging
import os
import random
import secrets
import socket
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Case, Count, DateTimeField, F, QuerySet, Value, When

from campaigns.models import Campaign, Send
from campaigns.models import Sequence as Step
from campaigns.sending import events, rules
from campaigns.sending.rules import Delivery, Outcome
from leads.models import Lead

logger = logging.getLogger("reachkit.scheduler")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Prepared:
    """An outbox row with its rendered subject and its message, ready for SMTP."""

    send: Send
    subject: str
    data: bytes


# --- Counters --------------------------------------------------------------------------------


def inbox_sends_today(inbox_ids: Iterable[uuid.UUID], now: datetime) -> dict[uuid.UUID, int]:
    """Emails each inbox used today (UTC), across all campaigns: one grouped query."""
    ids = list(inbox_ids)
    if not ids:
        return {}
    rows = (
        Send.objects.filter(
            inbox_id__in=ids, claimed_at__gte=rules.utc_day_start(now), status__in=rules.COUNTED
        )
        .values("inbox_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["inbox_id"]: row["n"] for row in rows}


def campaign_sends_today(campaign: Campaign, now: datetime) -> int:
    """Emails the campaign used today, in its own timezone's day."""
    return Send.objects.filter(
        campaign=campaign,
        claimed_at__gte=rules.local_day_start(campaign.schedule.timezone, now),
        status__in=rules.COUNTED,
    ).count()


def step_delays(campaign_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[int, int]]:
    """Each campaign's steps and their `delay_days`: one query for a batch's campaigns."""
    delays: dict[uuid.UUID, dict[int, int]] = defaultdict(dict)
    for campaign_id, step, delay_days in Step.objects.filter(
        campaign_id__in=set(campaign_ids)
    ).values_list("campaign_id", "step", "delay_days"):
        delays[campaign_id][step] = delay_days
    return delays


# --- Taking rows for SMTP, and giving them back -------------------------------------------------


def mark_attempted(sends: Sequence[Send], now: datetime) -> set[uuid.UUID]:
    """Take a chunk of claimed rows for SMTP, in one durable commit; returns the ids taken.

    A row another sender took first (a duplicated task) is not returned. From here on a
    crash leaves these rows attempted, hence `unknown`, reconciled and never resent.
    """
    ids = [send.pk for send in sends]
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Send._meta.db_table} SET attempted_at = %s WHERE id = ANY(%s::uuid[]) "
                "AND status = %s AND attempted_at IS NULL RETURNING id",
                [now, ids, Send.Status.CLAIMED.value],
            )
            return {row[0] for row in cursor.fetchall()}
    token = f"{worker_name()}:{secrets.token_hex(4)}"
    Send.objects.filter(pk__in=ids, status=Send.Status.CLAIMED, attempted_at__isnull=True).update(
        attempted_at=now, claimed_by=token
    )
    return set(Send.objects.filter(pk__in=ids, claimed_by=token).values_list("pk", flat=True))


def unattempt(sends: Sequence[Send], now: datetime) -> None:
    """Rows taken for SMTP but never handed to it (the connection broke first): due again."""
    Send.objects.filter(pk__in=[send.pk for send in sends], status=Send.Status.CLAIMED).update(
        status=Send.Status.SCHEDULED, attempted_at=None, due_at=now
    )


def release(sends: Iterable[Send], now: datetime) -> None:
    """Rows this sender never tried: back in the queue as they were, due now."""
    Send.objects.filter(
        pk__in=[send.pk for send in sends], status=Send.Status.CLAIMED, attempted_at__isnull=True
    ).update(status=Send.Status.SCHEDULED, due_at=now)


def retry(send: Send, now: datetime, *, response: str, code: int | None = None) -> bool:
    """Back to `scheduled` after a temporary failure, with backoff; failed when out of tries.

    Returns whether it will be tried again.
    """
    attempts = send.attempts + 1
    delays = settings.SEND_RETRY_DELAYS_SECONDS
    if attempts > len(delays):
        Send.objects.filter(pk=send.pk).update(
            status=Send.Status.FAILED, attempts=attempts, smtp_code=code, smtp_response=response
        )
        return False
    wait = delays[attempts - 1] * random.uniform(0.8, 1.2)
    Send.objects.filter(pk=send.pk).update(
        status=Send.Status.SCHEDULED,
        attempts=attempts,
        due_at=now + timedelta(seconds=wait),
        attempted_at=None,
        smtp_code=code,
        smtp_response=response,
    )
    return True


def recover_stale_claims(now: datetime) -> int:
    """Claims older than the lease belong to a sender that died (a worker killed mid-batch).

    Never attempted: due again at once. Attempted: the outcome is unknown, so the row is
    `unknown` and waits for reconciliation; it is never sent again blindly.
    """
    stale = Send.objects.filter(
        status=Send.Status.CLAIMED,
        claimed_at__lt=now - timedelta(seconds=settings.SEND_CLAIM_LEASE_SECONDS),
    )
    retried = stale.filter(attempted_at__isnull=True).update(
        status=Send.Status.SCHEDULED, due_at=now
    )
    unknown = stale.filter(attempted_at__isnull=False).update(status=Send.Status.UNKNOWN)
    if retried or unknown:
        logger.warning("recovered stale claims", extra={"retried": retried, "unknown": unknown})
    return retried + unknown


def stop_held_leads(campaign: Campaign, leads: QuerySet[Lead], now: datetime) -> int:
    """Apply the stop rules now to these leads of `campaign` (after something changed what
    they say: a reply, a bounce, an unsubscribe): a lead a rule holds has nothing due any
    more, and its emails waiting for a retry are skipped with the rule's reason. The others
    are left as they are. Returns how many leads a rule holds."""
    held = dict(
        leads.filter(campaign=campaign)
        .annotate(reason=rules.stop_reason_annotation(campaign))
        .filter(reason__isnull=False)
        .values_list("pk", "reason")
    )
    if not held:
        return 0
    Lead.objects.filter(pk__in=held, next_due_at__isnull=False).update(
        next_due_at=None, updated_at=now
    )
    by_reason: dict[str, list[uuid.UUID]] = defaultdict(list)
    for lead_id, reason in held.items():
        by_reason[reason].append(lead_id)
    for reason, lead_ids in by_reason.items():
        Send.objects.filter(lead_id__in=lead_ids, status=Send.Status.SCHEDULED).update(
            status=Send.Status.SKIPPED, skip_reason=reason
        )
    return len(held)


# --- Recording outcomes ----------------------------------------------------------------------


@contextmanager
def outcome_writes() -> Iterator[None]:
    """The transaction that records what became of an email already handed to SMTP.

    On PostgreSQL it commits without waiting for the disk (`synchronous_commit` off): were
    the database to crash and lose it, the row would still be claimed and attempted, so
    it would be recovered as `unknown` and reconciled, never sent again. The write that
    must be durable is the attempt mark before SMTP (`mark_attempted`); it also flushes
    every earlier outcome to disk. Inside a caller's transaction nothing changes.
    """
    relaxed = db_connection.vendor == "postgresql" and not db_connection.in_atomic_block
    with transaction.atomic():
        if relaxed:
            with db_connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def record_sent(
    send: Send,
    *,
    code: int | None,
    response: str,
    subject: str | None,
    now: datetime,
    from_status: str = Send.Status.CLAIMED,
    delays: Mapping[int, int] | None = None,
) -> bool:
    """One email left (reconciliation found it): the row is `sent`, the lead moves on.

    Only a row still in `from_status` moves (a stale-claim recovery may have taken it);
    returns whether it did. `delays`: the campaign's steps and their `delay_days`, when
    the caller has them.
    """
    if delays is None:
        delays = step_delays([send.campaign_id])[send.campaign_id]
    fields: dict[str, object] = {
        "status": Send.Status.SENT,
        "sent_at": now,
        "smtp_response": response,
    }
    if code is not None:
        fields["smtp_code"] = code
    if subject is not None:
        fields["subject"] = subject
    with outcome_writes():
        if not Send.objects.filter(pk=send.pk, status=from_status).update(**fields):
            return False
        _advance_leads([send], {send.campaign_id: delays}, now)
        events.emails_sent([(send, send.subject if subject is None else subject)], now)
    return True


def record_chunk(
    results: Sequence[tuple[Prepared, Delivery]],
    delays: Mapping[uuid.UUID, Mapping[int, int]],
    now: datetime,
) -> None:
    """What became of a chunk of emails, in one transaction."""
    with outcome_writes():
        write_outcomes(results, delays, now)


def write_outcomes(
    results: Sequence[tuple[Prepared, Delivery]],
    delays: Mapping[uuid.UUID, Mapping[int, int]],
    now: datetime,
) -> None:
    """The sent ones in two or three statements however many they are, the rest (rare)
    one by one. The caller holds the transaction."""
    sent = [(item, delivery) for item, delivery in results if delivery.outcome == Outcome.SENT]
    if sent:
        _mark_sent(sent, now)
        _advance_leads([item.send for item, _ in sent], delays, now)
        events.emails_sent([(item.send, item.subject) for item, _ in sent], now)
    for item, delivery in results:
        if delivery.outcome != Outcome.SENT:
            record_outcome(item.send, delivery, item.subject, now)


def record_outcome(send: Send, delivery: Delivery, subject: str, now: datetime) -> None:
    """Anything but sent: bounced, failed, retried later, or unknown."""
    fields: dict[str, object] = {
        "subject": subject,
        "smtp_code": delivery.code,
        "smtp_response": delivery.response,
    }
    with outcome_writes():
        if delivery.outcome == Outcome.BOUNCED:
            Send.objects.filter(pk=send.pk).update(status=Send.Status.BOUNCED, **fields)
            Lead.objects.filter(pk=send.lead_id).update(
                is_bounced=True, next_due_at=None, updated_at=now
            )
            events.email_bounced(
                send,
                lead=send.lead,
                campaign=send.campaign,
                hard=True,
                response=delivery.response,
                at=now,
            )
        elif delivery.outcome == Outcome.DEFERRED:
            retry(send, now, response=delivery.response, code=delivery.code)
        else:
            status = (
                Send.Status.UNKNOWN if delivery.outcome == Outcome.UNKNOWN else Send.Status.FAILED
            )
            Send.objects.filter(pk=send.pk).update(status=status, **fields)


def _mark_sent(sent: Sequence[tuple[Prepared, Delivery]], now: datetime) -> None:
    """Rows whose email left: `sent`, with their subject and the server's reply.

    On PostgreSQL one UPDATE from arrays, whatever the number of rows (Django's
    `bulk_update` builds a CASE per row and field, which costs more than the SMTP).
    """
    if db_connection.vendor != "postgresql":
        for item, delivery in sent:
            Send.objects.filter(pk=item.send.pk).update(
                status=Send.Status.SENT,
                sent_at=now,
                subject=item.subject,
                smtp_code=delivery.code,
                smtp_response=delivery.response,
            )
        return
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Send._meta.db_table} AS send SET status = %s, sent_at = %s, "
            "smtp_code = row.code, subject = row.subject, smtp_response = row.response "
            "FROM unnest(%s::uuid[], %s::int[], %s::text[], %s::text[]) "
            "AS row(id, code, subject, response) WHERE send.id = row.id",
            [
                Send.Status.SENT.value,
                now,
                [item.send.pk for item, _ in sent],
                [delivery.code for _, delivery in sent],
                [item.subject for item, _ in sent],
                [delivery.response for _, delivery in sent],
            ],
        )


def _advance_leads(
    sends: Sequence[Send], delays: Mapping[uuid.UUID, Mapping[int, int]], now: datetime
) -> None:
    """The leads of emails that left: `contacted`, and due for their next step (none after
    the last, nor when a stop rule holds them). One UPDATE per campaign, step and inbox."""
    groups: dict[tuple[uuid.UUID, int, uuid.UUID | None], list[Send]] = defaultdict(list)
    for send in sends:
        groups[(send.campaign_id, send.step, send.inbox_id)].append(send)
    for (campaign_id, step, inbox_id), group in groups.items():
        steps = delays.get(campaign_id, {})
        next_due = now + timedelta(days=steps.get(step, 0)) if step + 1 in steps else None
        lead_ids = [send.lead_id for send in group]
        if db_connection.vendor == "postgresql":
            _advance_leads_sql(lead_ids, group[0].campaign, step, inbox_id, next_due, now)
            continue
        Lead.objects.filter(pk__in=lead_ids).update(
            status=Case(
                When(status=Lead.Status.UNCONTACTED, then=Value(Lead.Status.CONTACTED)),
                default=F("status"),
            ),
            last_sent_at=now,
            thread_inbox_id=inbox_id if step == 1 else F("thread_inbox_id"),
            next_step=step + 1,
            next_due_at=None
            if next_due is None
            else Case(
                When(rules.stopped_q(group[0].campaign), then=None),
                default=Value(next_due, output_field=DateTimeField()),
            ),
            updated_at=now,
        )


def _advance_leads_sql(
    lead_ids: list[uuid.UUID],
    campaign: Campaign,
    step: int,
    inbox_id: uuid.UUID | None,
    next_due: datetime | None,
    now: datetime,
) -> None:
    """`_advance_leads`' UPDATE written out for PostgreSQL: the ORM's expression building
    for it costs more than the statement itself, once per chunk on the sending path."""
    thread = "%s" if step == 1 else "thread_inbox_id"
    params: list[Any] = [Lead.Status.UNCONTACTED.value, Lead.Status.CONTACTED.value, now]
    if step == 1:
        params.append(inbox_id)
    params.append(step + 1)
    if next_due is None:
        next_due_sql = "NULL"
    else:
        stopped, stopped_params = rules.stopped_sql(campaign)
        next_due_sql = f"CASE WHEN {stopped} THEN NULL ELSE %s END"
        params += [*stopped_params, next_due]
    params += [now, lead_ids]
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Lead._meta.db_table} SET "
            "status = CASE WHEN status = %s THEN %s ELSE status END, last_sent_at = %s, "
            f"thread_inbox_id = {thread}, next_step = %s, next_due_at = {next_due_sql}, "
            "updated_at = %s WHERE id = ANY(%s::uuid[])",
            params,
        )
