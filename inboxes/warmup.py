"""Warmup's rules, each stated once: the pool, the ramp, the pairs, the shares, the status.

Warmup: the inboxes of a pool send each other short, natural-looking emails every day,
a few more each day, and on the receiving side open them, take them out of spam and
answer some, so mailbox providers learn that mail from these addresses is wanted. The
engine is three modules of inboxes, which owns the mailboxes and their connections:

- this one: pure rules and the stats read from the rows (no network);
- inboxes/warmup_mail.py: what a warmup email says (spintax templates) and its headers,
  with the installation's token (inboxes/warmup_marks.py) that keeps it out of the
  unified inbox, reply detection and campaign analytics;
- inboxes/warmup_passes.py: the passes (plan and send over SMTP; read, rescue, flag and
  answer over IMAP), with rows in `WarmupEmail` (an outbox, as campaign sends are).

The ramp: day 1 of warming sends WARMUP_RAMP_START new emails, each further day
`REACHKIT_WARMUP_RAMP_STEP` more, up to the inbox's `daily_warmup_limit`. Days count
only when the inbox warmed; a pause shorter than WARMUP_RESTART_AFTER_DAYS keeps its
place, a longer one starts over.
"""

import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from inboxes.models import Inbox, WarmupEmail, WarmupState

WARMUP_RAMP_START = 2
WARMUP_RESTART_AFTER_DAYS = 7
STATS_DAYS = 7
# Health decides a pause only once this many of the inbox's emails were placed (seen by
# their recipient, in the inbox or in spam): two unlucky emails say nothing.
HEALTH_MIN_PLACEMENTS = 10
# The share of received warmup emails flagged important (\\Flagged), in percent.
FLAG_PERCENT = 40


class WarmupStatus(StrEnum):
    OFF = "off"  # is_warming is off
    ACTIVE = "active"
    PAUSED = "paused"  # is_warming is on, but it does not warm now: `paused_reason` says why


# --- The pool --------------------------------------------------------------------------


def pool_q() -> Q:
    """The inboxes that warm: warming, active and connected."""
    return Q(
        is_warming=True,
        is_active=True,
        connection_status=Inbox.ConnectionStatus.CONNECTED,
    )


def pool(workspace_id: uuid.UUID | None = None) -> QuerySet[Inbox]:
    """Every inbox that warms, of one workspace, or of all (ordered: pairs are stable)."""
    inboxes = Inbox.objects.filter(pool_q())
    if workspace_id is not None:
        inboxes = inboxes.filter(workspace_id=workspace_id)
    return inboxes.order_by("pk")


def partners_of(inbox: Inbox, members: Sequence[Inbox]) -> list[Inbox]:
    """Whom the inbox may warm with: the pool's other members, of its own workspace unless
    REACHKIT_WARMUP_SHARED_POOL is on. An inbox never warms with itself (nor with another
    inbox of the same address in another workspace)."""
    return [
        other
        for other in members
        if other.pk != inbox.pk
        and other.email != inbox.email
        and (settings.WARMUP_SHARED_POOL or other.workspace_id == inbox.workspace_id)
    ]


def recipients_for(
    sender_id: uuid.UUID, partners: Sequence[Inbox], day: date, count: int, first_seq: int = 1
) -> list[Inbox]:
    """The recipients of the sender's emails number `first_seq`… on `day`.

    Partners in a fixed order, read from a starting point that moves on each day by the
    day's number of emails: with more partners than emails a day, two inboxes do not talk
    to each other every day. The start also depends on the sender, so partners are not all
    written to by everyone at once.
    """
    if not partners or count <= 0:
        return []
    ordered = sorted(partners, key=lambda inbox: inbox.pk)
    offset = int(hashlib.sha256(sender_id.bytes).hexdigest()[:8], 16)
    start = offset + day.toordinal() * max(count + first_seq - 1, 1)
    return [
        ordered[(start + seq - 1) % len(ordered)] for seq in range(first_seq, first_seq + count)
    ]


# --- The ramp --------------------------------------------------------------------------


def ramp_day(state: WarmupState | None, today: date) -> int:
    """Which day of its ramp the inbox is on today, if it warms today (1 = the first)."""
    if state is None or state.last_warmed_on is None or state.ramp_days == 0:
        return 1
    if state.last_warmed_on >= today:
        return state.ramp_days
    if (today - state.last_warmed_on).days >= WARMUP_RESTART_AFTER_DAYS:
        return 1
    return state.ramp_days + 1


def target_on(day_number: int, limit: int) -> int:
    """New warmup emails on day `day_number` of the ramp."""
    if day_number <= 0:
        return 0
    grown = WARMUP_RAMP_START + settings.WARMUP_RAMP_STEP * (day_number - 1)
    return max(0, min(limit, grown))


def days_to_full(limit: int) -> int:
    """How many days the ramp takes to reach `limit` (its first day included)."""
    if limit <= WARMUP_RAMP_START:
        return 1
    return 1 + math.ceil((limit - WARMUP_RAMP_START) / settings.WARMUP_RAMP_STEP)


def ramp_progress(state: WarmupState | None, limit: int, today: date) -> int:
    """0 to 100: how far along its ramp the inbox is (the days it warmed of those it takes)."""
    if state is None or state.ramp_days == 0 or state.last_warmed_on is None:
        return 0
    if (today - state.last_warmed_on).days >= WARMUP_RESTART_AFTER_DAYS:
        return 0  # it would start over
    return min(100, round(100 * state.ramp_days / days_to_full(limit)))


# --- The recipients' side ----------------------------------------------------------------


def _share(email_id: uuid.UUID, salt: bytes) -> int:
    """0 to 99, the same for an email whoever asks and however often (a replayed pass decides
    as the first did)."""
    return int(hashlib.sha256(salt + email_id.bytes).hexdigest()[:8], 16) % 100


def replies_to(email: WarmupEmail) -> bool:
    """Whether the recipient answers this email (REACHKIT_WARMUP_REPLY_PERCENT of first
    emails; a reply is never answered)."""
    if email.kind != WarmupEmail.Kind.FIRST:
        return False
    return _share(email.pk, b"reply") < settings.WARMUP_REPLY_PERCENT


def flags(email: WarmupEmail) -> bool:
    """Whether the recipient flags this email important (FLAG_PERCENT of them)."""
    return _share(email.pk, b"flag") < FLAG_PERCENT


def archive_before(now: datetime) -> date:
    """Warmup emails received before this day are removed from the recipient's mailbox."""
    return now.astimezone(UTC).date() - timedelta(days=settings.WARMUP_KEEP_DAYS)


# --- Health, status ----------------------------------------------------------------------


def health_score(in_inbox: int, in_spam: int) -> int:
    """100 times the share of the inbox's warmup emails that landed in the inbox (not spam);
    100 while none was placed (a clean record, not a failing one)."""
    placed = in_inbox + in_spam
    return round(100 * in_inbox / placed) if placed else 100


@dataclass(frozen=True)
class Health:
    score: int
    placed: int


def health_of(inbox_ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, Health]:
    """Each inbox's health over the last STATS_DAYS days: one grouped query."""
    if not inbox_ids:
        return {}
    since = day_start(now) - timedelta(days=STATS_DAYS - 1)
    counts: dict[uuid.UUID, dict[str, int]] = {}
    rows = (
        WarmupEmail.objects.filter(sender_id__in=inbox_ids, sent_at__gte=since)
        .exclude(placement=WarmupEmail.Placement.PENDING)
        .values_list("sender_id", "placement")
    )
    for sender_id, placement in rows:
        counts.setdefault(sender_id, {"inbox": 0, "spam": 0})[placement] += 1
    result = {}
    for inbox_id in inbox_ids:
        placed = counts.get(inbox_id, {"inbox": 0, "spam": 0})
        result[inbox_id] = Health(
            health_score(placed["inbox"], placed["spam"]), placed["inbox"] + placed["spam"]
        )
    return result


def status_of(inbox: Inbox, health: Health) -> tuple[WarmupStatus, str]:
    """Whether the inbox warms now, and if it is paused, why (in words for a person)."""
    if not inbox.is_warming:
        return WarmupStatus.OFF, ""
    if not inbox.is_active:
        return WarmupStatus.PAUSED, "The inbox is inactive (is_active is off)."
    if inbox.connection_status == Inbox.ConnectionStatus.ERROR:
        error = inbox.connection_error or "unknown error"
        return WarmupStatus.PAUSED, f"The inbox's connection failed: {error}"
    if inbox.connection_status != Inbox.ConnectionStatus.CONNECTED:
        return WarmupStatus.PAUSED, "The inbox's connection has not been checked yet."
    threshold = settings.WARMUP_PAUSE_BELOW_HEALTH
    if health.placed >= HEALTH_MIN_PLACEMENTS and health.score < threshold:
        return WarmupStatus.PAUSED, (
            f"Health {health.score} is below {threshold}: too many warmup emails landed in "
            "spam over the last 7 days. Check the domain's SPF, DKIM and DMARC; warmup "
            "resumes by itself once the share in spam falls."
        )
    return WarmupStatus.ACTIVE, ""


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# --- Stats -------------------------------------------------------------------------------


def warmup_stats(inbox: Inbox, now: datetime) -> dict[str, Any]:
    """The last STATS_DAYS days of warmup (UTC), oldest first, ending today, counted from
    the rows: what was sent, what its recipients found (in the inbox or in spam, and saved
    from spam), what this inbox received; the ramp, the status and today's target.

    `saved_from_spam`, `spam_count` and `health_score` are about this inbox's own emails
    (its reputation); `received` counts the warmup emails it received.
    """
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=STATS_DAYS - 1)
    since = day_start(now) - timedelta(days=STATS_DAYS - 1)
    daily = {first_day + timedelta(days=n): {"sent": 0, "spam_count": 0} for n in range(7)}
    in_inbox = in_spam = saved = 0
    sent_rows = WarmupEmail.objects.filter(
        sender=inbox, sent_at__gte=since, status=WarmupEmail.Status.SENT
    ).values_list("sent_at", "placement", "saved_from_spam")
    for sent_at, placement, rescued in sent_rows:
        day = daily.get(sent_at.astimezone(UTC).date()) if sent_at else None
        if day is None:  # sent "in the future" (a clock moved back): not in the window
            continue
        day["sent"] += 1
        if placement == WarmupEmail.Placement.SPAM:
            day["spam_count"] += 1
            in_spam += 1
        elif placement == WarmupEmail.Placement.INBOX:
            in_inbox += 1
        saved += int(rescued)
    received = WarmupEmail.objects.filter(recipient=inbox, received_at__gte=since).count()
    health = Health(health_score(in_inbox, in_spam), in_inbox + in_spam)
    status, reason = status_of(inbox, health)
    state = WarmupState.objects.filter(inbox=inbox).first()
    target = (
        target_on(ramp_day(state, today), inbox.daily_warmup_limit)
        if status == WarmupStatus.ACTIVE
        else 0
    )
    return {
        "sent": sum(day["sent"] for day in daily.values()),
        "received": received,
        "saved_from_spam": saved,
        "health_score": health.score,
        "ramp_up_progress": ramp_progress(state, inbox.daily_warmup_limit, today),
        "status": str(status),
        "paused_reason": reason,
        "today_target": target,
        "daily": [{"date": day, **counts} for day, counts in daily.items()],
    }
