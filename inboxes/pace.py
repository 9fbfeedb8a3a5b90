"""An inbox's pace: how often and how much it may send, campaign and warmup mail together.

One rule for everything an inbox sends, stated here once, so the campaign sender
(campaigns/sending/scheduler.py) and warmup (inboxes/warmup_passes.py) never add up to
more than the mailbox should send:

- The gap: two emails from one inbox, of either kind, are at least a random gap apart
  (`REACHKIT_SEND_GAP_SECONDS`); the inbox's `InboxPace` row holds when the next may go,
  and whoever sends pushes it on (`push`).
- The lock: a sender takes the pace rows of the inboxes it hands work to with
  `SELECT … FOR UPDATE SKIP LOCKED` (`lock_ready`), so two senders never use one inbox at
  once; an inbox another sender holds sits the round out.
- The day (UTC): campaign emails up to `daily_campaign_limit` (`campaign_room`), new
  warmup emails up to the day's ramp target (`warmup_room`; replies to warmup mail are on
  top, at the reply rate). So an inbox starts at most `daily_campaign_limit` + its warmup
  target emails a day, each a gap after the last.
"""

import random
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings

from inboxes.models import Inbox, InboxPace


def gap_passed(next_send_at: datetime | None, now: datetime) -> bool:
    """Whether the random gap since the inbox's last email is over (its pace row's time)."""
    return next_send_at is None or next_send_at <= now


def spaced() -> bool:
    """Whether emails from one inbox are spaced by a gap (then one per inbox per round)."""
    _, gap_high = settings.SEND_GAP_SECONDS
    return gap_high > 0


def next_gap() -> timedelta:
    gap_low, gap_high = settings.SEND_GAP_SECONDS
    return timedelta(seconds=random.uniform(gap_low, gap_high))


def lock_ready(inbox_ids: Iterable[uuid.UUID], now: datetime) -> list[uuid.UUID]:
    """The inboxes among these whose gap has passed, their pace rows locked until the
    transaction ends; those another sender holds are left out (SKIP LOCKED)."""
    ids = sorted(set(inbox_ids))
    if not ids:
        return []
    # In one order for everyone: two senders creating the same new rows never deadlock.
    InboxPace.objects.bulk_create(
        [InboxPace(inbox_id=inbox_id) for inbox_id in ids], ignore_conflicts=True
    )
    return [
        pace.inbox_id
        for pace in InboxPace.objects.select_for_update(skip_locked=True).filter(inbox_id__in=ids)
        if gap_passed(pace.next_send_at, now)
    ]


def push(inbox_ids: Iterable[uuid.UUID], now: datetime) -> None:
    """Space each of these inboxes' next email (of either kind) by a new random gap."""
    for inbox_id in inbox_ids:
        InboxPace.objects.filter(inbox_id=inbox_id).update(next_send_at=now + next_gap())


def next_send_at(inbox_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, datetime | None]:
    ids = list(inbox_ids)
    if not ids:
        return {}
    return dict(InboxPace.objects.filter(inbox_id__in=ids).values_list("inbox_id", "next_send_at"))


def utc_day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def campaign_room(inbox: Inbox, campaign_sent_today: int) -> int:
    """How many more campaign emails the inbox may send today (its emails of the UTC day,
    across campaigns, are `campaign_sent_today`)."""
    return inbox.daily_campaign_limit - campaign_sent_today


def warmup_room(target_today: int, warmup_sent_today: int) -> int:
    """How many more new warmup emails the inbox may send today: its ramp's target for the
    day (inboxes/warmup.py) less those it sent."""
    return max(0, target_today - warmup_sent_today)
