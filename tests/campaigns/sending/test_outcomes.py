"""What the SMTP server says, and what happens then: sent, retried, bounced, failed, unknown."""

import time
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.test import Client

from blocklist.services import blocklist_contains
from campaigns import services
from campaigns.models import STATUS_TRANSITIONS, Campaign, Send
from campaigns.sending.delivery import deliver
from campaigns.sending.outbox import recover_stale_claims
from campaigns.sending.passes import run_pass
from campaigns.tasks import send_pass_run_task
from inboxes.models import Inbox
from leads.models import Lead
from tests.campaigns.outreach import html_of, text_of


def test_a_temporary_refusal_is_retried_later_as_the_same_email(outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.smtp.reply_to_rcpt("bob@acme.com", "451 4.7.1 Try again later")

    assert outreach.send_due() == {"sent": 0, "failed": 0, "deferred": 1}

    send = outreach.send_of(bob)
    assert send.status == Send.Status.SCHEDULED
    assert send.attempts == 1
    assert send.smtp_code == 451
    first_try_due = send.due_at
    assert first_try_due > send.claimed_at + timedelta(minutes=5)  # backoff: due_at moved
    assert outreach.send_due()["sent"] == 0  # not before it is due

    outreach.smtp.reset()
    outreach.clock.move_to(first_try_due + timedelta(seconds=1))
    assert outreach.send_due()["sent"] == 1
    send.refresh_from_db()
    assert send.status == Send.Status.SENT
    [message] = outreach.received()
    assert message.message["Message-ID"] == send.message_id


def test_temporary_refusals_give_up_after_the_last_retry(outreach, settings):
    settings.SEND_RETRY_DELAYS_SECONDS = (60, 60)
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.smtp.reply_to_rcpt("bob@acme.com", "452 4.2.2 Mailbox full")
    for _ in range(3):
        outreach.send_due()
        outreach.advance(minutes=2)
    send = outreach.send_of(bob)
    assert (send.status, send.attempts) == (Send.Status.FAILED, 3)
    assert outreach.received() == []


def test_a_hard_refusal_of_the_recipient_is_a_bounce(outreach):
    bob, _ = outreach.add_leads("bob@acme.com", "ann@acme.com")
    outreach.smtp.reply_to_rcpt("bob@acme.com", "550 5.1.1 User unknown")

    assert outreach.send_due() == {"sent": 1, "failed": 1, "deferred": 0}

    send = outreach.send_of(bob)
    assert send.status == Send.Status.BOUNCED
    assert send.smtp_response.startswith("550 5.1.1")
    bob.refresh_from_db()
    assert bob.is_bounced
    assert bob.next_due_at is None
    outreach.advance(days=3)
    outreach.send_due()
    assert not Send.objects.filter(lead=bob, step=2).exists()


def test_a_permanent_refusal_that_names_a_soft_reason_is_tried_again_not_a_bounce(outreach):
    """The words decide, as in a bounce report: a full mailbox may empty (reachkit's table of
    delivery failures, which the unified inbox reads too)."""
    bob, _ = outreach.add_leads("bob@acme.com", "ann@acme.com")
    outreach.smtp.reply_to_rcpt("bob@acme.com", "552 5.2.2 Mailbox full, try again later")

    assert outreach.send_due() == {"sent": 1, "failed": 0, "deferred": 1}

    send = outreach.send_of(bob)
    assert send.status == Send.Status.SCHEDULED
    assert send.smtp_code == 552
    bob.refresh_from_db()
    assert not bob.is_bounced


def test_a_refusal_after_data_with_a_mailbox_status_is_a_bounce_other_refusals_fail(outreach):
    outreach.add_leads("bob@acme.com", "ann@acme.com")
    outreach.smtp.reply_to_data("550 5.1.1 No such user here", times=1)
    outreach.send_due()
    statuses = sorted(Send.objects.values_list("status", flat=True))
    assert statuses == ["bounced", "sent"]

    carl, dora = outreach.add_leads("carl@acme.com", "dora@acme.com")
    outreach.smtp.reply_to_data("554 5.7.1 Message rejected as spam", times=1)
    outreach.send_due()
    failed = Send.objects.get(lead__in=[carl, dora], status=Send.Status.FAILED)
    assert failed.smtp_code == 554
    assert not Lead.objects.get(pk=failed.lead_id).is_bounced


def test_a_connection_lost_after_data_is_unknown_and_never_resent_blindly(outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.smtp.drop_after_data()

    outreach.send_due()

    send = outreach.send_of(bob)
    assert send.status == Send.Status.UNKNOWN
    assert len(outreach.received()) == 1  # it did arrive; the sender could not know
    outreach.send_due()
    assert len(outreach.received()) == 1


def test_an_unknown_send_found_in_the_sent_folder_is_settled_sent(outreach, settings):
    settings.SEND_RECONCILE_AFTER_SECONDS = 60
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.smtp.drop_after_data()
    outreach.send_due()
    # The server filed it, as Gmail does with what goes through its SMTP.
    outreach.mailbox.dovecot.append(outreach.inbox.email, outreach.received()[0].raw, folder="Sent")

    outreach.advance(minutes=2)
    outreach.send_due()

    send = outreach.send_of(bob)
    assert send.status == Send.Status.SENT
    bob.refresh_from_db()
    assert (bob.status, bob.next_step) == (Lead.Status.CONTACTED, 2)
    assert len(outreach.received()) == 1


def test_an_unknown_send_not_in_the_sent_folder_is_settled_failed(outreach, settings):
    settings.SEND_RECONCILE_AFTER_SECONDS = 60
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.smtp.drop_after_data()
    outreach.send_due()
    outreach.advance(minutes=2)
    outreach.send_due()
    assert outreach.send_of(bob).status == Send.Status.FAILED
    assert len(outreach.received()) == 1


def test_a_refused_login_puts_the_inbox_in_error_and_its_sends_wait(outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.inbox.smtp_password = "not the password"
    outreach.inbox.save()

    assert outreach.send_due()["sent"] == 0

    outreach.inbox.refresh_from_db()
    assert outreach.inbox.connection_status == Inbox.ConnectionStatus.ERROR
    assert "authentication failed" in outreach.inbox.connection_error
    send = outreach.send_of(bob)
    assert (send.status, send.attempts) == (Send.Status.SCHEDULED, 0)
    assert outreach.send_due()["sent"] == 0  # an inbox in error is not used


def test_an_inbox_whose_host_now_leads_to_a_private_address_sends_nothing(outreach, settings):
    # The inbox was connected; its host is now refused (here: loopback, no longer allowed).
    # The sender's logins go through the same address policy as the connection check.
    settings.INBOX_ALLOWED_NETWORKS = []
    (bob,) = outreach.add_leads("bob@acme.com")

    assert outreach.send_due() == {"sent": 0, "failed": 0, "deferred": 1}

    send = outreach.send_of(bob)
    assert (send.status, send.attempts) == (Send.Status.SCHEDULED, 1)
    assert send.smtp_response.startswith(
        "SMTP connection failed: 127.0.0.1 is a private or reserved address"
    )
    assert outreach.smtp.auth_attempts == []
    assert outreach.received() == []


def test_reconciliation_does_not_read_a_sent_folder_at_a_refused_address(outreach, settings):
    settings.SEND_RECONCILE_AFTER_SECONDS = 60
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.smtp.drop_after_data()
    outreach.send_due()
    outreach.mailbox.dovecot.append(outreach.inbox.email, outreach.received()[0].raw, folder="Sent")
    settings.INBOX_ALLOWED_NETWORKS = []

    outreach.advance(minutes=2)
    outreach.send_due()

    assert outreach.send_of(bob).status == Send.Status.UNKNOWN  # not looked at: tried later


def test_a_login_to_a_server_answering_a_byte_at_a_time_ends_by_the_deadline(
    outreach, settings, drip_server_factory
):
    settings.INBOX_CONNECT_TIMEOUT_SECONDS = 1
    settings.INBOX_CHECK_DEADLINE_SECONDS = 1.5
    drip = drip_server_factory(greeting=b"220 slow.test ESMTP\r\n", interval=0.3, lasts=20)
    Inbox.objects.filter(pk=outreach.inbox.pk).update(smtp_port=drip.port)
    (bob,) = outreach.add_leads("bob@acme.com")

    started = time.monotonic()
    assert outreach.send_due() == {"sent": 0, "failed": 0, "deferred": 1}
    assert time.monotonic() - started < 3

    send = outreach.send_of(bob)
    assert send.smtp_response.endswith(
        f"no complete answer from 127.0.0.1:{drip.port} within 1.5 s in all"
    )


def test_sent_mail_is_filed_in_the_sent_folder_of_servers_that_do_not(outreach):
    outreach.add_leads("bob@acme.com")
    outreach.send_due()
    [filed] = outreach.mailbox.dovecot.messages(outreach.inbox.email, folder="Sent")
    assert message_from_bytes(filed, policy=policy.default)["Subject"] == "Hi Bob"


def test_text_only_sends_a_plain_text_email(outreach):
    services.campaign_update(campaign=outreach.campaign, options={"text_only": True})
    outreach.add_leads("bob@acme.com")
    outreach.send_due()
    message = outreach.received()[0].message
    assert message.get_content_type() == "text/plain"
    assert "a quick question about your team." in message.get_content()


def test_the_signature_and_reply_to_of_the_inbox(outreach):
    outreach.inbox.signature = "Sam Sender\nHead of <b>Growth</b>"
    outreach.inbox.reply_to = "replies@mail.test"
    outreach.inbox.save()
    outreach.add_leads("bob@acme.com")
    outreach.send_due()
    message = outreach.received()[0].message
    assert message["Reply-To"] == "replies@mail.test"
    assert text_of(message).rstrip().endswith("Sam Sender\nHead of Growth")
    assert "Sam Sender<br>Head of <b>Growth</b>" in html_of(message)


def test_the_signature_comes_before_the_unsubscribe_footer_and_matches_the_preview(outreach, api):
    services.campaign_update(campaign=outreach.campaign, options={"unsubscribe_option": True})
    outreach.inbox.signature = "Sam Sender\nAcme"
    outreach.inbox.save()
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    message = outreach.received()[0].message
    url = message["List-Unsubscribe"].strip("<>")

    text = text_of(message).rstrip()
    assert text.endswith(f"Sam Sender\nAcme\n\nUnsubscribe ({url})")
    assert (
        html_of(message)
        .rstrip()
        .endswith(f'Sam Sender<br>Acme<br><br><a href="{url}">Unsubscribe</a>')
    )
    sent = Send.objects.get(lead=bob, status="sent")
    preview = api.post(
        f"/api/v1/campaigns/{outreach.campaign.pk}/variants/{sent.variant_id}/preview",
        {"lead_id": str(bob.pk), "inbox_id": str(outreach.inbox.pk)},
        format="json",
    ).json()["data"]
    assert preview["body_text"] == text
    assert preview["body_html"] == html_of(message).rstrip()


def test_unsubscribe_headers_and_link_and_one_click(outreach, alice):
    services.campaign_update(campaign=outreach.campaign, options={"unsubscribe_option": True})
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    message = outreach.received()[0].message

    url = message["List-Unsubscribe"].strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{url}"' in html_of(message)
    path = url.split("//", 1)[1].partition("/")[2]
    response = Client().post(
        f"/{path}", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    bob.refresh_from_db()
    assert bob.is_unsubscribed
    assert blocklist_contains(workspace=alice.workspace, email="bob@acme.com")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            {"subject": "{{company}}" * 40},
            "The subject is longer than 1,000 characters",
        ),
        (
            {"body_html": "{{company}}<br>" * 100},
            "The HTML body is longer than 200,000 characters",
        ),
    ],
)
def test_an_email_past_a_rendered_size_cap_fails_with_the_reason_and_the_others_go(
    outreach, content, reason
):
    services.variant_update(variant=outreach.step_one, **content)
    (big,) = outreach.add_leads("big@acme.com", variables={"company": "<" * 5000})
    small = outreach.add_leads("ann@acme.com", "cy@acme.com", variables={"company": "Acme"})

    assert outreach.send_due() == {"sent": 2, "failed": 1, "deferred": 0}

    send = outreach.send_of(big)
    assert send.status == Send.Status.FAILED
    assert send.smtp_response == f"could not render: {reason} once its merge tags are filled"
    assert send.attempted_at is None  # never handed to SMTP
    assert sorted(r.rcpt_tos[0] for r in outreach.received()) == [lead.email for lead in small]
    assert all(outreach.send_of(lead).status == Send.Status.SENT for lead in small)


def test_spintax_is_the_same_on_a_retry(outreach):
    variant = outreach.step_one
    services.variant_update(
        variant=variant, subject="{{SPINTAX|Hi|Hello|Hey|Howdy}} {{first_name}}"
    )
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.smtp.drop_after_data()  # the first copy arrives, outcome unknown
    outreach.send_due()
    first_subject = outreach.received()[0].message["Subject"]

    send = outreach.send_of(bob)
    Send.objects.filter(pk=send.pk).update(status="claimed", attempted_at=None)
    deliver([send.pk])

    assert outreach.received()[1].message["Subject"] == first_subject


def test_a_delivery_replayed_for_the_same_rows_sends_nothing_twice(outreach):
    outreach.add_leads("bob@acme.com")
    outreach.send_due()
    sends = list(Send.objects.values_list("pk", flat=True))
    assert deliver(sends).sent == 0
    assert len(outreach.received()) == 1


def test_stale_claims_are_retried_if_never_attempted_and_unknown_if_they_were(outreach, settings):
    bob, ann = outreach.add_leads("bob@acme.com", "ann@acme.com")
    settings.SEND_RETRY_DELAYS_SECONDS = (60,)
    # A sender claimed both and died: one before its SMTP conversation, one during it.
    outreach.smtp.reply_to_rcpt("bob@acme.com", "451 4.7.1 later")
    outreach.smtp.reply_to_rcpt("ann@acme.com", "451 4.7.1 later")
    outreach.send_due()
    now = outreach.send_of(bob).claimed_at
    Send.objects.filter(lead=bob).update(status="claimed", attempted_at=None, claimed_at=now)
    Send.objects.filter(lead=ann).update(status="claimed", attempted_at=now, claimed_at=now)

    assert recover_stale_claims(now + timedelta(seconds=settings.SEND_CLAIM_LEASE_SECONDS - 1)) == 0
    assert recover_stale_claims(now + timedelta(seconds=settings.SEND_CLAIM_LEASE_SECONDS + 1)) == 2

    assert outreach.send_of(bob).status == Send.Status.SCHEDULED
    assert outreach.send_of(ann).status == Send.Status.UNKNOWN


def test_bounce_protection_pauses_the_campaign_and_says_why(outreach, settings):
    settings.BOUNCE_PAUSE_MIN_SENDS = 4
    settings.BOUNCE_PAUSE_PERCENT = 20
    outreach.add_leads(*(f"lead{n}@acme.com" for n in range(4)))
    outreach.smtp.reply_to_rcpt("lead0@acme.com", "550 5.1.1 User unknown")
    outreach.smtp.reply_to_rcpt("lead1@acme.com", "550 5.1.1 User unknown")

    outreach.send_due()

    campaign = Campaign.objects.get(pk=outreach.campaign.pk)
    assert campaign.status == Campaign.Status.PAUSED
    assert "2 of 4 emails bounced" in campaign.paused_reason


def test_bounce_protection_pauses_only_where_the_status_table_allows_a_pause(
    outreach, settings, monkeypatch
):
    """It pauses through the transitions every pause goes through, not beside them: with
    active → paused taken out of the table, it cannot pause either."""
    settings.BOUNCE_PAUSE_MIN_SENDS = 4
    settings.BOUNCE_PAUSE_PERCENT = 20
    monkeypatch.setitem(STATUS_TRANSITIONS, Campaign.Status.ACTIVE, frozenset())
    outreach.add_leads(*(f"lead{n}@acme.com" for n in range(4)))
    outreach.smtp.reply_to_rcpt("lead0@acme.com", "550 5.1.1 User unknown")
    outreach.smtp.reply_to_rcpt("lead1@acme.com", "550 5.1.1 User unknown")

    outreach.send_due()

    assert Campaign.objects.get(pk=outreach.campaign.pk).status == Campaign.Status.ACTIVE


def test_bounces_under_the_threshold_keep_the_campaign_going(outreach, settings):
    settings.BOUNCE_PAUSE_MIN_SENDS = 4
    settings.BOUNCE_PAUSE_PERCENT = 30
    outreach.add_leads(*(f"lead{n}@acme.com" for n in range(4)))
    outreach.smtp.reply_to_rcpt("lead0@acme.com", "550 5.1.1 User unknown")
    outreach.send_due()
    assert Campaign.objects.get(pk=outreach.campaign.pk).status == Campaign.Status.ACTIVE


def test_the_beat_task_claims_and_delivers_through_worker_tasks(
    outreach, django_capture_on_commit_callbacks
):
    outreach.add_leads("bob@acme.com", "ann@acme.com")
    with django_capture_on_commit_callbacks(execute=True):
        send_pass_run_task.delay()
    assert len(outreach.received()) == 2
    assert Send.objects.filter(status="sent").count() == 2


def test_an_empty_pass_reports_zeros(db):
    assert run_pass().as_dict() == {"sent": 0, "failed": 0, "deferred": 0}
