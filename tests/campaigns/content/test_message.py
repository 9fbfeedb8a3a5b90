"""The MIME message of an outgoing email, parsed back the way a receiving server would."""

import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest

from campaigns.content.message import OutgoingEmail, build_message, make_message_id

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
    return message_from_bytes(build_message(outgoing), policy=policy.default)


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
    raw = build_message(email(unsubscribe_url=LONG_UNSUBSCRIBE_URL))
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
    raw = build_message(email(from_name="Zoë Müller", subject="Grüße aus Köln ☕"))
    assert raw.isascii()
    assert message["From"].addresses[0].display_name == "Zoë Müller"
    assert message["Subject"] == "Grüße aus Köln ☕"


def test_lines_end_with_crlf_as_smtp_requires():
    raw = build_message(email())
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_non_ascii_bodies_travel_as_quoted_printable_and_decode_back():
    text = "Grüße, Zoë — ça va? ☕\nZweite Zeile."
    html = "<b>Grüße</b>, Zoë<br>☕"
    message = parsed(email(text=text, html=html))
    plain = message.get_body(preferencelist=("plain",))
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == text
    assert message.get_body(preferencelist=("html",)).get_content().rstrip("\r\n") == html


def test_a_very_long_line_is_wrapped_by_quoted_printable_and_survives():
    long_line = "word " * 400
    raw = build_message(email(text=long_line, html=None))
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert parsed(email(text=long_line, html=None)).get_content().rstrip(
        "\r\n"
    ) == long_line.rstrip("\n")


def test_plain_ascii_bodies_stay_readable_7bit():
    message = parsed(email(html=None))
    assert message["Content-Transfer-Encoding"] == "7bit"


def test_a_long_thread_folds_references_under_the_line_limit():
    ids = tuple(f"<{n:032x}@sender.com>" for n in range(60))
    raw = build_message(email(in_reply_to=ids[-1], references=ids))
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert parsed(email(in_reply_to=ids[-1], references=ids))["References"].split() == list(ids)


def test_a_long_subject_and_names_with_commas_survive():
    subject = "A rather long subject line " * 6
    message = parsed(email(subject=subject.strip(), from_name="Doe, Jane"))
    assert message["Subject"] == subject.strip()
    assert message["From"].addresses[0].display_name == "Doe, Jane"
    assert message["From"].addresses[0].addr_spec == "jane@sender.com"


def test_each_message_has_its_own_multipart_boundary():
    first, second = build_message(email()), build_message(email())
    boundary = parsed(email()).get_boundary()
    assert boundary
    assert first != second
