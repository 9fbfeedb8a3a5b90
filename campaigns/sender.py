"""The sender: renders claimed outbox rows and delivers them over the inbox's SMTP server.

For each inbox, one SMTP connection carries the whole batch. For each row:

1. Render it (merge tags, signature, unsubscribe link) and build the MIME message; its
   Message-ID comes from the row, so a retry sends the same message.
2. Mark the row attempted with a conditional UPDATE: a row someone else already took
   (a duplicated task) is left alone. From here on, a crash leaves the row `unknown`.
3. MAIL, RCPT, DATA. 250 → `sent`; 4xx → `scheduled` again with backoff (the row's
   `due_at` moves); 5xx on RCPT (or a 5.1.x after DATA) → `bounced` and the lead
   `is_bounced`; other 5xx → `failed`; the connection lost after DATA → `unknown`.
4. Record the outcome and move the lead along its sequence, in one transaction.

A refused login puts the inbox in `error` and its rows back to wait; other connection
failures are retried like a 4xx. Servers that do not file sent mail themselves (provider
`other`) get a copy appended to their Sent folder over IMAP.
"""

import logging
import random
import re
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone
from imapclient.exceptions import IMAPClientError

from campaigns import html_body, rendering, unsubscribe
from campaigns.merge_tags import MergeTagError
from campaigns.message import OutgoingEmail, build_message
from campaigns.models import Campaign, Send
from campaigns.models import Sequence as Step
from campaigns.scheduler import PassReport
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


def compose(send: Send, thread: Thread, now: datetime) -> tuple[str, EmailMessage]:
    """The rendered subject and the message for one outbox row."""
    lead, inbox, campaign = send.lead, send.inbox, send.campaign
    assert inbox is not None
    assert send.variant is not None
    unsubscribe_url = unsubscribe.url_for(lead) if campaign.unsubscribe_option else None
    rendered = rendering.render_variant(
        send.variant,
        rendering.lead_variables(lead, inbox),
        seed=rendering.lead_seed(lead, send.variant),
        thread_subject=thread.first_subject or None,
        unsubscribe_url=unsubscribe_url,
    )
    # Values a lead brings (a website in an href) pass the same sanitiser as the template.
    html = html_body.normalize_html(rendered.body_html)
    text = rendered.body_text
    if inbox.signature.strip():
        signature = html_body.normalize_html(inbox.signature.replace("\n", "<br>"))
        html = f"{html}<br><br>{signature}"
        text = f"{text}\n\n{html_body.html_to_text(signature)}"
    outgoing = OutgoingEmail(
        message_id=send.message_id,
        from_email=inbox.email,
        from_name=inbox.display_name,
        to_email=lead.email,
        to_name=lead.full_name,
        reply_to=inbox.reply_to,
        subject=rendered.subject,
        text=text,
        html=None if campaign.text_only else html,
        date=now,
        in_reply_to=thread.message_ids[-1] if thread.message_ids else "",
        references=thread.message_ids,
        unsubscribe_url=unsubscribe_url or "",
    )
    return rendered.subject, build_message(outgoing)


# --- Recording outcomes ----------------------------------------------------------------------


def _stopped(campaign: Campaign) -> Q:
    """Leads that must get nothing more, whatever was planned for them."""
    stopped = Q(is_unsubscribed=True) | Q(is_bounced=True) | Q(is_blocklisted=True)
    if campaign.stop_on_reply:
        stopped |= Q(replied_at__isnull=False)
    return stopped


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
    """The email left: the row is `sent`, the lead `contacted` and due for its next step.

    Only a row still in `from_status` moves (a stale-claim recovery may have taken it);
    returns whether it did. `delays`: the campaign's steps and their `delay_days`, when
    the caller has them (a batch looks them up once).
    """
    if delays is None:
        delays = step_delays([send.campaign_id])[send.campaign_id]
    has_next = send.step + 1 in delays
    next_due = now + timedelta(days=delays.get(send.step, 0)) if has_next else None
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
        Lead.objects.filter(pk=send.lead_id).update(
            status=Case(
                When(status=Lead.Status.UNCONTACTED, then=Value(Lead.Status.CONTACTED)),
                default=F("status"),
            ),
            last_sent_at=now,
            thread_inbox_id=send.inbox_id if send.step == 1 else F("thread_inbox_id"),
            next_step=send.step + 1,
            next_due_at=None
            if next_due is None
            else Case(
                When(_stopped(send.campaign), then=None),
                default=Value(next_due, output_field=DateTimeField()),
            ),
            updated_at=now,
        )
    return True


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


def _mark_attempted(send: Send, now: datetime) -> bool:
    return bool(
        Send.objects.filter(
            pk=send.pk, status=Send.Status.CLAIMED, attempted_at__isnull=True
        ).update(attempted_at=now)
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
        .select_related("campaign", "lead", "variant", "inbox")
        .order_by("claimed_at", "pk")
    )
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


def _deliver_batch(batch: list[Send], threads: dict[uuid.UUID, Thread]) -> PassReport:
    inbox = batch[0].inbox
    assert inbox is not None
    report = PassReport()
    filed: list[bytes] = []
    delays = step_delays(send.campaign_id for send in batch)
    timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
    try:
        with connection.smtp_session(inbox.smtp_settings(), timeout=timeout) as client:
            for position, send in enumerate(batch):
                now = timezone.now()
                try:
                    subject, message = compose(send, threads.get(send.pk, Thread()), now)
                except MergeTagError as error:
                    Send.objects.filter(pk=send.pk).update(
                        status=Send.Status.FAILED, smtp_response=f"could not render: {error}"
                    )
                    report.failed += 1
                    continue
                if not _mark_attempted(send, now):
                    continue  # another sender has it
                data = message.as_bytes()
                delivery = transmit(client, sender=inbox.email, recipient=send.to_email, data=data)
                _count(report, delivery)
                if delivery.outcome == SENT:
                    record_sent(
                        send,
                        code=delivery.code,
                        response=delivery.response,
                        subject=subject,
                        now=now,
                        delays=delays[send.campaign_id],
                    )
                    filed.append(data)
                else:
                    record_outcome(send, delivery, subject, now)
                if delivery.connection_lost:
                    release(batch[position + 1 :], timezone.now())
                    break
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
        report.deferred += len(batch)
        logger.warning(
            "SMTP session failed", extra={"inbox": str(inbox.pk), "error": failure.message}
        )
    if filed and _files_own_sent(inbox):
        file_in_sent(inbox, filed)
    for campaign_id in {send.campaign_id for send in batch}:
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
