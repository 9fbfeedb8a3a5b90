"""Delivering claimed outbox rows over their inbox's SMTP server, one session per inbox.

For each inbox, one SMTP connection carries the whole batch:

1. Compose every row (campaigns/sending/compose.py); a row that does not render fails here
   and the others go on.
2. A chunk at a time (SEND_ATTEMPT_CHUNK rows): mark the rows attempted with one
   conditional UPDATE, committed to disk (`outbox.mark_attempted`); rows someone else
   already took (a duplicated task) are left alone. From here on, a crash leaves a row
   `unknown`, never resent.
3. MAIL, RCPT, DATA for each (campaigns/sending/smtp.py).
4. Record the chunk's outcomes and move its leads along their sequence, in one
   transaction (`outbox.record_chunk`).

A refused login puts the inbox in `error` and its rows back to wait; other connection
failures are retried like a 4xx. Servers that do not file sent mail themselves (provider
`other`) get a copy appended to their Sent folder over IMAP. A campaign that had a bounce
has its bounce rate checked (campaigns/sending/protection.py).
"""

import logging
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from imapclient.exceptions import IMAPClientError

from campaigns.content.merge_tags import MergeTagError, TooLong
from campaigns.content.message import OutgoingEmail, UnsafeHeader, build_message
from campaigns.models import Campaign, Send
from campaigns.sending import compose, outbox, protection, smtp
from campaigns.sending.compose import Thread
from campaigns.sending.outbox import Prepared
from campaigns.sending.rules import Delivery, Outcome
from inboxes import connection
from inboxes.connection import ConnectionCheckFailed
from inboxes.models import Inbox
from inboxes.services import inbox_mark_error

logger = logging.getLogger("reachkit.sender")

# Hands a batch's row ids to a worker (tasks.py passes one that enqueues a Celery task).
DeliverLater = Callable[[list[str]], object]


@dataclass
class PassReport:
    """What a pass did. `deferred`: emails put back to be tried later (SMTP 4xx, no connection)."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0

    def add(self, other: "PassReport") -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.deferred += other.deferred

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "deferred": self.deferred}


def enqueue(claims: Sequence[Send], deliver_later: DeliverLater) -> None:
    """One delivery per inbox, handed over after the claims are committed."""
    by_inbox: dict[uuid.UUID | None, list[str]] = defaultdict(list)
    for send in claims:
        by_inbox[send.inbox_id].append(str(send.pk))
    for ids in by_inbox.values():
        transaction.on_commit(partial(deliver_later, ids))


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
    threads = compose.threads_of(sends)
    batches: dict[uuid.UUID, list[Send]] = defaultdict(list)
    report = PassReport()
    for send in sends:
        if send.inbox is None:
            outbox.retry(send, timezone.now(), response="the inbox was deleted")
            report.deferred += 1
            continue
        batches[send.inbox.pk].append(send)
    for batch in batches.values():
        report.add(_deliver_batch(batch, threads))
    return report


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
            subject, data = compose.message_of(send, threads.get(send.pk, Thread()), now)
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
    delays = outbox.step_delays(send.campaign_id for send in batch)
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
                    outbox.write_outcomes(done, delays, timezone.now())
                    taken = outbox.mark_attempted([item.send for item in chunk], timezone.now())
                done = []
                for item in chunk:
                    if item.send.pk not in taken:
                        continue  # another sender has it
                    delivery = smtp.transmit(
                        client, sender=inbox.email, recipient=item.send.to_email, data=item.data
                    )
                    done.append((item, delivery))
                    _count(report, delivery)
                    if delivery.outcome == Outcome.SENT:
                        filed.append(item.data)
                    elif delivery.outcome == Outcome.BOUNCED:
                        bounced_in.add(item.send.campaign_id)
                    if delivery.connection_lost:
                        break
                if done and done[-1][1].connection_lost:
                    tried = {item.send.pk for item, _ in done}
                    now = timezone.now()
                    outbox.record_chunk(done, delays, now)
                    done = []
                    outbox.unattempt(
                        [item.send for item in chunk if item.send.pk in taken - tried], now
                    )
                    outbox.release([item.send for item in prepared[start + chunk_size :]], now)
                    break
            outbox.record_chunk(done, delays, timezone.now())
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
            outbox.release(list(untried), now)
        else:
            for send in untried:
                outbox.retry(send, now, response=failure.message)
        report.deferred += len(prepared)
        logger.warning(
            "SMTP session failed", extra={"inbox": str(inbox.pk), "error": failure.message}
        )
    if filed and _files_own_sent(inbox):
        file_in_sent(inbox, filed)
    # A campaign's bounce rate only rises with a bounce: count only for those that had one.
    for campaign_id in bounced_in:
        protection.check_bounce_rate(campaign_id)
    return report


def _count(report: PassReport, delivery: Delivery) -> None:
    if delivery.outcome == Outcome.SENT:
        report.sent += 1
    elif delivery.outcome == Outcome.DEFERRED:
        report.deferred += 1
    elif delivery.outcome in (Outcome.BOUNCED, Outcome.FAILED):
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


# --- One email outside the campaigns: the unified inbox's replies and new threads -----------


class Undelivered(Exception):
    """The server refused the email, or could not be reached: nothing was sent.

    `reason` is what the person who wrote it reads (the server's reply, or the failure).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _refused_text(refusals: Mapping[str, tuple[int, bytes | str]]) -> str:
    return "; ".join(f"{address}: {smtp.reply_text(*reply)}" for address, reply in refusals.items())


def deliver_one(
    inbox: Inbox, email: OutgoingEmail, recipients: Sequence[str]
) -> tuple[bytes, dict[str, str]]:
    """Build `email` and send it to `recipients` over the inbox's SMTP server, now, then file
    it in the inbox's Sent folder as campaign emails are.

    The same guards as campaign email: the headers are checked (UnsafeHeader), the server
    is reached through the inbox connection's SSRF-guarded connect. Returns the bytes sent
    and the recipients the server refused while taking it for the others. Raises
    Undelivered when it went to no one (a refused login puts the inbox in `error`, as the
    sender does).
    """
    data = build_message(email)
    timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
    try:
        with connection.smtp_session(inbox.smtp_settings(), timeout=timeout) as client:
            refused = client.sendmail(inbox.email, list(recipients), data)
    except ConnectionCheckFailed as failure:
        if failure.authentication:
            inbox_mark_error(inbox=inbox, error=failure.message)
        raise Undelivered(failure.message) from failure
    except smtplib.SMTPRecipientsRefused as error:
        refusals = _refused_text(error.recipients)
        raise Undelivered(f"every recipient was refused: {refusals}") from error
    except smtplib.SMTPResponseException as error:
        raise Undelivered(smtp.reply_text(error.smtp_code, error.smtp_error)) from error
    except (smtplib.SMTPException, OSError) as error:
        raise Undelivered(f"the connection failed: {error}") from error
    if refused:
        logger.warning(
            "some recipients were refused",
            extra={"inbox": str(inbox.pk), "error": _refused_text(refused)},
        )
    if _files_own_sent(inbox):
        file_in_sent(inbox, [data])
    return data, {address: smtp.reply_text(*reply) for address, reply in refused.items()}
