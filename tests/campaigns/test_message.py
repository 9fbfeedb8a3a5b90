"""The MIME message of an outgoing email, parsed back the way a receiving server would."""

import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest

from campaigns.message import OutgoingEmail, build_message, make_message_id

SEND_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def email(**overrides) -> OutgoingEmail:
    fields = {
        "message_id": make_message_id(SEND_ID, "sender.com"),
        "from_email": "jane@sender.com",
        "from_name": "Jane Doe",
        "to_email": "bob@acme.com",
        "to_name": "Bob",
        "subject": "Quick question, Bob",
        "text": "Hi Bob,\nare you the right person?",
        "html": "Hi <b>Bob</b>,<br>are you the right person?",
        "date": datetime(2026, 3, 2, 14, 30, tzinfo=UTC),
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)


def parsed(outgoing: OutgoingEmail):
    return message_from_bytes(build_message(outgoing).as_bytes(), policy=policy.default)


def test_message_id_is_derived_from_the_send_and_stable():
    assert make_message_id(SEND_ID, "sender.com") == f"<{SEND_ID.hex}@sender.com>"
    assert make_message_id(SEND_ID, "sender.com") == make_message_id(SEND_ID, "sender.com")


def test_headers_carry_names_subject_date_and_message_id():
    message = parsed(email())
    assert message["From"] == "Jane Doe <jane@sender.com>"
    assert message["To"] == "Bob <bob@acme.com>"
    assert message["Subject"] == "Quick question, Bob"
    assert message["Message-ID"] == f"<{SEND_ID.hex}@sender.com>"
    assert parsedate_to_datetime(message["Date"]) == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert message["Reply-To"] is None
    assert message["In-Reply-To"] is None
    assert message["List-Unsubscribe"] is None


def test_html_and_text_travel_as_multipart_alternative():
    message = parsed(email())
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "are you the right person?" in text
    assert "<b>Bob</b>" in html


def test_text_only_sends_a_single_plain_part():
    message = parsed(email(html=None))
    assert message.get_content_type() == "text/plain"
    assert "are you the right person?" in message.get_content()


def test_follow_ups_thread_with_in_reply_to_and_references():
    first, second = "<a@sender.com>", "<b@sender.com>"
    message = parsed(email(in_reply_to=second, references=(first, second)))
    assert message["In-Reply-To"] == second
    assert message["References"].split() == [first, second]


def test_reply_to_and_one_click_unsubscribe_headers():
    message = parsed(
        email(reply_to="replies@sender.com", unsubscribe_url="https://reach.example/u/tok")
    )
    assert message["Reply-To"] == "replies@sender.com"
    assert message["List-Unsubscribe"] == "<https://reach.example/u/tok>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# The length of a real link: a public URL, then the lead id and its signature.
LONG_UNSUBSCRIBE_URL = (
    "https://outreach.reachkit.example.com/u/"
    "0f8fad5bd9cb469fa16570867728950e:3Xc9m1ZkQ2pW8vLr5Tn7YbH4sJd6Fg0aKe2Ui9Oq1Mw"
)


def test_a_long_unsubscribe_link_stays_one_plain_line_mail_clients_can_read():
    raw = build_message(email(unsubscribe_url=LONG_UNSUBSCRIBE_URL)).as_bytes()
    header = f"List-Unsubscribe: <{LONG_UNSUBSCRIBE_URL}>\r\n".encode()
    # Not folded into RFC 2047 encoded words (=?utf-8?q?…?=), which clients do not decode here.
    assert header in raw
    assert b"=?utf-8?" not in raw
    message = parsed(email(unsubscribe_url=LONG_UNSUBSCRIBE_URL))
    assert message["List-Unsubscribe"] == f"<{LONG_UNSUBSCRIBE_URL}>"


@pytest.mark.parametrize(
    "url",
    [
        "https://reach.example/u/tok\r\nBcc: victim@example.com",
        "https://reach.example/u/t ok",
        "https://réach.example/u/tok",
        "https://reach.example/u/" + "t" * 1000,
    ],
)
def test_an_unsubscribe_url_a_header_cannot_carry_is_refused(url):
    with pytest.raises(ValueError, match="unsubscribe URL"):
        build_message(email(unsubscribe_url=url))


def test_non_ascii_names_and_subjects_are_encoded_and_survive():
    message = parsed(email(from_name="Zoë Müller", subject="Grüße aus Köln ☕"))
    raw = build_message(email(from_name="Zoë Müller", subject="Grüße aus Köln ☕")).as_bytes()
    assert raw.isascii()
    assert message["From"].addresses[0].display_name == "Zoë Müller"
    assert message["Subject"] == "Grüße aus Köln ☕"


def test_lines_end_with_crlf_as_smtp_requires():
    raw = build_message(email()).as_bytes()
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
