"""Warmup's passes: plan and send (SMTP), then read, rescue and answer (IMAP).

Sending (`warmup_send_pass`, beat every minute):

1. Recover: a row claimed by a worker that died before SMTP goes back to wait; one that
   died during SMTP becomes `unknown` (never resent; the recipient's side marks it sent if
   it arrives). An email still waiting a day after its time is dropped (`failed`).
2. Plan: each active inbox of the pool gets today's first emails (its ramp's target,
   inboxes/warmup.py), as rows numbered 1…target for the day, each due at a random time
   of the rest of the day, to rotating partners. The unique (sender, day, number) makes
   planning exactly once, whatever runs at once.
3. Claim, in one transaction: the senders of due rows take their pace rows
   (inboxes/pace.py: the gap and lock campaign mail shares); each ready sender claims one
   due row (or all, with no gap), new emails within today's target (`pace.warmup_room`);
   their next email is pushed a gap on. New emails go from inboxes that warm now, replies
   from any inbox of the pool.
4. Deliver, one SMTP session per sender: each row is marked attempted (committed) before
   its MAIL FROM, then sent, retried later (4xx, no connection), failed (5xx) or unknown.

Receiving (`warmup_receive_pass`, beat every five minutes), for each inbox of the pool
that has warmup mail on its way, over one IMAP session: find warmup emails by the
installation's token in INBOX, then in Junk; match them to their rows by Message-ID; one
in Junk is recorded as a spam placement, marked read (and flagged, for a share) and moved
to INBOX (`saved_from_spam`); one in INBOX is marked read (and flagged). A share of first
emails is answered: a reply row, sent by the send pass in the same thread. Warmup emails
received more than REACHKIT_WARMUP_KEEP_DAYS ago are deleted. Each step is a conditional
UPDATE on the row, so a replayed or concurrent pass counts nothing twice.

Every connection goes through inboxes/connection.py: hosts are resolved once and private
or loopback addresses refused unless REACHKIT_INBOX_ALLOWED_NETWORKS allows them.
"""

import contextlib
import email.parser
import email.policy
import logging
import random
import smtplib
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from inboxes import connection, pace, warmup, warmup_mail
from inboxes.connection import ConnectionCheckFailed
from inboxes.models import Inbox, WarmupEmail, WarmupState
from inboxes.services import inbox_mark_error
from inboxes.smtp_transaction import Ending, send_one
from inboxes.warmup import WarmupStatus
from inboxes.warmup_marks import WARMUP_HEADER, warmup_token

logger = logging.getLogger("reachkit.warmup")

Status = WarmupEmail.Status

# A claim not attempted, or an attempt without an outcome, after this long was lost.
CLAIM_LEASE = timedelta(minutes=15)
# A first email that could not go on its day is dropped after this: tomorrow has its own.
EXPIRE_AFTER = timedelta(days=1)
# Temporary failures are tried again after these waits, then the row fails.
RETRY_DELAYS = (timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=2))
# Rows claimed per pass (the pass runs every minute; each sender takes one per gap).
CLAIM_BATCH = 500
# A receive pass holds a mailbox this long at most (a dead worker's hold then lapses); the
# task's hard limit is shorter.
RECEIVE_LEASE = timedelta(minutes=10)
# A receive pass starts no new mailbox after this (the task's soft limit is 240 s).
RECEIVE_PASS_SECONDS = 180
# Rows are kept this long (the stats read 7 days), then pruned, PRUNE_BATCH a pass.
ROWS_KEPT = timedelta(days=30)
PRUNE_BATCH = 2000
# A reply goes this long after the email it answers was read (a person's pace).
REPLY_DELAY_SECONDS = (120, 1800)


@dataclass
class WarmupReport:
    planned: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    received: int = 0
    saved_from_spam: int = 0
    replies_planned: int = 0
    archived: int = 0

    def add(self, other: "WarmupReport") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --- Sending -------------------------------------------------------------------------------


def warmup_send_pass(now: datetime | None = None) -> WarmupReport:
    """Recover lost claims, plan today's emails, claim what is due and send it."""
    now = now or timezone.now()
    report = WarmupReport()
    recover(now)
    report.planned = plan(now)
    report.add(deliver(claim(now)))
    return report


def recover(now: datetime) -> None:
    stale = now - CLAIM_LEASE
    WarmupEmail.objects.filter(
        status=Status.CLAIMED, attempted_at__isnull=True, claimed_at__lt=stale
    ).update(status=Status.SCHEDULED)
    WarmupEmail.objects.filter(
        status=Status.CLAIMED, attempted_at__isnull=False, attempted_at__lt=stale
    ).update(status=Status.UNKNOWN, smtp_response="the connection was lost while sending")
    WarmupEmail.objects.filter(status=Status.SCHEDULED, due_at__lt=now - EXPIRE_AFTER).update(
        status=Status.FAILED, smtp_response="expired: not sent on its day"
    )


def _active_members(now: datetime) -> tuple[list[Inbox], list[Inbox]]:
    """The pool (every warming, usable inbox) and those of them that warm now (not paused)."""
    members = list(warmup.pool())
    health = warmup.health_of([inbox.pk for inbox in members], now)
    active = [
        inbox
        for inbox in members
        if warmup.status_of(inbox, health[inbox.pk])[0] == WarmupStatus.ACTIVE
    ]
    return members, active


def plan(now: datetime) -> int:
    """Create today's first emails for every active inbox of the pool; how many were new."""
    today = now.astimezone(UTC).date()
    members, active = _active_members(now)
    states = WarmupState.objects.in_bulk([inbox.pk for inbox in active])
    # How many of today's first emails each has: one grouped query, so a pass over a pool
    # whose day is planned costs a few queries, however big the pool.
    counts = dict(
        WarmupEmail.objects.filter(
            sender_id__in=[inbox.pk for inbox in active], day=today, kind=WarmupEmail.Kind.FIRST
        )
        .values("sender_id")
        .annotate(n=Count("pk"))
        .values_list("sender_id", "n")
        .order_by()
    )
    day_end = warmup.day_start(now) + timedelta(days=1)
    # Spread over what is left of the day, at random moments (a person's rhythm).
    room = max((day_end - now).total_seconds() * 0.95, 1.0)
    advancing: dict[int, list[uuid.UUID]] = defaultdict(list)
    rows: list[WarmupEmail] = []
    for inbox in active:
        state = states.get(inbox.pk)
        day_number = warmup.ramp_day(state, today)
        target = warmup.target_on(day_number, inbox.daily_warmup_limit)
        warmed_today = state is not None and state.last_warmed_on == today
        if warmed_today and counts.get(inbox.pk, 0) >= target:
            continue  # its day is planned
        partners = warmup.partners_of(inbox, members)
        if not partners:
            continue
        if not warmed_today:
            advancing[day_number].append(inbox.pk)
        if counts.get(inbox.pk, 0) >= target:
            continue
        numbers: set[int] = set()
        if counts.get(inbox.pk):
            numbers = set(
                WarmupEmail.objects.filter(
                    sender=inbox, day=today, kind=WarmupEmail.Kind.FIRST
                ).values_list("seq", flat=True)
            )
        missing = [seq for seq in range(1, target + 1) if seq not in numbers]
        recipients = warmup.recipients_for(inbox.pk, partners, today, target)
        moments = sorted(now + timedelta(seconds=random.uniform(0, room)) for _ in missing)
        for seq, due_at in zip(missing, moments, strict=True):
            row_id = uuid.uuid4()
            rows.append(
                WarmupEmail(
                    id=row_id,
                    sender=inbox,
                    recipient=recipients[seq - 1],
                    kind=WarmupEmail.Kind.FIRST,
                    day=today,
                    seq=seq,
                    message_id=warmup_mail.new_message_id(row_id, inbox),
                    subject=warmup_mail.subject_for(row_id),
                    due_at=due_at,
                )
            )
    _advance_ramps(advancing, today)
    if not rows:
        return 0
    WarmupEmail.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    # Those of ours that were kept: a concurrent pass may have numbered some first.
    ids = [row.pk for row in rows]
    return sum(
        WarmupEmail.objects.filter(pk__in=ids[start : start + 1000]).count()
        for start in range(0, len(ids), 1000)
    )


def _advance_ramps(advancing: dict[int, list[uuid.UUID]], today: date) -> None:
    """Record that these inboxes warm today, on these days of their ramps (once a day,
    whoever asks)."""
    every = sorted(inbox_id for ids in advancing.values() for inbox_id in ids)
    if not every:
        return
    WarmupState.objects.bulk_create(
        [WarmupState(inbox_id=inbox_id) for inbox_id in every], ignore_conflicts=True
    )
    for day_number, ids in advancing.items():
        WarmupState.objects.filter(pk__in=ids).exclude(last_warmed_on=today).update(
            ramp_days=day_number, last_warmed_on=today
        )


def claim(now: datetime) -> list[WarmupEmail]:
    """Claim due rows, one per ready sender (all of them when sends are not spaced)."""
    today = now.astimezone(UTC).date()
    with transaction.atomic():
        due = list(
            WarmupEmail.objects.filter(
                status=Status.SCHEDULED,
                due_at__lte=now,
                # Rows of inboxes out of the pool wait (or expire) without taking places.
                sender__is_warming=True,
                sender__is_active=True,
                sender__connection_status=Inbox.ConnectionStatus.CONNECTED,
            )
            .order_by("due_at", "pk")
            .values_list("pk", "sender_id", "kind")[:CLAIM_BATCH]
        )
        if not due:
            return []
        # New emails from inboxes that warm now; replies from any inbox of the pool (one
        # paused for its health still answers what it receives).
        members, active = _active_members(now)
        active_by_id = {inbox.pk: inbox for inbox in active}
        member_ids = {inbox.pk for inbox in members}
        senders = {
            sender_id
            for _, sender_id, kind in due
            if sender_id in active_by_id
            or (kind == WarmupEmail.Kind.REPLY and sender_id in member_ids)
        }
        ready = set(pace.lock_ready(senders, now))
        if not ready:
            return []
        # Read again under the locks: a pass that began earlier may have claimed some of
        # these rows and committed while this one waited for them; those are its own.
        still_due = set(
            WarmupEmail.objects.filter(
                pk__in=[pk for pk, sender_id, _ in due if sender_id in ready],
                status=Status.SCHEDULED,
            ).values_list("pk", flat=True)
        )
        due = [row for row in due if row[0] in still_due]
        sent_today = dict(
            WarmupEmail.objects.filter(
                sender_id__in=ready,
                kind=WarmupEmail.Kind.FIRST,
                claimed_at__gte=warmup.day_start(now),
            )
            .values("sender_id")
            .annotate(n=Count("pk"))
            .values_list("sender_id", "n")
            .order_by()
        )
        states = WarmupState.objects.in_bulk(list(ready))
        room = dict.fromkeys(ready, 0) | {
            sender_id: pace.warmup_room(
                warmup.target_on(
                    warmup.ramp_day(states.get(sender_id), today),
                    active_by_id[sender_id].daily_warmup_limit,
                ),
                sent_today.get(sender_id, 0),
            )
            for sender_id in ready
            if sender_id in active_by_id
        }
        taken: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for pk, sender_id, kind in due:
            if sender_id not in ready or (pace.spaced() and taken[sender_id]):
                continue
            if kind == WarmupEmail.Kind.FIRST:
                if room[sender_id] <= 0:
                    continue
                room[sender_id] -= 1
            taken[sender_id].append(pk)
        ids = [pk for pks in taken.values() for pk in pks]
        WarmupEmail.objects.filter(pk__in=ids, status=Status.SCHEDULED).update(
            status=Status.CLAIMED, claimed_at=now, attempted_at=None, attempts=F("attempts") + 1
        )
        pace.push([sender_id for sender_id, pks in taken.items() if pks], now)
    return list(
        WarmupEmail.objects.filter(pk__in=ids, status=Status.CLAIMED, attempted_at__isnull=True)
        .select_related("sender", "recipient", "parent")
        .order_by("sender_id", "due_at")
    )


class Outcome(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    UNKNOWN = "unknown"


def deliver(rows: Sequence[WarmupEmail]) -> WarmupReport:
    """Send claimed rows, one SMTP session per sender."""
    report = WarmupReport()
    by_sender: dict[uuid.UUID, list[WarmupEmail]] = defaultdict(list)
    for row in rows:
        by_sender[row.sender_id].append(row)
    for batch in by_sender.values():
        report.add(_deliver_batch(batch))
    return report


def _deliver_batch(batch: list[WarmupEmail]) -> WarmupReport:
    report = WarmupReport()
    sender = batch[0].sender
    timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
    not_tried = "not tried: the SMTP connection was lost"
    sent: list[bytes] = []
    try:
        with connection.smtp_session(sender.smtp_settings(), timeout=timeout) as client:
            for row in batch:
                now = timezone.now()
                attempted = WarmupEmail.objects.filter(
                    pk=row.pk, status=Status.CLAIMED, attempted_at__isnull=True
                ).update(attempted_at=now)
                if not attempted:
                    continue  # another worker has it
                data = warmup_mail.compose(
                    row, sender=sender, recipient=row.recipient, parent=row.parent, now=now
                )
                outcome, response = _transmit(client, sender.email, row.recipient.email, data)
                _record(row, outcome, response, timezone.now())
                if outcome == Outcome.SENT:
                    sent.append(data)
                setattr(report, _COUNTER[outcome], getattr(report, _COUNTER[outcome]) + 1)
                if outcome == Outcome.UNKNOWN or response.startswith("connection lost"):
                    break
    except ConnectionCheckFailed as failure:
        not_tried = failure.message
        if failure.authentication:
            inbox_mark_error(inbox=sender, error=failure.message)
        logger.warning(
            "warmup SMTP session failed", extra={"inbox": str(sender.pk), "error": failure.message}
        )
    # Rows of the batch not tried (a failed login, a lost connection) wait for a later pass.
    untried = WarmupEmail.objects.filter(
        pk__in=[row.pk for row in batch], status=Status.CLAIMED, attempted_at__isnull=True
    )
    for row in untried:
        _record(row, Outcome.DEFERRED, not_tried, timezone.now())
        report.deferred += 1
    if sent and sender.provider == Inbox.Provider.OTHER and sender.imap_host:
        _file_in_sent(sender, sent)
    return report


def _file_in_sent(inbox: Inbox, messages: list[bytes]) -> None:
    """Servers other than Gmail and Microsoft 365 do not file what goes through their SMTP:
    a copy goes to Sent, as a person's mail client would put it (as campaign mail does)."""
    timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
    try:
        with connection.imap_session(inbox.imap_settings(), timeout=timeout) as client:
            for raw in messages:
                client.append(inbox.sent_folder or "Sent", raw, flags=[b"\\Seen"])
    except (ConnectionCheckFailed, IMAPClientError, OSError) as error:
        logger.warning(
            "could not file warmup mail in Sent",
            extra={"inbox": str(inbox.pk), "error": type(error).__name__},
        )


_COUNTER = {
    Outcome.SENT: "sent",
    Outcome.DEFERRED: "deferred",
    Outcome.FAILED: "failed",
    Outcome.UNKNOWN: "failed",
}


def _transmit(
    client: smtplib.SMTP, sender: str, recipient: str, data: bytes
) -> tuple[Outcome, str]:
    """One SMTP transaction: lost before the body is a retry; after it, it may have gone."""
    done = send_one(client, sender=sender, recipient=recipient, data=data)
    if done.ending == Ending.ACCEPTED:
        return Outcome.SENT, done.response
    if done.ending == Ending.LOST_AFTER_DATA:
        return Outcome.UNKNOWN, done.response
    temporary = done.ending == Ending.LOST_BEFORE_DATA or 400 <= (done.code or 0) < 500
    return (Outcome.DEFERRED if temporary else Outcome.FAILED), done.response


def _record(row: WarmupEmail, outcome: Outcome, response: str, now: datetime) -> None:
    mine = WarmupEmail.objects.filter(pk=row.pk, status=Status.CLAIMED)
    if outcome == Outcome.SENT:
        mine.update(status=Status.SENT, sent_at=now, smtp_response=response)
    elif outcome == Outcome.UNKNOWN:
        mine.update(status=Status.UNKNOWN, smtp_response=response)
    elif outcome == Outcome.DEFERRED and row.attempts <= len(RETRY_DELAYS):
        mine.update(
            status=Status.SCHEDULED,
            due_at=now + RETRY_DELAYS[max(row.attempts, 1) - 1],
            attempted_at=None,
            smtp_response=response,
        )
    else:
        mine.update(status=Status.FAILED, smtp_response=response)


# --- Receiving -----------------------------------------------------------------------------


def warmup_receive_pass(now: datetime | None = None) -> WarmupReport:
    """Read every pool inbox that has warmup mail on its way or due for clean-up, in a
    random order and until RECEIVE_PASS_SECONDS have gone (a dead server costs its timeouts,
    and must not keep the others from their turn); then drop rows past ROWS_KEPT_DAYS."""
    now = now or timezone.now()
    report = WarmupReport()
    cutoff = warmup.day_start(now) - timedelta(days=settings.WARMUP_KEEP_DAYS - 1)
    # Emails not found within the keep days are not looked for any more (lost on the way).
    waiting = WarmupEmail.objects.filter(received_at__isnull=True).filter(
        Q(status=Status.SENT, sent_at__gte=cutoff)
        | Q(status=Status.UNKNOWN, attempted_at__gte=cutoff)
    )
    to_archive = WarmupEmail.objects.filter(received_at__lt=cutoff, archived_at__isnull=True)
    recipient_ids = {
        *waiting.values_list("recipient_id", flat=True).distinct(),
        *to_archive.values_list("recipient_id", flat=True).distinct(),
    }
    inboxes = list(Inbox.objects.filter(warmup.pool_q(), pk__in=recipient_ids))
    random.shuffle(inboxes)
    ends = time.monotonic() + RECEIVE_PASS_SECONDS
    for inbox in inboxes:
        if time.monotonic() > ends:
            break  # the next pass goes on
        report.add(receive_inbox(inbox, now, cutoff))
    prune(now)
    return report


def prune(now: datetime) -> int:
    """Delete warmup rows older than ROWS_KEPT_DAYS (the stats read 7 days), a batch a pass."""
    old = WarmupEmail.objects.filter(day__lt=now.astimezone(UTC).date() - ROWS_KEPT)
    ids = list(old.filter(parent__isnull=True).values_list("pk", flat=True)[:PRUNE_BATCH])
    if not ids:
        return 0
    deleted, _ = WarmupEmail.objects.filter(pk__in=ids).delete()  # their replies with them
    return deleted


def receive_inbox(inbox: Inbox, now: datetime, cutoff: datetime) -> WarmupReport:
    """One recipient's mailbox: find, rescue, mark, answer, clean up; one reader at a time
    (a pass that finds the mailbox held by another leaves it to that one)."""
    WarmupState.objects.bulk_create([WarmupState(inbox=inbox)], ignore_conflicts=True)
    held = (
        WarmupState.objects.filter(pk=inbox.pk)
        .filter(Q(receiving_until__isnull=True) | Q(receiving_until__lt=now))
        .update(receiving_until=now + RECEIVE_LEASE)
    )
    if not held:
        return WarmupReport()
    try:
        return _receive_held(inbox, now, cutoff)
    finally:
        WarmupState.objects.filter(pk=inbox.pk).update(receiving_until=None)


def _receive_held(inbox: Inbox, now: datetime, cutoff: datetime) -> WarmupReport:
    report = WarmupReport()
    pending = {
        row.message_id: row
        for row in WarmupEmail.objects.filter(
            recipient=inbox, status__in=(Status.SENT, Status.UNKNOWN), received_at__isnull=True
        ).select_related("sender")
    }
    old = set(
        WarmupEmail.objects.filter(
            recipient=inbox, received_at__lt=cutoff, archived_at__isnull=True
        ).values_list("message_id", flat=True)
    )
    timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
    try:
        with connection.imap_session(inbox.imap_settings(), timeout=timeout) as client:
            if pending:
                for folder, placement in (
                    ("INBOX", WarmupEmail.Placement.INBOX),
                    (inbox.junk_folder or "Junk", WarmupEmail.Placement.SPAM),
                ):
                    _read_folder(client, inbox, folder, placement, pending, now, report)
            if old:
                report.archived += _archive(client, inbox, old, now)
            _clear_sent(client, inbox, cutoff)
    except ConnectionCheckFailed as failure:
        if failure.authentication:
            inbox_mark_error(inbox=inbox, error=failure.message)
        logger.warning(
            "warmup IMAP session failed", extra={"inbox": str(inbox.pk), "error": failure.message}
        )
    except (IMAPClientError, OSError) as error:
        logger.warning(
            "warmup IMAP pass broke off",
            extra={"inbox": str(inbox.pk), "error": type(error).__name__},
        )
    return report


def _warmup_uids(client: IMAPClient, folder: str) -> dict[int, str]:
    """The warmup emails (this installation's token) in a folder: uid → Message-ID."""
    try:
        client.select_folder(folder)
    except IMAPClientError:
        return {}  # no such folder (a mailbox without Junk)
    uids = client.search(["HEADER", WARMUP_HEADER, warmup_token()])
    if not uids:
        return {}
    fetched = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID X-REACHKIT-WARMUP)]"])
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    found = {}
    for uid, data in fetched.items():
        raw = next((value for key, value in data.items() if key.startswith(b"BODY[")), b"")
        headers = parser.parsebytes(raw if isinstance(raw, bytes) else b"")
        # The search matched a substring: the token must be the header's whole value. A
        # header with undecodable bytes comes back as a `Header` (compat32), not a str:
        # anyone who received the token can write one, so it is read as text, never trusted.
        if str(headers.get(WARMUP_HEADER) or "").strip() != warmup_token():
            continue
        message_id = str(headers.get("Message-ID") or "").strip()
        if message_id:
            found[uid] = message_id
    return found


def _read_folder(
    client: IMAPClient,
    inbox: Inbox,
    folder: str,
    placement: str,
    pending: dict[str, WarmupEmail],
    now: datetime,
    report: WarmupReport,
) -> None:
    found = {uid: mid for uid, mid in _warmup_uids(client, folder).items() if mid in pending}
    if not found:
        return
    for uid, message_id in sorted(found.items()):
        row = pending.pop(message_id, None)
        if row is None:
            continue  # a second copy of one already handled
        mine = WarmupEmail.objects.filter(pk=row.pk)
        # Where it landed, recorded before anything moves it (a crash after the move must
        # not turn a spam placement into an inbox one).
        mine.filter(placement=WarmupEmail.Placement.PENDING).update(placement=placement)
        flagged = warmup.flags(row)
        client.add_flags([uid], [b"\\Seen", b"\\Flagged"] if flagged else [b"\\Seen"])
        if placement == WarmupEmail.Placement.SPAM:
            _move_to_inbox(client, uid)
        rescued = mine.filter(placement=WarmupEmail.Placement.SPAM, saved_from_spam=False).update(
            saved_from_spam=True
        )
        received = mine.filter(received_at__isnull=True).update(received_at=now, flagged=flagged)
        # It arrived: an `unknown` send was delivered after all.
        mine.filter(status=Status.UNKNOWN).update(status=Status.SENT, sent_at=row.attempted_at)
        report.received += received
        report.saved_from_spam += rescued
        if received and warmup.replies_to(row):
            report.replies_planned += _plan_reply(row, inbox, now)


def _move_to_inbox(client: IMAPClient, uid: int) -> None:
    if client.has_capability("MOVE"):
        client.move([uid], "INBOX")
        return
    client.copy([uid], "INBOX")
    client.delete_messages([uid])
    if client.has_capability("UIDPLUS"):
        with contextlib.suppress(IMAPClientError):
            client.uid_expunge([uid])


def _plan_reply(row: WarmupEmail, inbox: Inbox, now: datetime) -> int:
    """The recipient answers in the same thread, a little later; one reply per email."""
    reply_id = uuid.uuid4()
    subject = row.subject if row.subject.lower().startswith("re:") else f"Re: {row.subject}"
    reply = WarmupEmail(
        id=reply_id,
        sender=inbox,
        recipient=row.sender,
        kind=WarmupEmail.Kind.REPLY,
        parent=row,
        day=now.astimezone(UTC).date(),
        message_id=warmup_mail.new_message_id(reply_id, inbox),
        subject=subject[:255],
        due_at=now + timedelta(seconds=random.uniform(*REPLY_DELAY_SECONDS)),
    )
    WarmupEmail.objects.bulk_create([reply], ignore_conflicts=True)
    # Ignored when the email already had its reply (a concurrent pass planned it).
    return int(WarmupEmail.objects.filter(pk=reply_id).exists())


def _archive(client: IMAPClient, inbox: Inbox, old: set[str], now: datetime) -> int:
    """Delete warmup emails received long enough ago, so mailboxes don't fill up."""
    found = {uid: mid for uid, mid in _warmup_uids(client, "INBOX").items() if mid in old}
    if found:
        _delete(client, list(found))
    # Those no longer in INBOX (a person moved or deleted them) are done too.
    return WarmupEmail.objects.filter(
        recipient=inbox, message_id__in=old, archived_at__isnull=True
    ).update(archived_at=now)


def _clear_sent(client: IMAPClient, inbox: Inbox, cutoff: datetime) -> None:
    """The copies of its own warmup emails filed in Sent go after as many days."""
    if inbox.provider != Inbox.Provider.OTHER:
        return  # Gmail and Microsoft 365 filed them themselves: theirs to keep
    try:
        client.select_folder(inbox.sent_folder or "Sent")
    except IMAPClientError:
        return
    uids = client.search(["HEADER", WARMUP_HEADER, warmup_token(), "BEFORE", cutoff.date()])
    if uids:
        _delete(client, uids)


def _delete(client: IMAPClient, uids: list[int]) -> None:
    """Delete these messages of the selected folder. Only these: a plain EXPUNGE would also
    erase what the person's mail client marked deleted and kept (UIDPLUS says which); without
    UIDPLUS they stay marked deleted, for that client to expunge."""
    client.delete_messages(uids)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
