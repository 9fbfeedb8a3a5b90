"""The sending engine end to end: send_due over a real SMTP server, a real Dovecot."""

from email.utils import parsedate_to_datetime

from campaigns.models import Send
from leads.models import Lead
from tests.campaigns.outreach import html_of, text_of


def test_step_one_goes_to_every_due_lead_from_the_attached_inbox(outreach):
    bob, ann = outreach.add_leads("bob@acme.com", "ann@globex.com", variables={"company": "Acme"})

    assert outreach.send_due() == {"sent": 2, "failed": 0, "deferred": 0}

    received = outreach.received()
    assert sorted(r.rcpt_tos[0] for r in received) == ["ann@globex.com", "bob@acme.com"]
    assert all(r.mail_from == outreach.inbox.email for r in received)
    assert all(r.authenticated_as == outreach.inbox.email for r in received)
    message = outreach.received_by("bob@acme.com")[0]
    send = outreach.send_of(bob)
    assert message["Subject"] == "Hi Bob"
    assert message["From"] == f"Sam Sender <{outreach.inbox.email}>"
    assert message["To"] == "Bob <bob@acme.com>"
    assert message["Message-ID"] == send.message_id
    assert send.message_id.endswith(f"@{outreach.inbox.domain}>")
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message.get_content_type() == "multipart/alternative"
    text, html = text_of(message), html_of(message)
    assert "Hello Bob,\na quick question about Acme." in text
    assert "Hello Bob,<br>a quick question about Acme." in html

    for lead in (bob, ann):
        lead.refresh_from_db()
        assert lead.status == Lead.Status.CONTACTED
        assert lead.next_step == 2
        assert lead.last_sent_at is not None
    assert send.status == Send.Status.SENT
    assert send.subject == "Hi Bob"
    assert send.smtp_code == 250


def test_a_second_pass_sends_nothing_twice(outreach):
    outreach.add_leads("bob@acme.com")
    outreach.send_due()
    assert outreach.send_due() == {"sent": 0, "failed": 0, "deferred": 0}
    assert len(outreach.received()) == 1


def test_the_follow_up_waits_its_delay_then_replies_in_the_thread(outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    first = outreach.send_of(bob)

    outreach.advance(days=1)
    assert outreach.send_due()["sent"] == 0
    outreach.advance(days=1, minutes=1)
    assert outreach.send_due()["sent"] == 1

    follow_up = outreach.received_by("bob@acme.com")[1]
    assert follow_up["Subject"] == "Re: Hi Bob"
    assert follow_up["In-Reply-To"] == first.message_id
    assert follow_up["References"] == first.message_id
    assert "Just bumping this up, Bob." in text_of(follow_up)
    assert outreach.send_of(bob, step=2).inbox == outreach.inbox
    bob.refresh_from_db()
    assert bob.next_due_at is None  # the last step: the sequence is over


def test_one_smtp_login_carries_a_whole_batch(outreach):
    outreach.add_leads(*(f"lead{n}@acme.com" for n in range(5)))
    outreach.send_due()
    assert len(outreach.received()) == 5
    assert [attempt.succeeded for attempt in outreach.smtp.auth_attempts] == [True]


def test_progress_is_recounted_by_its_periodic_task_after_the_last_email(outreach):
    from campaigns.models import Campaign
    from campaigns.tasks import campaigns_progress_refresh_task

    outreach.add_leads("bob@acme.com", "ann@acme.com")
    outreach.send_due()
    outreach.advance(days=2, minutes=1)
    outreach.send_due()  # both got their last step
    campaigns_progress_refresh_task.delay()
    assert Campaign.objects.get(pk=outreach.campaign.pk).progress == 100


def test_an_unknown_send_from_an_inbox_without_imap_fails_at_once_never_resent(outreach, settings):
    settings.SEND_RECONCILE_AFTER_SECONDS = 60
    outreach.inbox.imap_host = ""
    outreach.inbox.save()
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.smtp.drop_after_data()
    outreach.send_due()
    outreach.advance(minutes=2)
    outreach.send_due()
    send = outreach.send_of(bob)
    assert send.status == Send.Status.FAILED
    assert "no IMAP" in send.smtp_response
    assert len(outreach.received()) == 1
