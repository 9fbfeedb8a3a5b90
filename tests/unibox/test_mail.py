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


def test_a_charset_name_no_codec_can_look_up_still_gives_text():
    nul = SIMPLE.replace(b"charset=utf-8", b"charset=utf\x00-8")
    assert mail.body_text(mail.parse(nul)).strip() == "Sounds good."


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


def test_html_lines_are_laid_out_as_a_browser_shows_them():
    gmail = (
        '<div dir="ltr">Hi Sam,<div><br></div><div>Tuesday works.</div>'
        "<div>Best,</div><div>Ada</div></div>"
    )
    assert mail.html_to_text(gmail) == "Hi Sam,\n\nTuesday works.\nBest,\nAda"
    paragraphs = "<p>One</p>\n  <p>Two</p>"
    assert mail.html_to_text(paragraphs) == "One\n\nTwo"
    outlook = (
        "<p class=MsoNormal>Hallo,<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<p class=MsoNormal>passt.<o:p></o:p></p><p class=MsoNormal>Jonas<o:p></o:p></p>"
    )
    assert mail.html_to_text(outlook) == "Hallo,\n\npasst.\nJonas"


def test_marked_quotes_show_where_a_client_put_the_quoted_history():
    gmail = (
        '<div dir="ltr">Yes</div><div class="gmail_quote"><div class="gmail_attr">On Mon, '
        "Sam &lt;sam@x.com&gt; wrote:<br></div><blockquote class=gmail_quote>Hi</blockquote></div>"
    )
    assert mail.html_to_text(gmail, mark_quotes=True) == f"Yes\n\n{mail.QUOTE_HEADER}\n> Hi"
    assert "On Mon" in mail.html_to_text(gmail)
    outlook = (
        '<div>Sure</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>Od:</b> Sam'
        "</div><div>the earlier message</div>"
    )
    assert mail.html_to_text(outlook, mark_quotes=True) == f"Sure\n\n{mail.QUOTED_HISTORY}"
    # Inside a quote, an older message's marks are quoted lines like any other.
    nested = (
        '<div>A</div><blockquote><div id="divRplyFwdMsg">From: Sam</div></blockquote><div>B</div>'
    )
    assert mail.html_to_text(nested, mark_quotes=True) == "A\n> From: Sam\n\nB"


def test_a_format_flowed_body_reads_as_the_lines_its_writer_typed():
    raw = (
        b"From: ada@acme.com\r\nSubject: Re: Hi\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
        b"A long line that the client \r\nwrapped twice for \r\nthe wire.\r\n"
        b"Its own line.\r\n\r\n>> Quoted and \r\n>> wrapped.\r\n> Depth one.\r\n \r\n"
        b"-- \r\nAda\r\n"
    )
    assert mail.body_text(mail.parse(raw)) == (
        "A long line that the client wrapped twice for the wire.\nIts own line.\n\n"
        ">> Quoted and wrapped.\n> Depth one.\n\n-- \nAda\n"
    )
