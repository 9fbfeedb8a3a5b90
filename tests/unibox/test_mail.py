"""Reading incoming mail (unibox.mail): whatever the bytes, a message and a text body."""

import pytest

from unibox import mail

SIMPLE = (
    b"From: Ada <ada@acme.com>\r\nTo: sam@reachkit.test\r\nSubject: Re: Hello\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nSounds good.\r\n"
)


def test_a_plain_message_reads_as_its_text():
    message = mail.parse(SIMPLE)
    assert mail.header(message, "subject") == "Re: Hello"
    assert mail.body_text(message) == "Sounds good.\n"


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n", b"\r\n\r\njust a body"])
def test_empty_or_headerless_bytes_are_unreadable(raw):
    with pytest.raises(mail.UnreadableMessage):
        mail.parse(raw)


def test_an_unknown_or_lying_charset_still_gives_text():
    unknown = SIMPLE.replace(b"charset=utf-8", b"charset=x-nonsense").replace(
        b"Sounds good.", "Très bien.".encode()
    )
    assert mail.body_text(mail.parse(unknown)).strip() == "Très bien."
    lying = SIMPLE.replace(b"Sounds good.", "Très bien.".encode("latin-1"))
    assert mail.body_text(mail.parse(lying)).strip() == "Très bien."


def test_quoted_printable_and_base64_bodies_are_decoded():
    qp = SIMPLE.replace(
        b"charset=utf-8\r\n", b"charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
    ).replace(b"Sounds good.", b"Gr=C3=BC=C3=9Fe")
    assert mail.body_text(mail.parse(qp)).strip() == "Grüße"
    b64 = SIMPLE.replace(
        b"charset=utf-8\r\n", b"charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
    ).replace(b"Sounds good.", b"SGFsbG8=")
    assert mail.body_text(mail.parse(b64)).strip() == "Hallo"


def test_an_html_only_message_reads_as_text_with_quotes_marked():
    raw = (
        b"From: ada@acme.com\r\nSubject: Re: Hi\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{color:red}</style></head><body>"
        b"<div>Yes,&nbsp;let's talk<br>Tuesday?</div>"
        b"<div class=gmail_quote>On Mon, Sam wrote:<blockquote><p>Hello Ada</p></blockquote></div>"
        b"<script>alert(1)</script></body></html>"
    )
    assert mail.body_text(mail.parse(raw)) == (
        "Yes, let's talk\nTuesday?\n\nOn Mon, Sam wrote:\n> Hello Ada"
    )


def test_the_body_is_the_messages_own_not_an_attachment_nor_an_embedded_message():
    raw = (
        b"From: ada@acme.com\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: bob@acme.com\r\nSubject: inner\r\n\r\nInner text\r\n"
        b"--b\r\nContent-Type: text/plain\r\n"
        b"Content-Disposition: attachment; filename=a.txt\r\n\r\n"
        b"attached\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nMy own words\r\n--b--\r\n"
    )
    assert mail.body_text(mail.parse(raw)).strip() == "My own words"


def test_broken_html_never_raises():
    assert "text" in mail.html_to_text("<div><p>text<blockquote></div></b></table><!--")
