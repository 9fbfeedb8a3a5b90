"""The sender: renders claimed outbox rows and delivers them over the inbox's SMTP server.

For each inbox, one SMTP connection carries the whole batch:

1. Render every row (merge tags, signature, unsubscribe link) and build its message;
   its Message-ID comes from the row, so a retry sends the same message.
2. A chunk at a time (SEND_ATTEMPT_CHUNK rows): mark the rows attempted with one
   conditional UPDATE, committed to disk; rows someone else already took (a duplicated
   task) are left alone. From here on, a crash leaves a row `unknown`, never resent.
3. MAIL, RCPT, DATA for each. 250 → `sent`; 4xx → `scheduled` again with backoff (the
   row's `due_at` moves); 5xx on RCPT (or a 5.1.x after DATA) → `bounced` and the lead
   `is_bounced`; other 5xx → `failed`; the connection lost after DATA → `unknown`.
4. Record the chunk's outcomes and move its leads along their sequence, in one
   transaction.

A refused login puts the inbox in `error` and its rows back to wait; other connection
failures are retried like a 4xx. Servers that do not file sent mail themselves (provider
`other`) get a copy appended to their Sent folder over IMAP.
"""

import logging
import random
import re
import secrets
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone
from imapclient.exceptions import IMAPClientError

from campaigns import rendering, unsubscribe
from campaigns.merge_tags import MergeTagError, TooLong
from campaigns.message import OutgoingEmail, UnsafeHeader, build_message
from campaigns.models import Campaign, Send
from campaigns.models import Sequence as Step
from campaigns.scheduler import PassReport, worker_name
from inboxes import connection
from inboxes.connection import ConnectionCheckFailed
from inboxes.models import Inbox
from inboxes.services import inbox_mark_error
from leads.models import Lead

logger = logging.getLogger("reachkit.sender")

SENT = "sent"
DEFERRED = "deferred"
BOUNCED = "bounced"
FAILED = "failed"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Delivery:
    """How one SMTP transaction ended. `connection_lost`: the session is no longer usable."""

    outcome: str
    code: int | None = None
    response: str = ""
    connection_lost: bool = False


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"[:1000]


def _refusal(code: int, message: bytes | str, *, recipient_phase: bool) -> Delivery:
    """A refused MAIL, RCPT or DATA: temporary (4xx), a bounce, or a failure."""
    response = _reply(code, message)
    if 400 <= code < 500:
        return Delivery(DEFERRED, code, response, connection_lost=code == 421)
    # A bad address: refused at RCPT, or (some servers) after DATA with a 5.1.x status.
    if recipient_phase or " 5.1." in f" {response[4:]}":
        return Delivery(BOUNCED, code, response)
    return Delivery(FAILED, code, response)


_LEADING_DOT = re.compile(rb"(?m)^\.")


def transmit(client: smtplib.SMTP, *, sender: str, recipient: str, data: bytes) -> Delivery:
    """One SMTP transaction on an open session, told apart by where it ended.

    Before the message body is on the wire, nothing can have been delivered: a broken
    connection there is a plain retry. After it, it may have been: `unknown`.
    """
    try:
        code, message = client.mail(sender)
        if code != 250:
            client.rset()
            return _refusal(code, message, recipient_phase=False)
        code, message = client.rcpt(recipient)
        if code not in (250, 251):
            client.rset()
            return _refusal(code, message, recipient_phase=True)
        client.putcmd("data")
        code, message = client.getreply()
        if code != 354:
            client.rset()
            return _refusal(code, message, recipient_phase=False)
    except (smtplib.SMTPException, OSError) as error:
        return Delivery(
            DEFERRED, response=f"connection lost before DATA: {error}", connection_lost=True
        )
    try:
        body = _LEADING_DOT.sub(b"..", data)  # dot-stuffing (RFC 5321 4.5.2)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        client.send(body + b".\r\n")
        code, message = client.getreply()
    except (smtplib.SMTPException, OSError) as error:
        return Delivery(
            UNKNOWN, response=f"connection lost after DATA: {error}", connection_lost=True
        )
    if code == 250:
        return Delivery(SENT, code, _reply(code, message))
    return _refusal(code, message, recipient_phase=False)


# --- Composing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    """What a follow-up replies to: the earlier steps' Message-IDs and the first subject."""

    message_ids: tuple[str, ...] = ()
    first_subject: str = ""


def threads_of(sends: Sequence[Send]) -> dict[uuid.UUID, Thread]:
    """Each follow-up's thread, from the lead's earlier sent steps: one query for the batch."""
    follow_ups = {send.lead_id for send in sends if send.step > 1}
    if not follow_ups:
        return {}
    earlier: dict[uuid.UUID, list[tuple[int, str, str]]] = defaultdict(list)
    for lead_id, step, message_id, subject in Send.objects.filter(
        lead_id__in=follow_ups, status=Send.Status.SENT
    ).values_list("lead_id", "step", "message_id", "subject"):
        earlier[lead_id].append((step, message_id, subject))
    threads = {}
    for send in sends:
        rows = sorted(row for row in earlier.get(send.lead_id, []) if row[0] < send.step)
        if rows:
            first = rows[0][2] if rows[0][0] == 1 else ""
            threads[send.pk] = Thread(tuple(row[1] for row in rows), first)
    return threads


def compose(send: Send, thread: Thread, now: datetime) -> tuple[str, bytes]:
    """The rendered subject and the message, as it goes on the wire, for one outbox row."""
    lead, inbox, campaign = send.lead, send.inbox, send.campaign
    assert inbox is not None
    assert send.variant is not None
    unsubscribe_url = unsubscribe.url_in(campaign, lead)
    # The preview renders through the same function: what it shows is what goes out.
    rendered = rendering.render_variant(
        send.variant,
        rendering.lead_variables(lead, inbox),
        seed=rendering.lead_seed(lead, send.variant),
        thread_subject=thread.first_subject or None,
        unsubscribe_url=unsubscribe_url,
        signature=inbox.signature,
    )
    outgoing = OutgoingEmail(
        message_id=send.message_id,
        from_email=inbox.email,
        from_name=inbox.display_name,
        to_email=lead.email,
        to_name=lead.full_name,
        reply_to=inbox.reply_to,
        subject=rendered.subject,
        text=rendered.body_text,
        html=None if campaign.text_only else rendered.body_html,
        date=now,
        in_reply_to=thread.message_ids[-1] if thread.message_ids else "",
        references=thread.message_ids,
        unsubscribe_url=unsubscribe_url or "",
    )
    return rendered.subject, build_message(outgoing)


# --- Recording outcomes ----------------------------------------------------------------------


# Leads that must get nothing more, whatever was planned for them: these flags, and a reply
# when the campaign stops on replies.
STOP_FLAGS = ("is_unsubscribed", "is_bounced", "is_blocklisted")


def _stopped(campaign: Campaign) -> Q:
    stopped = Q()
    for flag in STOP_FLAGS:
        stopped |= Q(**{flag: True})
    if campaign.stop_on_reply:
        stopped |= Q(replied_at__isnull=False)
    return stopped


def _stopped_sql(campaign: Campaign) -> str:
    conditions = list(STOP_FLAGS)
    if campaign.stop_on_reply:
        conditions.append("replied_at IS NOT NULL")
    return " OR ".join(conditions)


def step_delays(campaign_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[int, int]]:
    """Each campaign's steps and their `delay_days`: one query for a batch's campaigns."""
    delays: dict[uuid.UUID, dict[int, int]] = defaultdict(dict)
    for campaign_id, step, delay_days in Step.objects.filter(
        campaign_id__in=set(campaign_ids)
    ).values_list("campaign_id", "step", "delay_days"):
        delays[campaign_id][step] = delay_days
    return delays


@contextmanager
def _outcome_writes() -> Iterator[None]:
    """The transaction that records what became of an email already handed to SMTP.

    On PostgreSQL it commits without waiting for the disk (`synchronous_commit` off): were
    the database to crash and lose it, the row would still be claimed and attempted, so
    it would be recovered as `unknown` and reconciled, never sent again. The write that
    must be durable is the attempt mark before SMTP (`_mark_attempted`); it also flushes
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
    with _outcome_writes():
        if not Send.objects.filter(pk=send.pk, status=from_status).update(**fields):
            return False
        _advance_leads([send], {send.campaign_id: delays}, now)
    return True


def _mark_sent(sent: Sequence[tuple["Prepared", Delivery]], now: datetime) -> None:
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
                When(_stopped(group[0].campaign), then=None),
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
    next_due_sql = (
        "NULL" if next_due is None else f"CASE WHEN {_stopped_sql(campaign)} THEN NULL ELSE %s END"
    )
    params: list[Any] = [Lead.Status.UNCONTACTED.value, Lead.Status.CONTACTED.value, now]
    if step == 1:
        params.append(inbox_id)
    params.append(step + 1)
    if next_due is not None:
        params.append(next_due)
    params += [now, lead_ids]
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Lead._meta.db_table} SET "
            "status = CASE WHEN status = %s THEN %s ELSE status END, last_sent_at = %s, "
            f"thread_inbox_id = {thread}, next_step = %s, next_due_at = {next_due_sql}, "
            "updated_at = %s WHERE id = ANY(%s::uuid[])",
            params,
        )


def record_chunk(
    results: Sequence[tuple["Prepared", Delivery]],
    delays: Mapping[uuid.UUID, Mapping[int, int]],
    now: datetime,
) -> None:
    """What became of a chunk of emails, in one transaction."""
    with _outcome_writes():
        _write_outcomes(results, delays, now)


def _write_outcomes(
    results: Sequence[tuple["Prepared", Delivery]],
    delays: Mapping[uuid.UUID, Mapping[int, int]],
    now: datetime,
) -> None:
    """The sent ones in two or three statements however many they are, the rest (rare)
    one by one. The caller holds the transaction."""
    sent = [(item, delivery) for item, delivery in results if delivery.outcome == SENT]
    if sent:
        _mark_sent(sent, now)
        _advance_leads([item.send for item, _ in sent], delays, now)
    for item, delivery in results:
        if delivery.outcome != SENT:
            record_outcome(item.send, delivery, item.subject, now)


def record_outcome(send: Send, delivery: Delivery, subject: str, now: datetime) -> None:
    """Anything but sent: bounced, failed, retried later, or unknown."""
    fields: dict[str, object] = {
        "subject": subject,
        "smtp_code": delivery.code,
        "smtp_response": delivery.response,
    }
    with _outcome_writes():
        if delivery.outcome == BOUNCED:
            Send.objects.filter(pk=send.pk).update(status=Send.Status.BOUNCED, **fields)
            Lead.objects.filter(pk=send.lead_id).update(
                is_bounced=True, next_due_at=None, updated_at=now
            )
        elif delivery.outcome == DEFERRED:
            retry(send, now, response=delivery.response, code=delivery.code)
        else:
            status = Send.Status.UNKNOWN if delivery.outcome == UNKNOWN else Send.Status.FAILED
            Send.objects.filter(pk=send.pk).update(status=status, **fields)


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


def release(sends: Iterable[Send], now: datetime) -> None:
    """Rows this sender never tried: back in the queue as they were, due now."""
    Send.objects.filter(
        pk__in=[send.pk for send in sends], status=Send.Status.CLAIMED, attempted_at__isnull=True
    ).update(status=Send.Status.SCHEDULED, due_at=now)


def _mark_attempted(sends: Sequence[Send], now: datetime) -> set[uuid.UUID]:
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


def _unattempt(sends: Sequence[Send], now: datetime) -> None:
    """Rows taken for SMTP but never handed to it (the connection broke first): due again."""
    Send.objects.filter(pk__in=[send.pk for send in sends], status=Send.Status.CLAIMED).update(
        status=Send.Status.SCHEDULED, attempted_at=None, due_at=now
    )


# --- Delivering ------------------------------------------------------------------------------


def enqueue_delivery(claims: Sequence[Send]) -> None:
    """One delivery task per inbox, after the claims are committed."""
    from campaigns.tasks import deliver_sends_task

    by_inbox: dict[uuid.UUID | None, list[str]] = defaultdict(list)
    for send in claims:
        by_inbox[send.inbox_id].append(str(send.pk))
    for ids in by_inbox.values():
        transaction.on_commit(partial(deliver_sends_task.delay, ids))


def deliver(send_ids: Sequence[uuid.UUID]) -> PassReport:
    """Deliver these claimed rows (those still claimed and untried), one batch per inbox."""
    sends = list(
        Send.objects.filter(pk__in=send_ids, status=Send.Status.CLAIMED, attempted_at__isnull=True)
        .select_related("lead", "variant")
        .order_by("claimed_at", "pk")
    )
    # Inboxes and campaigns are few: loaded once, not joined into every row (an inbox's
    # secrets would be decrypted again for each of its emails).
    inboxes = Inbox.objects.in_bulk({send.inbox_id for send in sends} - {None})
    campaigns = Campaign.objects.in_bulk({send.campaign_id for send in sends})
    for send in sends:
        send.inbox = inboxes.get(send.inbox_id) if send.inbox_id else None
        send.campaign = campaigns[send.campaign_id]
    return deliver_claimed(sends)


def deliver_claimed(sends: Sequence[Send]) -> PassReport:
    """Deliver rows this process has just claimed, loaded with their lead, variant, inbox and
    campaign (the scheduler's inline pass hands over what it created)."""
    threads = threads_of(sends)
    batches: dict[uuid.UUID, list[Send]] = defaultdict(list)
    report = PassReport()
    for send in sends:
        if send.inbox is None:
            retry(send, timezone.now(), response="the inbox was deleted")
            report.deferred += 1
            continue
        batches[send.inbox.pk].append(send)
    for batch in batches.values():
        report.add(_deliver_batch(batch, threads))
    return report


@dataclass(frozen=True)
class Prepared:
    """An outbox row with its rendered subject and its message, ready for SMTP."""

    send: Send
    subject: str
    data: bytes


def _prepare(
    batch: Sequence[Send], threads: Mapping[uuid.UUID, Thread], now: datetime
) -> tuple[list[Prepared], int]:
    """Render every row of the batch; a row whose content does not render (a malformed tag,
    or an email past a rendered-size cap, never built), or whose headers would not be safe to
    write (a name with a line break stored before names were checked), fails here and the
    others go on."""
    prepared = []
    failed = 0
    for send in batch:
        try:
            subject, data = compose(send, threads.get(send.pk, Thread()), now)
        except (MergeTagError, TooLong) as error:
            Send.objects.filter(pk=send.pk).update(
                status=Send.Status.FAILED, smtp_response=f"could not render: {error}"
            )
            failed += 1
            continue
        except UnsafeHeader as error:
            Send.objects.filter(pk=send.pk).update(
                status=Send.Status.FAILED, smtp_response=f"could not build the message: {error}"
            )
            failed += 1
            continue
        prepared.append(Prepared(send, subject, data))
    return prepared, failed


def _deliver_batch(batch: list[Send], threads: dict[uuid.UUID, Thread]) -> PassReport:
    """One inbox's claimed rows over one SMTP session, a chunk at a time.

    Each chunk is taken for SMTP in one durable commit before its first email goes, and
    its outcomes are recorded in one transaction after its last: the database costs a
    few statements per chunk, not per email. A crash mid-chunk leaves at most a chunk of
    rows `unknown` (reconciled, never resent).
    """
    inbox = batch[0].inbox
    assert inbox is not None
    delays = step_delays(send.campaign_id for send in batch)
    prepared, render_failures = _prepare(batch, threads, timezone.now())
    report = PassReport(failed=render_failures)
    filed: list[bytes] = []
    chunk_size = settings.SEND_ATTEMPT_CHUNK
    timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
    done: list[tuple[Prepared, Delivery]] = []  # the last chunk's outcomes, not yet written
    bounced_in: set[uuid.UUID] = set()
    try:
        with connection.smtp_session(inbox.smtp_settings(), timeout=timeout) as client:
            for start in range(0, len(prepared), chunk_size):
                chunk = prepared[start : start + chunk_size]
                # One durable commit: the previous chunk's outcomes, and this chunk taken.
                with transaction.atomic():
                    _write_outcomes(done, delays, timezone.now())
                    taken = _mark_attempted([item.send for item in chunk], timezone.now())
                done = []
                for item in chunk:
                    if item.send.pk not in taken:
                        continue  # another sender has it
                    delivery = transmit(
                        client, sender=inbox.email, recipient=item.send.to_email, data=item.data
                    )
                    done.append((item, delivery))
                    _count(report, delivery)
                    if delivery.outcome == SENT:
                        filed.append(item.data)
                    elif delivery.outcome == BOUNCED:
                        bounced_in.add(item.send.campaign_id)
                    if delivery.connection_lost:
                        break
                if done and done[-1][1].connection_lost:
                    tried = {item.send.pk for item, _ in done}
                    now = timezone.now()
                    record_chunk(done, delays, now)
                    done = []
                    _unattempt([item.send for item in chunk if item.send.pk in taken - tried], now)
                    release([item.send for item in prepared[start + chunk_size :]], now)
                    break
            record_chunk(done, delays, timezone.now())
    except ConnectionCheckFailed as failure:
        now = timezone.now()
        untried = Send.objects.filter(
            pk__in=[send.pk for send in batch],
            status=Send.Status.CLAIMED,
            attempted_at__isnull=True,
        )
        if failure.authentication:
            # The credentials no longer work: the inbox stops sending until someone fixes
            # it; its rows wait, without using up their retries.
            inbox_mark_error(inbox=inbox, error=failure.message)
            release(list(untried), now)
        else:
            for send in untried:
                retry(send, now, response=failure.message)
        report.deferred += len(prepared)
        logger.warning(
            "SMTP session failed", extra={"inbox": str(inbox.pk), "error": failure.message}
        )
    if filed and _files_own_sent(inbox):
        file_in_sent(inbox, filed)
    # A campaign's bounce rate only rises with a bounce: count only for those that had one.
    for campaign_id in bounced_in:
        check_bounce_rate(campaign_id)
    return report


def _count(report: PassReport, delivery: Delivery) -> None:
    if delivery.outcome == SENT:
        report.sent += 1
    elif delivery.outcome == DEFERRED:
        report.deferred += 1
    elif delivery.outcome in (BOUNCED, FAILED):
        report.failed += 1


def _files_own_sent(inbox: Inbox) -> bool:
    """Gmail and Microsoft 365 file what goes through their SMTP; other servers do not."""
    return inbox.provider == Inbox.Provider.OTHER and bool(inbox.imap_host)


def file_in_sent(inbox: Inbox, messages: Sequence[bytes]) -> None:
    """Append sent messages to the inbox's Sent folder, so the mailbox shows them."""
    folder = inbox.sent_folder or "Sent"
    timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
    try:
        with connection.imap_session(inbox.imap_settings(), timeout=timeout) as client:
            for raw in messages:
                client.append(folder, raw, flags=[b"\\Seen"])
    except (ConnectionCheckFailed, IMAPClientError, OSError) as error:
        logger.warning(
            "could not file sent mail", extra={"inbox": str(inbox.pk), "error": str(error)}
        )


# --- After sending ----------------------------------------------------------------------------

PROGRESS_REFRESH_SECONDS = 300


def check_bounce_rate(campaign_id: uuid.UUID) -> None:
    """Bounce protection: pause an active campaign whose bounces pass the threshold."""
    sends = Send.objects.filter(
        campaign_id=campaign_id, status__in=(Send.Status.SENT, Send.Status.BOUNCED)
    )
    total = sends.count()
    if total < settings.BOUNCE_PAUSE_MIN_SENDS:
        return
    bounced = sends.filter(status=Send.Status.BOUNCED).count()
    if bounced * 100 <= settings.BOUNCE_PAUSE_PERCENT * total:
        return
    reason = (
        f"Paused automatically: {bounced} of {total} emails bounced "
        f"({bounced * 100 / total:.1f} %, above {settings.BOUNCE_PAUSE_PERCENT} %). "
        "Clean the lead list, then resume."
    )
    paused = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.ACTIVE).update(
        status=Campaign.Status.PAUSED, paused_reason=reason, updated_at=timezone.now()
    )
    if paused:
        logger.warning("campaign paused for bounces", extra={"campaign": str(campaign_id)})


def refresh_progress(campaign_id: uuid.UUID, *, force: bool = False) -> None:
    """Recount the campaign's cached `progress`, at most every few minutes (it reads every lead)."""
    key = f"campaign-progress:{campaign_id}"
    if not force and not cache.add(key, 1, timeout=PROGRESS_REFRESH_SECONDS):
        return
    Campaign.objects.filter(pk=campaign_id).update(progress=campaign_progress(campaign_id))


def campaign_progress(campaign_id: uuid.UUID) -> int:
    """Percent of the campaign's leads that will get no more email (finished or stopped)."""
    leads = Lead.objects.filter(campaign_id=campaign_id)
    total = leads.count()
    if not total:
        return 0
    in_flight = Send.objects.filter(
        campaign_id=campaign_id,
        status__in=(Send.Status.CLAIMED, Send.Status.SCHEDULED, Send.Status.UNKNOWN),
    ).values("lead_id")
    done = leads.filter(next_due_at__isnull=True).exclude(pk__in=in_flight).count()
    return min(100, done * 100 // total)
