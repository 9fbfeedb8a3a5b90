"""What one incoming email does (unibox/ingest.py), through the sending engine's real
services: campaign emails leave through the test SMTP server, and what comes back is
ingested as sync would hand it over."""

import threading
import time
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.db import connections
from django.utils import timezone

from blocklist.models import BlocklistEntry
from campaigns.models import Send
from inboxes.warmup_marks import WARMUP_HEADER, warmup_token
from leads.models import Lead
from tests.inboxes.factories import InboxFactory
from tests.unibox import mails
from unibox.display import safe_html
from unibox.ingest import Location, Outcome, ingest_message
from unibox.models import Attachment, Conversation, Message


def sent_step_one(outreach, *emails):
    leads = outreach.add_leads(*emails)
    assert outreach.send_due()["sent"] == len(emails)
    return [Lead.objects.get(pk=lead.pk) for lead in leads]


def ingest(outreach, message: EmailMessage | bytes, **location) -> Outcome:
    raw = message if isinstance(message, bytes) else message.as_bytes()
    return ingest_message(inbox=outreach.inbox, raw=raw, location=Location(**location))


# --- replies ---------------------------------------------------------------------------------


def test_a_reply_threaded_by_in_reply_to_becomes_the_leads_conversation(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)

    outcome = ingest(outreach, mails.reply(send), folder="INBOX", uidvalidity=7, uid=1)

    assert outcome == Outcome.REPLY
    conversation = Conversation.objects.get(lead=bob)
    assert conversation.folder == Conversation.Folder.PRIMARY
    assert conversation.label == "needs_more_info"
    assert conversation.inbox_id == outreach.inbox.pk
    assert conversation.subject == f"Re: {send.subject}"
    [message] = conversation.messages.all()
    assert message.direction == Message.Direction.INCOMING
    assert message.send_id == send.pk
    assert message.from_email == "bob@acme.com"
    assert message.to_recipients == [{"email": outreach.inbox.email, "name": ""}]
    assert message.new_text.startswith("Thanks, that sounds interesting")
    assert "On Wed, Sam wrote" in message.text_body
    assert (message.folder, message.uidvalidity, message.uid) == ("INBOX", 7, 1)
    assert conversation.last_message_at == message.email_date
    bob.refresh_from_db()
    send.refresh_from_db()
    assert bob.status == Lead.Status.REPLIED
    assert bob.label == "needs_more_info"
    assert bob.next_due_at is None  # stop on reply
    assert send.replied_at == message.email_date
    outreach.advance(days=3)
    assert outreach.send_due()["sent"] == 0


def test_the_same_reply_ingested_again_applies_nothing_twice(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    reply = mails.reply(outreach.send_of(bob))
    assert ingest(outreach, reply, folder="INBOX", uidvalidity=7, uid=1) == Outcome.REPLY
    bob.refresh_from_db()
    replied_at = bob.replied_at

    # Read again: the same UID, another UIDVALIDITY, another folder.
    assert ingest(outreach, reply, folder="INBOX", uidvalidity=7, uid=1) == Outcome.DUPLICATE
    assert ingest(outreach, reply, folder="INBOX", uidvalidity=8, uid=1) == Outcome.DUPLICATE
    assert ingest(outreach, reply, folder="Junk", uidvalidity=3, uid=9) == Outcome.DUPLICATE

    assert Message.objects.count() == 1
    assert Conversation.objects.count() == 1
    bob.refresh_from_db()
    assert bob.replied_at == replied_at


def test_a_reply_without_threading_headers_is_matched_by_address_and_subject(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    reply = mails.reply(send, threaded=False, subject=f"AW:  RE : {send.subject.upper()}")
    reply.replace_header("From", "Bob <BOB@acme.com>")

    assert ingest(outreach, reply) == Outcome.REPLY

    message = Message.objects.get()
    assert message.send_id == send.pk
    assert message.from_name == "Bob"
    assert Conversation.objects.get().lead_id == bob.pk


def test_a_mail_from_a_lead_about_something_else_is_not_imported(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)

    outcome = ingest(outreach, mails.reply(send, threaded=False, subject="Lunch on Friday?"))

    assert outcome == Outcome.NOT_IMPORTED
    assert not Message.objects.exists()
    bob.refresh_from_db()
    assert bob.status != Lead.Status.REPLIED


def test_a_reply_by_subject_alone_counts_only_within_30_days(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    outreach.advance(days=31)

    assert ingest(outreach, mails.reply(send, threaded=False)) == Outcome.NOT_IMPORTED
    # Threaded by its headers, it counts whenever it comes.
    assert ingest(outreach, mails.reply(send)) == Outcome.REPLY


def test_mail_that_is_not_about_a_campaign_is_not_imported(outreach):
    sent_step_one(outreach, "bob@acme.com")

    assert ingest(outreach, mails.unrelated(outreach.inbox.email)) == Outcome.NOT_IMPORTED

    assert not Message.objects.exists()
    assert not Conversation.objects.exists()


def test_warmup_mail_is_never_a_conversation(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    reply = mails.reply(outreach.send_of(bob), headers={WARMUP_HEADER: warmup_token()})

    assert ingest(outreach, reply) == Outcome.WARMUP

    assert not Message.objects.exists()
    bob.refresh_from_db()
    assert bob.status != Lead.Status.REPLIED


def test_a_reply_in_another_workspaces_inbox_is_not_threaded_to_our_send(outreach, charlie):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    theirs = InboxFactory(workspace=charlie.workspace, email=outreach.inbox.email)

    raw = mails.reply(send).as_bytes()
    assert ingest_message(inbox=theirs, raw=raw, location=Location()) == Outcome.NOT_IMPORTED
    assert not Message.objects.exists()


def test_the_label_override_wins_over_the_classifier(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    assert ingest(outreach, mails.reply(send, text="Not now, thanks.")) == Outcome.REPLY
    conversation = Conversation.objects.get()
    conversation.label_override = Conversation.Label.INTERESTED
    conversation.save()

    second = mails.reply(send, text="Maybe we can talk about it later, who knows.")
    assert ingest(outreach, second) == Outcome.REPLY

    bob.refresh_from_db()
    assert bob.label == "interested"
    assert bob.is_positive
    conversation.refresh_from_db()
    assert conversation.label_override == "interested"


def test_an_older_reply_read_later_does_not_replace_the_latest_label(outreach):
    # Sync reads INBOX, then Junk: an earlier reply that landed in Junk comes second.
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    now = timezone.now()
    latest = mails.reply(send, text="I'm interested. Could we have a call next week?", date=now)
    earlier = mails.reply(send, text="Not interested, thanks.", date=now - timedelta(hours=2))

    assert ingest(outreach, latest, folder="INBOX", uidvalidity=1, uid=1) == Outcome.REPLY
    assert ingest(outreach, earlier, folder="Junk", uidvalidity=1, uid=1) == Outcome.REPLY

    conversation = Conversation.objects.get(lead=bob)
    bob.refresh_from_db()
    assert conversation.label == bob.label == "meeting_requested"
    assert bob.is_positive
    assert conversation.messages.count() == 2
    assert conversation.last_message_at == conversation.messages.last().email_date


def test_a_positive_reply_marks_the_lead_positive(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    text = "Yes, let's meet on Tuesday at 3pm. Send an invite."

    ingest(outreach, mails.reply(outreach.send_of(bob), text=text))

    bob.refresh_from_db()
    assert (bob.label, bob.is_positive) == ("meeting_requested", True)
    assert Conversation.objects.get().is_positive


def test_an_unsubscribe_request_stops_and_blocklists_the_lead(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")

    outcome = ingest(outreach, mails.reply(outreach.send_of(bob), text="Please remove me."))

    assert outcome == Outcome.REPLY
    bob.refresh_from_db()
    assert bob.is_unsubscribed
    assert bob.label == "unsubscribe"
    assert BlocklistEntry.objects.filter(workspace=outreach.campaign.workspace).exists()


def test_a_reply_from_a_lead_with_stop_on_company_reply_holds_its_colleagues(outreach):
    outreach.campaign.stop_on_company_reply = True
    outreach.campaign.stop_on_reply = True
    outreach.campaign.save()
    bob, ann = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")

    ingest(outreach, mails.reply(outreach.send_of(bob)))

    outreach.advance(days=3)
    assert outreach.send_due()["sent"] == 0
    assert Send.objects.get(lead=ann, step=2).skip_reason == "company_replied"


# --- automatic replies --------------------------------------------------------------------------


def test_an_out_of_office_pauses_the_lead_until_the_day_after_its_return(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")

    outcome = ingest(outreach, mails.out_of_office(outreach.send_of(bob)))

    assert outcome == Outcome.AUTO_REPLY
    conversation = Conversation.objects.get()
    assert conversation.folder == Conversation.Folder.OTHERS
    assert conversation.label == "out_of_office"
    assert Message.objects.get().auto_reply_kind == "out_of_office"
    bob.refresh_from_db()
    assert bob.status != Lead.Status.REPLIED  # not a reply in analytics
    outreach.advance(days=3)  # step 2 was due after 2 days: it waits
    assert outreach.send_due()["sent"] == 0
    outreach.advance(days=4)  # 21 January: back
    assert outreach.send_due()["sent"] == 1
    assert outreach.send_of(bob, step=2).status == Send.Status.SENT


def test_a_left_company_reply_stops_the_lead(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")

    assert ingest(outreach, mails.left_company(outreach.send_of(bob))) == Outcome.AUTO_REPLY

    bob.refresh_from_db()
    assert bob.left_company_at is not None
    assert Conversation.objects.get().folder == Conversation.Folder.OTHERS
    outreach.advance(days=3)
    assert outreach.send_due()["sent"] == 0


def test_an_out_of_office_after_a_reply_leaves_the_conversation_where_it_is(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    ingest(outreach, mails.reply(send))

    ingest(outreach, mails.out_of_office(send))

    conversation = Conversation.objects.get()
    assert conversation.folder == Conversation.Folder.PRIMARY
    assert conversation.label == "needs_more_info"
    assert conversation.messages.count() == 2


# --- bounces ---------------------------------------------------------------------------------


def test_a_hard_bounce_marks_the_send_and_the_lead_and_is_no_conversation(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)

    assert ingest(outreach, mails.bounce(send)) == Outcome.BOUNCE

    send.refresh_from_db()
    bob.refresh_from_db()
    assert send.status == Send.Status.BOUNCED
    assert "5.1.1" in send.smtp_response
    assert bob.is_bounced
    assert not Conversation.objects.exists()
    # Read again: nothing more happens.
    assert ingest(outreach, mails.bounce(send)) == Outcome.BOUNCE
    send.refresh_from_db()
    assert send.status == Send.Status.BOUNCED


def test_a_bounce_without_the_original_message_id_is_matched_by_its_recipient(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)

    assert ingest(outreach, mails.bounce(send, quote_message_id=False)) == Outcome.BOUNCE

    send.refresh_from_db()
    assert send.status == Send.Status.BOUNCED


def test_a_soft_bounce_keeps_the_leads_place_and_replays_change_nothing(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    outreach.advance(minutes=5)
    report = mails.bounce(send, status="4.2.2")

    assert ingest(outreach, report) == Outcome.BOUNCE
    send.refresh_from_db()
    assert send.status == Send.Status.SCHEDULED
    assert send.soft_bounced_at is not None
    assert ingest(outreach, report) == Outcome.BOUNCE
    send.refresh_from_db()
    assert send.status == Send.Status.SCHEDULED
    bob.refresh_from_db()
    assert not bob.is_bounced


def test_a_bounce_about_no_send_of_ours_is_not_imported(outreach):
    sent_step_one(outreach, "bob@acme.com")
    stranger = Send(
        message_id="<nobody@else.test>",
        to_email="carol@other.test",
        from_email=outreach.inbox.email,
        subject="Hello",
    )

    assert ingest(outreach, mails.bounce(stranger)) == Outcome.NOT_IMPORTED


# --- contents --------------------------------------------------------------------------------


def test_attachments_are_stored_byte_for_byte(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    reply = mails.reply(outreach.send_of(bob))
    pdf = bytes(range(256)) * 40
    reply.add_attachment(pdf, maintype="application", subtype="pdf", filename="../../quote.pdf")
    reply.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="data.csv")

    ingest(outreach, reply)

    first, second = Attachment.objects.order_by("filename")
    assert (first.filename, first.content_type, first.size) == ("data.csv", "text/csv", 8)
    assert second.filename == "quote.pdf"
    assert second.content_type == "application/pdf"
    with second.file.open("rb") as stored:
        assert stored.read() == pdf
    assert str(second.id) in second.file.name
    assert second.workspace_id == outreach.campaign.workspace_id


def test_incoming_html_is_stored_as_it_came_and_shown_only_sanitised(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    reply = mails.reply(outreach.send_of(bob))
    html = (
        '<p onclick="x()">Sounds <b>good</b></p><script>alert(1)</script>'
        '<img src="https://tracker.test/p.gif">'
    )
    reply.add_alternative(html, subtype="html")

    ingest(outreach, reply)

    stored = Message.objects.get().html_body
    assert stored.strip() == html
    shown = safe_html(stored)
    assert "<b>good</b>" in shown
    assert "script" not in shown
    assert "onclick" not in shown
    assert "tracker.test" not in shown


def test_a_message_over_the_size_cap_is_recorded_without_its_body(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    reply = mails.reply(outreach.send_of(bob))
    headers = reply.as_bytes().split(b"\n\n", 1)[0] + b"\n\n"

    outcome = ingest(outreach, headers, size=40_000_000, body_skipped=True)

    assert outcome == Outcome.REPLY
    message = Message.objects.get()
    assert message.body_skipped
    assert message.size == 40_000_000
    assert message.text_body == ""
    bob.refresh_from_db()
    assert bob.status == Lead.Status.REPLIED


def test_a_message_without_message_id_is_still_stored_once(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    reply = mails.reply(outreach.send_of(bob))
    del reply["Message-ID"]

    assert ingest(outreach, reply, folder="INBOX", uidvalidity=1, uid=5) == Outcome.REPLY
    assert ingest(outreach, reply, folder="INBOX", uidvalidity=2, uid=5) == Outcome.DUPLICATE


def test_hostile_headers_never_fail_the_message(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    raw = (
        f"From: =?utf-8?q?B=00ob?= <bob@acme.com>\r\n"
        f"To: {'x' * 5000}@acme.com, \x00@@, =?bogus?q?x?=\r\n"
        f"Subject: Re: {send.subject}\x00\r\n"
        f"In-Reply-To: {send.message_id}\r\n"
        "Date: Thu, 99 Foo 99999 99:99:99 +9999\r\n"
        "Content-Type: text/plain; charset=unknown-8bit\r\n"
        "\r\n"
        "Sure \x00 \xff\xfe thing\r\n"
    ).encode("latin-1")

    assert ingest(outreach, raw) == Outcome.REPLY
    message = Message.objects.get()
    assert "\x00" not in message.text_body + message.subject + message.from_name


def test_a_huge_or_deeply_nested_header_is_read_quickly_and_the_reply_kept(outreach):
    # The standard library parsed this To: in minutes (quadratic), and a sync that timed out
    # on it read it again on every pass; comments nested a thousand deep raised
    # RecursionError and the reply was lost.
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    quotes = '"' * 60_000
    raw = (
        "From: Bob <bob@acme.com>\r\n"
        f"To: {outreach.inbox.email}, {quotes}\r\n"
        f"Cc: {'(' * 5_000}\r\n"
        f"Subject: Re: {send.subject}\r\n"
        f"In-Reply-To: {send.message_id}\r\n"
        f"Content-Type: text/plain; {'(' * 5_000}\r\n"
        "\r\n"
        "Sure thing\r\n"
    ).encode()

    started = time.monotonic()
    assert ingest(outreach, raw) == Outcome.REPLY
    assert time.monotonic() - started < 10
    message = Message.objects.get()
    assert message.to_recipients[0]["email"] == outreach.inbox.email
    assert message.text_body.strip() == "Sure thing"


def test_nul_in_an_address_or_a_message_id_never_loses_the_reply(outreach):
    # PostgreSQL refuses NUL in a query or a row: the lead's reply was skipped as an error.
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    raw = (
        "From: Bob <bob@acme.com\x00>\r\n"
        f"Subject: Re: {send.subject}\r\n"
        "Message-ID: <re\x00ply@acme.com>\r\n"
        "In-Reply-To: <other\x00@acme.com>\r\n"
        f"References: {send.message_id}\r\n"
        "\r\n"
        "Sure thing\r\n"
    ).encode("latin-1")

    assert ingest(outreach, raw) == Outcome.REPLY
    message = Message.objects.get()
    assert (message.from_email, message.message_id) == ("bob@acme.com", "<reply@acme.com>")
    assert message.send_id == send.pk


def test_a_bounce_quoting_a_message_id_with_nul_is_still_applied(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    quoted = send.message_id.encode()
    raw = mails.bounce(send).replace(quoted, quoted[:-1] + b"\x00>")

    assert ingest(outreach, raw) == Outcome.BOUNCE
    bob.refresh_from_db()
    send.refresh_from_db()
    assert bob.is_bounced
    assert send.status == Send.Status.BOUNCED


# --- threads started through the API -----------------------------------------------------------


def test_a_reply_to_a_conversation_started_through_the_api_is_kept_in_it(outreach):
    conversation = Conversation.objects.create(
        workspace=outreach.campaign.workspace,
        inbox=outreach.inbox,
        subject="Partnership",
        folder=Conversation.Folder.PRIMARY,
        last_message_at=timezone.now() - timedelta(hours=1),
    )
    Message.objects.create(
        workspace=conversation.workspace,
        conversation=conversation,
        inbox=outreach.inbox,
        direction=Message.Direction.OUTGOING,
        message_id="<api-1@mail.test>",
        subject="Partnership",
        from_email=outreach.inbox.email,
        email_date=conversation.last_message_at,
    )
    answer = mails.reply(
        sender="partner@firm.test", to=outreach.inbox.email, subject="Re: Partnership"
    )
    answer["In-Reply-To"] = "<api-1@mail.test>"

    assert ingest(outreach, answer) == Outcome.KEPT

    conversation.refresh_from_db()
    assert conversation.messages.count() == 2
    assert conversation.last_message_at > timezone.now() - timedelta(minutes=5)
    assert conversation.folder == Conversation.Folder.PRIMARY


# --- races -------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_ingesting_the_same_reply_apply_it_once(outreach, settings):
    if connections["default"].vendor != "postgresql":
        pytest.skip("row locks decide this race: PostgreSQL only")
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    raw = mails.reply(outreach.send_of(bob)).as_bytes()
    outcomes: list[Outcome] = []
    start = threading.Barrier(2)

    def worker(uid: int) -> None:
        try:
            start.wait(5)
            outcomes.append(
                ingest_message(
                    inbox=outreach.inbox, raw=raw, location=Location(folder="INBOX", uid=uid)
                )
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(uid,)) for uid in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert sorted(outcomes) == sorted([Outcome.REPLY, Outcome.DUPLICATE])
    assert Message.objects.count() == 1


def test_the_engines_look_ups_take_keyword_arguments_only_and_stay_in_the_workspace(
    outreach, charlie
):
    import inspect

    from campaigns.sending import services

    for lookup in (services.sends_by_message_id, services.sends_to):
        parameters = inspect.signature(lookup).parameters.values()
        assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in parameters)
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    found = services.sends_by_message_id(
        workspace_id=outreach.campaign.workspace_id, message_ids=[send.message_id, "<x@y>"]
    )
    assert list(found) == [send.message_id]
    assert found[send.message_id].lead == bob
    assert (
        services.sends_by_message_id(
            workspace_id=charlie.workspace.pk, message_ids=[send.message_id]
        )
        == {}
    )
    since = timezone.now() - timedelta(days=1)
    assert services.sends_to(
        inbox_id=outreach.inbox.pk, addresses=["BOB@acme.com"], since=since
    ) == [send]
    assert services.sends_to(inbox_id=outreach.inbox.pk, addresses=[], since=since) == []
