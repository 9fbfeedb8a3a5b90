"""Warmup's rules (inboxes/warmup.py) and what a warmup email says (inboxes/warmup_mail.py)."""

import email
import email.policy
import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from inboxes import warmup, warmup_mail, warmup_passes
from inboxes.models import Inbox, WarmupEmail, WarmupState
from inboxes.warmup import Health, WarmupStatus
from inboxes.warmup_marks import WARMUP_HEADER, is_warmup_message
from tests.inboxes.factories import InboxFactory

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


# --- the ramp ------------------------------------------------------------------------------


def test_the_ramp_starts_at_two_and_grows_by_the_step_up_to_the_limit(settings):
    settings.WARMUP_RAMP_STEP = 2
    assert [warmup.target_on(day, 10) for day in range(1, 8)] == [2, 4, 6, 8, 10, 10, 10]
    settings.WARMUP_RAMP_STEP = 3
    assert [warmup.target_on(day, 10) for day in range(1, 6)] == [2, 5, 8, 10, 10]
    assert warmup.target_on(1, 1) == 1  # a limit below the start is the limit


def state(ramp_days: int, last: date | None) -> WarmupState:
    return WarmupState(ramp_days=ramp_days, last_warmed_on=last)


def test_each_day_warmed_moves_the_ramp_on_once():
    assert warmup.ramp_day(None, TODAY) == 1
    assert warmup.ramp_day(state(3, TODAY - timedelta(days=1)), TODAY) == 4
    # The same day asked again (a second pass): the same day of the ramp.
    assert warmup.ramp_day(state(4, TODAY), TODAY) == 4


def test_a_pause_shorter_than_seven_days_keeps_the_ramp_a_longer_one_restarts_it():
    assert warmup.ramp_day(state(5, TODAY - timedelta(days=6)), TODAY) == 6
    assert warmup.ramp_day(state(5, TODAY - timedelta(days=7)), TODAY) == 1


def test_ramp_up_progress_is_the_share_of_the_ramps_days_behind_the_inbox(settings):
    settings.WARMUP_RAMP_STEP = 2
    # Limit 10: days 1..5 reach it (2, 4, 6, 8, 10).
    assert warmup.days_to_full(10) == 5
    assert warmup.ramp_progress(None, 10, TODAY) == 0
    assert warmup.ramp_progress(state(1, TODAY), 10, TODAY) == 20
    assert warmup.ramp_progress(state(5, TODAY), 10, TODAY) == 100
    assert warmup.ramp_progress(state(9, TODAY), 10, TODAY) == 100
    assert warmup.ramp_progress(state(3, TODAY - timedelta(days=8)), 10, TODAY) == 0


# --- pairs ---------------------------------------------------------------------------------


def fake_inboxes(count: int, domain: str = "acme.com") -> list[Inbox]:
    workspace_id = uuid.uuid4()
    return [
        Inbox(pk=uuid.uuid4(), email=f"box{n}@{domain}", workspace_id=workspace_id)
        for n in range(count)
    ]


def test_an_inbox_never_warms_with_itself_and_partners_are_its_workspaces_unless_shared(
    settings,
):
    settings.WARMUP_SHARED_POOL = False
    mine = fake_inboxes(3)
    theirs = fake_inboxes(2, "beta.io")
    assert warmup.partners_of(mine[0], mine + theirs) == mine[1:]
    settings.WARMUP_SHARED_POOL = True
    assert warmup.partners_of(mine[0], mine + theirs) == mine[1:] + theirs
    # The same address in another workspace is the same mailbox: never a partner.
    twin = Inbox(pk=uuid.uuid4(), email=mine[0].email, workspace_id=uuid.uuid4())
    assert twin not in warmup.partners_of(mine[0], [*mine, twin])


def test_pairs_rotate_so_that_two_inboxes_do_not_talk_every_day():
    members = fake_inboxes(6)
    sender, partners = members[0], members[1:]
    days = [TODAY + timedelta(days=n) for n in range(10)]
    picks = [
        {inbox.pk for inbox in warmup.recipients_for(sender.pk, partners, day, 2)} for day in days
    ]
    assert all(len(pick) == 2 and sender.pk not in pick for pick in picks)
    # Consecutive days never repeat the same pair, and every partner is written to.
    assert all(picks[n] != picks[n + 1] for n in range(len(picks) - 1))
    assert set().union(*picks) == {inbox.pk for inbox in partners}


# --- shares --------------------------------------------------------------------------------


def test_about_the_reply_rate_of_first_emails_are_answered_and_replies_never(settings):
    settings.WARMUP_REPLY_PERCENT = 30
    firsts = [WarmupEmail(pk=uuid.uuid4(), kind=WarmupEmail.Kind.FIRST) for _ in range(2000)]
    share = sum(warmup.replies_to(first) for first in firsts) / len(firsts)
    assert 0.26 < share < 0.34
    assert not any(
        warmup.replies_to(WarmupEmail(pk=first.pk, kind=WarmupEmail.Kind.REPLY)) for first in firsts
    )
    # The same email gets the same answer, however often asked.
    assert [warmup.replies_to(first) for first in firsts] == [
        warmup.replies_to(first) for first in firsts
    ]


def test_health_is_the_share_that_landed_in_the_inbox():
    assert warmup.health_score(0, 0) == 100
    assert warmup.health_score(9, 1) == 90
    assert warmup.health_score(0, 4) == 0


# --- status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "reason"),
    [
        ({"is_warming": False}, "off", ""),
        ({"is_active": False}, "paused", "The inbox is inactive"),
        (
            {"connection_status": "error", "connection_error": "SMTP login failed"},
            "paused",
            "The inbox's connection failed: SMTP login failed",
        ),
        ({"connection_status": "pending"}, "paused", "has not been checked yet"),
        ({}, "active", ""),
    ],
)
def test_the_status_says_why_warmup_is_paused(fields, status, reason):
    base = {"is_warming": True, "is_active": True, "connection_status": "connected"}
    inbox = Inbox(**{**base, **fields})
    got_status, got_reason = warmup.status_of(inbox, Health(100, 0))
    assert got_status == status
    assert reason in got_reason
    assert bool(got_reason) == bool(reason)


def test_low_health_pauses_only_once_enough_emails_were_placed(settings):
    settings.WARMUP_PAUSE_BELOW_HEALTH = 50
    inbox = Inbox(is_warming=True, is_active=True, connection_status="connected")
    assert warmup.status_of(inbox, Health(20, 5))[0] == WarmupStatus.ACTIVE
    status, reason = warmup.status_of(inbox, Health(20, 10))
    assert status == WarmupStatus.PAUSED
    assert reason.startswith("Health 20 is below 50")


# --- stats from rows -----------------------------------------------------------------------


def row(sender: Inbox, recipient: Inbox, **fields) -> WarmupEmail:
    row_id = uuid.uuid4()
    return WarmupEmail.objects.create(
        id=row_id,
        sender=sender,
        recipient=recipient,
        day=fields.pop("day", TODAY),
        seq=fields.pop("seq", 0),
        kind=fields.pop("kind", WarmupEmail.Kind.REPLY),
        message_id=f"<{row_id.hex}@acme.com>",
        due_at=fields.pop("due_at", NOW),
        **fields,
    )


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_stats_count_the_rows_of_the_last_seven_days(settings):
    settings.WARMUP_PAUSE_BELOW_HEALTH = 50
    inbox = InboxFactory(is_warming=True, connection_status="connected", daily_warmup_limit=10)
    other = InboxFactory(workspace=inbox.workspace)
    sent = WarmupEmail.Status.SENT
    for days_ago, placement, rescued in [
        (0, "inbox", False),
        (0, "spam", True),
        (2, "inbox", False),
        (2, "", False),  # not seen yet: neither inbox nor spam
        (6, "spam", True),
        (7, "spam", True),  # out of the window
    ]:
        row(
            inbox,
            other,
            status=sent,
            sent_at=NOW - timedelta(days=days_ago),
            placement=placement,
            saved_from_spam=rescued,
        )
    row(inbox, other, status=WarmupEmail.Status.FAILED)  # never sent
    row(other, inbox, status=sent, sent_at=NOW, received_at=NOW)
    row(other, inbox, status=sent, sent_at=NOW)  # not found in the mailbox yet
    WarmupState.objects.create(inbox=inbox, ramp_days=2, last_warmed_on=TODAY)

    stats = warmup.warmup_stats(inbox, NOW)

    assert stats["sent"] == 5
    assert stats["received"] == 1
    assert stats["saved_from_spam"] == 2
    assert stats["health_score"] == 50  # 2 in the inbox, 2 in spam
    assert stats["ramp_up_progress"] == 40
    assert (stats["status"], stats["paused_reason"], stats["today_target"]) == ("active", "", 4)
    assert [(str(day["date"]), day["sent"], day["spam_count"]) for day in stats["daily"]] == [
        ("2026-03-04", 1, 1),
        ("2026-03-05", 0, 0),
        ("2026-03-06", 0, 0),
        ("2026-03-07", 0, 0),
        ("2026-03-08", 2, 0),
        ("2026-03-09", 0, 0),
        ("2026-03-10", 2, 1),
    ]


# --- the emails ----------------------------------------------------------------------------


def test_spintax_picks_one_alternative_at_every_level():
    rng = random.Random(1)
    outputs = {warmup_mail.spin("{a|b{c|d}} {name}", rng) for _ in range(200)}
    assert outputs == {"a {name}", "bc {name}", "bd {name}"}


def test_no_two_warmup_emails_read_alike_and_each_is_the_same_when_composed_again():
    sender = Inbox(email="sam@acme.com", domain="acme.com", first_name="Sam", last_name="Lee")
    recipient = Inbox(email="ana@beta.io", domain="beta.io", first_name="Ana")
    ids = [uuid.UUID(int=n * 7919 + 1) for n in range(200)]  # fixed: the test is repeatable
    rows = [
        WarmupEmail(
            pk=row_id,
            kind=WarmupEmail.Kind.FIRST,
            subject=warmup_mail.subject_for(row_id),
            message_id=warmup_mail.new_message_id(row_id, sender),
        )
        for row_id in ids
    ]
    bodies = [warmup_mail.body_for(r, sender, recipient) for r in rows]
    emails = {(r.subject, body) for r, body in zip(rows, bodies, strict=True)}
    assert len(emails) == len(rows)
    assert len(set(bodies)) > 0.95 * len(rows)
    assert bodies[0] == warmup_mail.body_for(rows[0], sender, recipient)
    assert all("{" not in body and "|" not in body for body in bodies)
    assert all("Ana" in body.splitlines()[0] for body in bodies)
    assert all(body.rstrip().endswith("\nSam") for body in bodies)

    raw = warmup_mail.compose(rows[0], sender=sender, recipient=recipient, parent=None, now=NOW)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert is_warmup_message(message)
    assert message[WARMUP_HEADER]
    assert message["Message-ID"] == rows[0].message_id
    assert message["From"] == "Sam Lee <sam@acme.com>"


def test_a_reply_threads_under_its_email():
    sender = Inbox(email="sam@acme.com", domain="acme.com", first_name="Sam")
    recipient = Inbox(email="ana@beta.io", domain="beta.io", first_name="Ana")
    first = WarmupEmail(pk=uuid.uuid4(), subject="Quick note", message_id="<a@acme.com>")
    reply = WarmupEmail(
        pk=uuid.uuid4(),
        kind=WarmupEmail.Kind.REPLY,
        subject="Re: Quick note",
        message_id="<b@beta.io>",
    )
    raw = warmup_mail.compose(reply, sender=recipient, recipient=sender, parent=first, now=NOW)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["In-Reply-To"] == "<a@acme.com>"
    assert message["References"] == "<a@acme.com>"
    assert message["Subject"] == "Re: Quick note"


def test_control_characters_in_a_name_never_reach_the_headers():
    sender = Inbox(email="sam@acme.com", domain="acme.com", first_name="Sam\r\nBcc: x@evil.com")
    recipient = Inbox(email="ana@beta.io", domain="beta.io", first_name="Ana")
    first = WarmupEmail(pk=uuid.uuid4(), subject="Hello", message_id="<c@acme.com>")
    raw = warmup_mail.compose(first, sender=sender, recipient=recipient, parent=None, now=NOW)
    assert b"\nBcc:" not in raw


@pytest.mark.django_db
def test_a_crashed_workers_rows_are_recovered_never_resent_blindly():
    sender = InboxFactory()
    recipient = InboxFactory(workspace=sender.workspace)
    long_ago = NOW - timedelta(minutes=20)
    claimed = row(sender, recipient, status="claimed", claimed_at=long_ago)
    attempted = row(sender, recipient, status="claimed", claimed_at=long_ago, attempted_at=long_ago)
    fresh = row(sender, recipient, status="claimed", claimed_at=NOW, attempted_at=NOW)
    stale = row(sender, recipient, status="scheduled", due_at=NOW - timedelta(days=2))

    warmup_passes.recover(NOW)

    statuses = {
        r.pk: r.status for r in WarmupEmail.objects.filter(pk__in=[claimed.pk, attempted.pk])
    }
    assert statuses == {claimed.pk: "scheduled", attempted.pk: "unknown"}
    assert WarmupEmail.objects.get(pk=fresh.pk).status == "claimed"  # still its worker's
    assert WarmupEmail.objects.get(pk=stale.pk).status == "failed"


@pytest.mark.django_db
def test_rows_older_than_thirty_days_are_pruned_with_their_replies():
    sender = InboxFactory()
    recipient = InboxFactory(workspace=sender.workspace)
    old_day = TODAY - timedelta(days=31)
    old = row(sender, recipient, kind="first", seq=1, day=old_day, status="sent")
    row(recipient, sender, kind="reply", parent=old, day=old_day, status="sent")
    recent = row(sender, recipient, kind="first", seq=1, day=TODAY - timedelta(days=29))

    assert warmup_passes.prune(NOW) == 2
    assert list(WarmupEmail.objects.values_list("pk", flat=True)) == [recent.pk]
