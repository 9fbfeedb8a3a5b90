"""Warmup end to end on real servers: three Dovecot users warming each other through an
SMTP server that delivers into their mailboxes (INBOX, or Junk when a test says so)."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Send
from inboxes import warmup, warmup_passes
from inboxes.models import InboxPace, WarmupEmail, WarmupState
from inboxes.tasks import warmup_receive_task, warmup_send_task
from inboxes.warmup_marks import is_warmup_message, warmup_token
from tests.inboxes.warmup_world import DeliveringSmtpServer, Pool

# A Monday morning (UTC).
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LATE = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
DAY_END = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, dovecot, tls_certificates, trust_test_ca, settings):
    settings.SEND_GAP_SECONDS = (0, 0)
    settings.WARMUP_REPLY_PERCENT = 0
    settings.WARMUP_RAMP_STEP = 2
    server = DeliveringSmtpServer(dovecot=dovecot, security="none", tls=tls_certificates).start()
    yield Pool(dovecot, server)
    server.stop()


@pytest.fixture
def trio(world, alice):
    for name in ("ann", "bob", "cat"):
        world.add(alice.workspace, name)
    return world


def send_the_day(clock) -> warmup_passes.WarmupReport:
    """Plan the day's emails late in the day, then send them all by its end."""
    clock.move_to(LATE)
    report = warmup_passes.warmup_send_pass()
    clock.move_to(DAY_END)
    report.add(warmup_passes.warmup_send_pass())
    return report


def test_a_day_of_warmup_sends_the_ramps_count_from_each_inbox_and_the_stats_match(trio):
    with time_machine.travel(START, tick=False) as clock:
        report = warmup_passes.warmup_send_pass()
        assert report.planned == 6  # day 1 of the ramp: 2 from each of three inboxes
        clock.move_to(DAY_END)
        assert warmup_passes.warmup_send_pass().sent == 6 - report.sent

        senders = [message.mail_from for message in trio.smtp.messages]
        assert sorted(senders) == sorted(inbox.email for inbox in trio.inboxes for _ in (1, 2))
        for message in trio.smtp.messages:
            assert message.rcpt_tos != [message.mail_from]  # never to itself
            assert is_warmup_message(message.message)
        for inbox in trio.inboxes:
            assert len(trio.folder(inbox)) == sum(
                message.rcpt_tos == [inbox.email] for message in trio.smtp.messages
            )
            # Its own copies are in Sent, as a mail client files them.
            assert len(trio.folder(inbox, "Sent")) == 2

        received = warmup_passes.warmup_receive_pass()
        assert (received.received, received.saved_from_spam) == (6, 0)
        for inbox in trio.inboxes:
            stats = warmup.warmup_stats(inbox, DAY_END)
            in_mailbox = len(trio.folder(inbox))
            assert stats["sent"] == 2
            assert stats["received"] == in_mailbox
            assert stats["daily"][-1] == {"date": DAY_END.date(), "sent": 2, "spam_count": 0}
            assert (stats["health_score"], stats["status"], stats["today_target"]) == (
                100,
                "active",
                2,
            )
            # Read, so the mailbox looks like a person's.
            assert all(b"\\Seen" in flags for flags in trio.flags(inbox))

        # The next day the ramp has grown by the step.
        clock.move_to(START + timedelta(days=1))
        assert warmup_passes.warmup_send_pass().planned == 12
        assert {state.ramp_days for state in WarmupState.objects.all()} == {2}
    # Warmup is not campaign mail: no send rows, nothing for campaign analytics.
    assert not Send.objects.exists()


def test_a_message_in_junk_is_rescued_counted_as_spam_and_answered_in_its_thread(trio, settings):
    settings.WARMUP_REPLY_PERCENT = 100
    cat = trio.inboxes[2]
    trio.smtp.junk_for = {cat.email}
    with time_machine.travel(LATE, tick=False) as clock:
        send_the_day(clock)
        to_cat = WarmupEmail.objects.filter(recipient=cat, kind="first")
        assert to_cat.exists()
        assert len(trio.folder(cat, "Junk")) == to_cat.count()

        report = warmup_passes.warmup_receive_pass()

        assert report.saved_from_spam == to_cat.count()
        assert trio.folder(cat, "Junk") == []
        assert len(trio.folder(cat)) == to_cat.count()
        assert all(b"\\Seen" in flags for flags in trio.flags(cat))
        assert set(to_cat.values_list("placement", "saved_from_spam")) == {("spam", True)}
        for sender in {row.sender for row in to_cat}:
            stats = warmup.warmup_stats(sender, DAY_END)
            spammed = to_cat.filter(sender=sender).count()
            assert stats["saved_from_spam"] == spammed
            assert stats["daily"][-1]["spam_count"] == spammed
            assert stats["health_score"] == round(100 * (2 - spammed) / 2)

        # Every first email is answered (100 %): the replies go out, in their threads.
        assert report.replies_planned == 6
        trio.smtp.reset()
        clock.move_to(DAY_END + timedelta(minutes=59))
        assert warmup_passes.warmup_send_pass().sent == 6
        for message in trio.smtp.messages:
            reply = message.message
            parent = WarmupEmail.objects.get(message_id=reply["In-Reply-To"])
            assert reply["References"] == parent.message_id
            assert reply["Subject"] == f"Re: {parent.subject}"
            assert message.mail_from == parent.recipient.email
            assert message.rcpt_tos == [parent.sender.email]
        # Replies are read on the other side too, and never answered themselves.
        again = warmup_passes.warmup_receive_pass()
        assert (again.received, again.replies_planned) == (6, 0)


def test_warmup_keeps_to_the_gap_that_campaign_mail_left(trio, settings):
    settings.SEND_GAP_SECONDS = (300, 300)
    ann = trio.inboxes[0]
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    with time_machine.travel(START, tick=False) as clock:
        warmup_passes.plan(START)  # due by 23:12 at the latest (95 % of the day left)
        clock.move_to(late)
        # A campaign email just went from ann: her next email of any kind waits 200 s.
        InboxPace.objects.create(inbox=ann, next_send_at=late + timedelta(seconds=200))
        clock.shift(60)
        warmup_passes.warmup_send_pass()
        assert ann.email not in {m.mail_from for m in trio.smtp.messages}
        assert len(trio.smtp.messages) == 2  # one from each other inbox: one per gap

        clock.shift(200)
        warmup_passes.warmup_send_pass()
        assert [m.mail_from for m in trio.smtp.messages].count(ann.email) == 1
        pace = InboxPace.objects.get(inbox=ann).next_send_at
        assert pace == late + timedelta(seconds=260 + 300)


def test_replayed_and_repeated_passes_send_and_count_nothing_twice(trio):
    with time_machine.travel(LATE, tick=False) as clock:
        first = send_the_day(clock)
        second = send_the_day(clock)
        assert (first.planned, first.sent) == (6, 6)
        assert (second.planned, second.sent) == (0, 0)
        assert len(trio.smtp.messages) == 6

        warmup_receive_task.delay()
        warmup_receive_task.delay()
        warmup_send_task.delay()
    assert WarmupEmail.objects.filter(received_at__isnull=False).count() == 6
    assert len(trio.smtp.messages) == 6
    for inbox in trio.inboxes:
        assert warmup.warmup_stats(inbox, DAY_END)["received"] == len(trio.folder(inbox))


def test_an_email_whose_outcome_was_lost_is_not_resent_and_counts_once_it_arrives(trio):
    with time_machine.travel(LATE, tick=False) as clock:
        trio.smtp.drop_after_data(times=1)
        report = send_the_day(clock)
        unknown = WarmupEmail.objects.get(status="unknown")
        # The broken connection put the rest of that sender's batch back to wait.
        assert (report.sent, report.failed, report.deferred) == (4, 1, 1)
        assert len(trio.smtp.messages) == 6 - 1

        clock.shift(11 * 60)  # the retry's wait
        again = warmup_passes.warmup_send_pass()
        assert (again.sent, again.failed) == (1, 0)
        assert WarmupEmail.objects.get(pk=unknown.pk).status == "unknown"
        message_ids = [m.message["Message-ID"] for m in trio.smtp.messages]
        assert len(message_ids) == len(set(message_ids)) == 6  # the unknown one went once

        warmup_passes.warmup_receive_pass()
        unknown.refresh_from_db()
        assert unknown.status == "sent"
        assert unknown.received_at is not None


def test_old_warmup_emails_are_removed_from_the_mailbox(trio, settings):
    settings.WARMUP_KEEP_DAYS = 3
    ann = trio.inboxes[0]
    with time_machine.travel(LATE, tick=False) as clock:
        send_the_day(clock)
        warmup_passes.warmup_receive_pass()
        assert sum(len(trio.folder(inbox)) for inbox in trio.inboxes) == 6
        # A copy in Sent filed long ago (IMAP dates are the server's: set explicitly).
        old_copy = trio.folder(ann, "Sent")[0]
        trio.dovecot.append(
            ann.email, old_copy, folder="Sent", when=datetime(2026, 2, 20, tzinfo=UTC)
        )
        clock.move_to(DAY_END + timedelta(days=2))
        WarmupEmail.objects.filter(status="scheduled").delete()  # only the clean-up is left
        assert warmup_passes.warmup_receive_pass().archived == 0
        clock.move_to(DAY_END + timedelta(days=3))
        WarmupEmail.objects.filter(status="scheduled").delete()
        assert warmup_passes.warmup_receive_pass().archived == 6
    assert sum(len(trio.folder(inbox)) for inbox in trio.inboxes) == 0
    assert len(trio.folder(ann, "Sent")) == 2  # the old copy went, this week's stay


def test_a_paused_inbox_does_not_warm_and_says_why(trio, api):
    ann = trio.inboxes[0]
    ann.connection_status = "error"
    ann.connection_error = "SMTP login failed: authentication failed"
    ann.save()
    with time_machine.travel(DAY_END, tick=False):
        warmup_passes.warmup_send_pass()
        assert not WarmupEmail.objects.filter(sender=ann).exists()
        # The others still warm, but not with an inbox that cannot read its mail.
        assert not WarmupEmail.objects.filter(recipient=ann).exists()

        data = api.get(f"/api/v1/inboxes/{ann.pk}/warmup/stats").json()["data"]
    assert data["status"] == "paused"
    assert data["paused_reason"] == (
        "The inbox's connection failed: SMTP login failed: authentication failed"
    )
    assert data["today_target"] == 0


def test_inboxes_of_other_workspaces_warm_together_only_with_a_shared_pool(
    world, alice, charlie, settings
):
    mine = world.add(alice.workspace, "ann")
    theirs = world.add(charlie.workspace, "dan")
    with time_machine.travel(LATE, tick=False) as clock:
        assert warmup_passes.warmup_send_pass().planned == 0
        settings.WARMUP_SHARED_POOL = True
        assert send_the_day(clock).sent == 4
    assert {(row.sender_id, row.recipient_id) for row in WarmupEmail.objects.all()} == {
        (mine.pk, theirs.pk),
        (theirs.pk, mine.pk),
    }


def test_a_private_address_is_refused_unless_allowed(trio, settings):
    settings.INBOX_ALLOWED_NETWORKS = []
    with time_machine.travel(LATE, tick=False) as clock:
        report = send_the_day(clock)
    assert (report.sent, report.deferred) == (0, 6)
    assert trio.smtp.messages == []
    assert trio.smtp.auth_attempts == []
    for row in WarmupEmail.objects.all():
        assert row.status == "scheduled"
        assert "private" in row.smtp_response or "not allowed" in row.smtp_response


def test_manage_py_warmup_prints_one_json_line_of_counts(trio):
    out = StringIO()
    with time_machine.travel(LATE, tick=False) as clock:
        call_command("warmup", "--send-only", stdout=StringIO())
        clock.move_to(DAY_END)
        call_command("warmup", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {
        "planned": 0,
        "sent": 6,
        "failed": 0,
        "deferred": 0,
        "received": 6,
        "saved_from_spam": 0,
        "replies_planned": 0,
        "archived": 0,
    }


def test_the_stats_endpoint_reports_what_the_mailboxes_hold(trio, api):
    ann = trio.inboxes[0]
    with time_machine.travel(LATE, tick=False) as clock:
        send_the_day(clock)
        call_command("warmup", "--receive-only", stdout=StringIO())
        data = api.get(f"/api/v1/inboxes/{ann.pk}/warmup/stats").json()["data"]
    assert data["sent"] == 2
    assert data["received"] == len(trio.folder(ann))
    assert data["ramp_up_progress"] == 20  # day 1 of 5 (2, 4, 6, 8, 10)
    assert (data["status"], data["paused_reason"], data["today_target"]) == ("active", "", 2)
    assert data["daily"][-1] == {"date": "2026-03-02", "sent": 2, "spam_count": 0}


def test_bad_ids_for_the_stats_are_a_404_envelope(api):
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00", "x" * 300):
        response = api.get(f"/api/v1/inboxes/{bad}/warmup/stats")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_warming_is_turned_on_and_off_through_the_api_with_strict_types(api, alice):
    from tests.inboxes.factories import InboxFactory

    inbox = InboxFactory(workspace=alice.workspace)
    url = f"/api/v1/inboxes/{inbox.pk}"
    assert api.patch(url, {"is_warming": "yes"}, format="json").status_code == 422
    assert api.patch(url, {"daily_warmup_limit": 101}, format="json").status_code == 422
    response = api.patch(url, {"is_warming": True, "daily_warmup_limit": 20}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["is_warming"] is True


def test_an_inbox_whose_mail_lands_in_spam_pauses_and_says_why(trio, api, settings):
    settings.WARMUP_PAUSE_BELOW_HEALTH = 50
    ann, bob, _cat = trio.inboxes
    trio.smtp.junk_for = {bob.email}
    with time_machine.travel(LATE, tick=False):
        for seq in range(1, 11):  # ten of ann's emails found in spam this week
            WarmupEmail.objects.create(
                sender=ann,
                recipient=bob,
                day=LATE.date() - timedelta(days=1),
                seq=seq,
                message_id=f"<old-{seq}@mail.test>",
                due_at=LATE - timedelta(days=1),
                status="sent",
                sent_at=LATE - timedelta(days=1),
                placement="spam",
            )
        warmup_passes.warmup_send_pass()
        assert not WarmupEmail.objects.filter(sender=ann, day=LATE.date()).exists()
        assert WarmupEmail.objects.filter(recipient=ann, day=LATE.date()).exists()
        data = api.get(f"/api/v1/inboxes/{ann.pk}/warmup/stats").json()["data"]
    assert (data["status"], data["health_score"], data["today_target"]) == ("paused", 0, 0)
    assert data["paused_reason"].startswith("Health 0 is below 50")
    assert data["daily"][-2] == {"date": "2026-03-01", "sent": 10, "spam_count": 10}


def test_an_inbox_paused_for_its_health_still_answers_what_it_receives(trio, settings):
    settings.WARMUP_REPLY_PERCENT = 100
    ann, bob, _cat = trio.inboxes
    with time_machine.travel(LATE, tick=False) as clock:
        for seq in range(1, 11):
            WarmupEmail.objects.create(
                sender=ann,
                recipient=bob,
                day=LATE.date() - timedelta(days=1),
                seq=seq,
                message_id=f"<old-{seq}@mail.test>",
                due_at=LATE - timedelta(days=1),
                status="sent",
                sent_at=LATE - timedelta(days=1),
                placement="spam",
            )
        send_the_day(clock)
        warmup_passes.warmup_receive_pass()
        replies = WarmupEmail.objects.filter(sender=ann, kind="reply")
        assert replies.count() == WarmupEmail.objects.filter(recipient=ann, kind="first").count()
        clock.shift(31 * 60)
        warmup_passes.warmup_send_pass()
        assert set(replies.values_list("status", flat=True)) == {"sent"}


def test_a_refused_login_puts_the_inbox_in_error_and_its_emails_wait(trio):
    ann = trio.inboxes[0]
    trio.smtp.add_user(ann.email, "changed-by-someone")
    with time_machine.travel(LATE, tick=False) as clock:
        report = send_the_day(clock)
    ann.refresh_from_db()
    assert ann.connection_status == "error"
    assert "authentication" in ann.connection_error.lower()
    assert report.deferred == 2
    assert set(WarmupEmail.objects.filter(sender=ann).values_list("status", flat=True)) == {
        "scheduled"
    }
    assert ann.email not in {message.mail_from for message in trio.smtp.messages}
    assert warmup.warmup_stats(ann, DAY_END)["status"] == "paused"


def test_a_refused_recipient_fails_and_a_busy_server_is_tried_again_later(trio):
    _ann, bob, cat = trio.inboxes
    trio.smtp.reply_to_rcpt(bob.email, "550 5.1.1 User unknown")
    trio.smtp.reply_to_rcpt(cat.email, "451 4.7.1 Try again later")
    with time_machine.travel(LATE, tick=False) as clock:
        send_the_day(clock)
        to_bob = WarmupEmail.objects.filter(recipient=bob)
        to_cat = WarmupEmail.objects.filter(recipient=cat)
        assert set(to_bob.values_list("status", flat=True)) == {"failed"}
        assert set(to_cat.values_list("status", flat=True)) == {"scheduled"}
        assert all(row.smtp_response.startswith("451") for row in to_cat)

        trio.smtp.reset()
        clock.shift(11 * 60)
        assert warmup_passes.warmup_send_pass().sent == to_cat.count()


def test_the_stats_cost_the_same_few_queries_however_much_was_sent(trio, api):
    ann = trio.inboxes[0]
    url = f"/api/v1/inboxes/{ann.pk}/warmup/stats"
    with time_machine.travel(LATE, tick=False) as clock:
        api.get(url)  # the key's first use of the day is recorded once
        with CaptureQueriesContext(connection) as before:
            api.get(url)
        send_the_day(clock)
        warmup_passes.warmup_receive_pass()
        with CaptureQueriesContext(connection) as after:
            assert api.get(url).json()["data"]["sent"] == 2
    # The key's own bookkeeping (its last use, recorded now and then) aside.
    assert warmup_queries(after) == warmup_queries(before) <= 5


def warmup_queries(context: CaptureQueriesContext) -> int:
    return sum("reachkit_apikey" not in query["sql"] for query in context.captured_queries)


def test_turning_warmup_off_and_on_within_a_week_keeps_the_ramp_after_a_week_restarts_it(trio, api):
    ann = trio.inboxes[0]
    url = f"/api/v1/inboxes/{ann.pk}"
    with time_machine.travel(LATE, tick=False) as clock:
        send_the_day(clock)  # day 1 of the ramp: 2
        assert api.patch(url, {"is_warming": False}, format="json").status_code == 200
        clock.move_to(LATE + timedelta(days=3))
        assert warmup_passes.warmup_send_pass().planned == 8  # bob and cat: day 2, 4 each
        assert api.patch(url, {"is_warming": True}, format="json").status_code == 200
        warmup_passes.warmup_send_pass()
        assert warmup.warmup_stats(ann, LATE + timedelta(days=3))["today_target"] == 4
        assert (
            WarmupEmail.objects.filter(sender=ann, day=LATE.date() + timedelta(days=3)).count() == 4
        )

        assert api.patch(url, {"is_warming": False}, format="json").status_code == 200
        clock.move_to(LATE + timedelta(days=10))
        assert api.patch(url, {"is_warming": True}, format="json").status_code == 200
        warmup_passes.warmup_send_pass()
        stats = api.get(f"{url}/warmup/stats").json()["data"]
        assert stats["today_target"] == 2  # off for 7 days: back to the start
        assert stats["ramp_up_progress"] == 20


def test_a_pass_over_a_planned_day_costs_the_same_few_queries_for_any_pool(world, alice):
    def second_plan_queries() -> int:
        warmup_passes.plan(LATE)
        with CaptureQueriesContext(connection) as queries:
            assert warmup_passes.plan(LATE) == 0
        return len(queries)

    for name in ("ann", "bob"):
        world.add(alice.workspace, name)
    with time_machine.travel(LATE, tick=False):
        small = second_plan_queries()
        for name in ("cat", "dan", "eve", "fay"):
            world.add(alice.workspace, name)
        assert second_plan_queries() == small <= 5


def test_a_hostile_message_carrying_the_token_does_not_break_the_receive_pass(trio):
    # Every inbox of a shared pool receives the token: a tenant can put it in any mail.
    # Undecodable bytes in its headers must not stop the pass (for this mailbox or others).
    ann = trio.inboxes[0]
    token = warmup_token().encode()
    hostile = [
        b"Message-ID: <caf\xc3\xa9\xff@evil.test>\r\nX-Reachkit-Warmup: " + token + b"\r\n",
        b"Message-ID: <plain@evil.test>\r\nX-Reachkit-Warmup: " + token + b"\xff\r\n",
    ]
    with time_machine.travel(LATE, tick=False) as clock:
        send_the_day(clock)
        for headers in hostile:
            trio.dovecot.append(ann.email, headers + b"Subject: hi\r\n\r\nbody\r\n")
        out = StringIO()
        call_command("warmup", "--receive-only", stdout=out)
    assert json.loads(out.getvalue())["received"] == 6
    assert WarmupEmail.objects.filter(received_at__isnull=True).count() == 0


def test_clearing_warmup_copies_from_sent_expunges_nothing_else(trio):
    # A person's mail client marked one of their sent emails deleted without expunging it
    # yet (its trash model): warmup removes its own copies, and leaves that one alone.
    ann = trio.inboxes[0]
    own = b"Message-ID: <own@mail.test>\r\nSubject: mine\r\n\r\nkeep me\r\n"
    trio.dovecot.append(ann.email, own, folder="Sent", flags=("\\Deleted",))
    with time_machine.travel(LATE, tick=False) as clock:
        send_the_day(clock)
        old_copy = trio.folder(ann, "Sent")[-1]
        trio.dovecot.append(
            ann.email, old_copy, folder="Sent", when=datetime(2026, 2, 20, tzinfo=UTC)
        )
        call_command("warmup", "--receive-only", stdout=StringIO())
    sent = trio.folder(ann, "Sent")
    assert own in sent
    assert len(sent) == 1 + 2  # hers, and this week's two warmup copies


@pytest.mark.postgres
def test_every_query_of_the_passes_is_served_by_an_index(trio):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")
    ann, bob, _cat = trio.inboxes
    # Two weeks of history, read and cleaned up long ago: what the passes must not scan.
    old = LATE - timedelta(days=14)
    WarmupEmail.objects.bulk_create(
        WarmupEmail(
            sender=ann,
            recipient=bob,
            day=old.date(),
            seq=seq,
            message_id=f"<old-{seq}@mail.test>",
            status="sent",
            due_at=old,
            claimed_at=old,
            attempted_at=old,
            sent_at=old,
            received_at=old,
            placement="inbox",
            archived_at=old,
        )
        for seq in range(1, 5001)
    )
    with (
        time_machine.travel(LATE, tick=False) as clock,
        CaptureQueriesContext(connection) as captured,
    ):
        send_the_day(clock)
        warmup_passes.warmup_receive_pass()
        clock.move_to(DAY_END + timedelta(days=3))
        warmup_passes.warmup_send_pass()
        warmup_passes.warmup_receive_pass()
    queries = [
        query["sql"]
        for query in captured.captured_queries
        if '"inboxes_warmupemail"' in query["sql"]
        and query["sql"].startswith(("SELECT", "UPDATE", "DELETE"))
    ]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inboxes_warmupemail")
        scans = []
        for sql in queries:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            if "Seq Scan on inboxes_warmupemail" in plan:
                scans.append(sql)
    assert scans == [], "\n".join(scans)
