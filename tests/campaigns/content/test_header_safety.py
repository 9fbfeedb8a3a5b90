"""What reaches an email's headers: subjects take no control character (API, admin), values
render into a subject on one line, and message composition refuses any header value that
could add a header or end the headers, as a failed send with its reason, never a crash."""

import dataclasses
import json
import re
from email import message_from_bytes, policy

import pytest

from campaigns.content.message import UnsafeHeader, build_message
from campaigns.content.rendering import render_subject
from campaigns.models import Send, Variant
from inboxes.models import Inbox
from leads.models import Lead
from tests.campaigns.content.test_message import email
from tests.campaigns.factories import CampaignFactory
from tests.campaigns.test_admin import variant_post
from tests.reachkit.factories import UserFactory

# --- message composition ------------------------------------------------------------------------

# Each value of a header, and a text that would break it.
BREAKERS = {
    "crlf": "\r\nBcc: x@evil.test",
    "lf": "\nBcc: x@evil.test",
    "cr": "\rBcc: x@evil.test",
    "blank line": "\r\n\r\nnow the body",
    "nul": "\x00",
    "tab": "\tx",
    "escape": "\x1b",
    "line separator": "\u2028",
}
HEADER_VALUES = {
    "from_name": "The sender's name (From)",
    "from_email": "The sender's address (From)",
    "to_name": "The recipient's name (To)",
    "to_email": "The recipient's address (To)",
    "reply_to": "The Reply-To address",
    "subject": "The subject",
    "message_id": "The Message-ID",
    "in_reply_to": "In-Reply-To",
    "unsubscribe_url": "The unsubscribe URL",
}


def with_value(field: str, tail: str):
    base = email(reply_to="jane@sender.com", in_reply_to="<a@sender.com>",
                 unsubscribe_url="https://rk.example/u/t")  # fmt: skip
    return dataclasses.replace(base, **{field: getattr(base, field) + tail})


@pytest.mark.parametrize("breaker", BREAKERS, ids=str)
@pytest.mark.parametrize("field", HEADER_VALUES, ids=str)
def test_a_header_value_with_a_control_character_is_refused_naming_it(field, breaker):
    with pytest.raises(UnsafeHeader, match=rf"^{re.escape(HEADER_VALUES[field])} must not contain"):
        build_message(with_value(field, BREAKERS[breaker]))


def test_a_reference_with_a_line_break_is_refused():
    with pytest.raises(UnsafeHeader, match=r"^References must not contain a line break"):
        build_message(email(references=("<a@sender.com>", "<b@sender.com>\r\nBcc: x@evil.test")))


@pytest.mark.parametrize("field", ["from_email", "to_email", "reply_to"])
def test_an_address_that_is_not_ascii_is_refused_not_a_crash(field):
    with pytest.raises(UnsafeHeader, match="is not ASCII"):
        build_message(dataclasses.replace(email(), **{field: "bob@exämple.com"}))


def test_a_message_parses_back_to_exactly_the_headers_written():
    outgoing = email(
        from_name='Jane "JD" Doe, Sales',
        to_name="Zoé Ünal",
        subject="Ça va? " + "a long subject " * 12,
        reply_to="replies@sender.com",
        in_reply_to="<a@sender.com>",
        references=("<a@sender.com>", "<b@sender.com>"),
        unsubscribe_url="https://rk.example/u/token",
    )
    message = message_from_bytes(build_message(outgoing), policy=policy.default)
    assert message.keys() == [
        "From",
        "To",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "MIME-Version",
        "Content-Type",
    ]
    assert message["To"] == "Zoé Ünal <bob@acme.com>"
    assert message["From"] == '"Jane \\"JD\\" Doe, Sales" <jane@sender.com>'
    assert message["Subject"] == outgoing.subject


# --- subjects -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "subject"),
    [
        ("Acme\r\nBcc: x@evil.test", "Hi from Acme Bcc: x@evil.test"),
        ("Acme\r\n\r\nbody", "Hi from Acme body"),
        ("Acme\tInc", "Hi from Acme Inc"),
        ("Acme\u2028Inc", "Hi from Acme Inc"),
        ("Acme\x00\x1b", "Hi from Acme"),
    ],
)
def test_a_value_renders_into_the_subject_on_one_line(value, subject):
    variant = Variant(subject="Hi from {{company}}")
    assert render_subject(variant, {"company": value}, seed="s").text == subject


@pytest.fixture
def variant(alice):
    return Variant.objects.get(sequence__campaign=CampaignFactory(workspace=alice.workspace))


@pytest.mark.parametrize(
    "subject", ["Hi\tthere", "Hi\x00", "Hi\x1b[31m", "Hi\u2028there", "Hi\ud800", "Hi\r\nBcc: x"]
)
def test_a_subject_with_a_control_character_is_422_and_changes_nothing(api, variant, subject):
    response = api.generic(
        "PATCH",
        f"/api/v1/campaigns/{variant.sequence.campaign_id}/variants/{variant.pk}",
        json.dumps({"subject": subject}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert list(response.json()["details"]) == ["subject"]
    assert "must not contain" in response.json()["details"]["subject"][0]
    before = variant.subject
    variant.refresh_from_db()
    assert variant.subject == before


@pytest.mark.parametrize("subject", ["Hi\tthere", "Hi\x1b[31m", "Hi\u2028there"])
def test_the_admin_refuses_a_subject_with_a_control_character(client, variant, subject):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = variant_post(client, variant, subject=subject)
    assert page.status_code == 200
    assert "A subject must not contain" in page.content.decode()
    before = variant.subject
    variant.refresh_from_db()
    assert variant.subject == before


# --- the sender ---------------------------------------------------------------------------------


def test_an_inbox_name_stored_with_a_line_break_fails_its_sends_with_the_reason(outreach):
    bob, ann = outreach.add_leads("bob@acme.com", "ann@acme.com")
    Inbox.objects.filter(pk=outreach.inbox.pk).update(first_name="Sam\r\nBcc: x@evil.test")

    assert outreach.send_due() == {"sent": 0, "failed": 2, "deferred": 0}

    assert outreach.received() == []
    for lead in (bob, ann):
        send = outreach.send_of(lead)
        assert send.status == Send.Status.FAILED
        assert send.smtp_response == (
            "could not build the message: The sender's name (From) must not contain a line break."
        )


def test_a_subject_stored_with_control_characters_is_sent_on_one_line(outreach):
    outreach.add_leads("bob@acme.com")
    Variant.objects.filter(pk=outreach.step_one.pk).update(subject="Hi\x1b\r\nBcc: {{first_name}}")

    assert outreach.send_due() == {"sent": 1, "failed": 0, "deferred": 0}

    (received,) = outreach.received()
    assert received.message["Subject"] == "Hi Bcc: Bob"
    assert received.message["Bcc"] is None
    assert Send.objects.get().subject == "Hi Bcc: Bob"


def test_a_follow_up_to_a_subject_stored_with_a_tab_replies_on_one_line(outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    Send.objects.filter(pk=outreach.send_of(bob).pk).update(subject="Hi\tBob\x0b!")
    outreach.advance(days=2, minutes=1)

    assert outreach.send_due() == {"sent": 1, "failed": 0, "deferred": 0}
    assert outreach.received_by("bob@acme.com")[1]["Subject"] == "Re: Hi Bob !"


def test_a_lead_with_an_international_address_fails_alone_with_the_reason(outreach):
    zoe, bob = outreach.add_leads("zoe@exämple.com", "bob@acme.com")

    assert outreach.send_due() == {"sent": 1, "failed": 1, "deferred": 0}

    assert [message.rcpt_tos for message in outreach.received()] == [["bob@acme.com"]]
    assert outreach.send_of(zoe).smtp_response == (
        "could not build the message: The recipient's address (To) is not ASCII: "
        "international addresses are not supported."
    )
    assert Lead.objects.get(pk=bob.pk).status == Lead.Status.CONTACTED
