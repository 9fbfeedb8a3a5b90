"""Building the MIME message of one outgoing email (RFC 5322, RFC 2369 / RFC 8058 headers).

A header value is refused (`UnsafeHeader`) when it holds a line break or another control
character: names and subjects are checked where they come in (reachkit.text), and again
here, so a value stored before those checks, or a path that skips them, cannot add a
header (`Bcc:`) or end the headers early and push the rest into the body.
"""

import binascii
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

from reachkit.text import header_text_error


class UnsafeHeader(ValueError):
    """A header value the message cannot carry as it is; the message is not built."""


@dataclass(frozen=True)
class OutgoingEmail:
    """Everything a message needs, already rendered. `html=None` sends text only."""

    message_id: str
    from_email: str
    to_email: str
    subject: str
    text: str
    date: datetime
    html: str | None = None
    from_name: str = ""
    to_name: str = ""
    reply_to: str = ""
    # More recipients after the first (an email of the unified inbox to several people):
    # (address, name) pairs, checked as the first one is.
    more_to: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    in_reply_to: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)
    unsubscribe_url: str = ""


def make_message_id(send_id: uuid.UUID, domain: str) -> str:
    """A Message-ID derived from the outbox row: the same on every retry of that row."""
    return f"<{send_id.hex}@{domain}>"


# RFC 5322's hard limit for one header line, CRLF excluded.
MAX_HEADER_LINE = 998
# Lines of a 7bit body part stay well under the limit; longer ones go quoted-printable.
MAX_7BIT_LINE = 900
CRLF = "\r\n"


def _address(email: str, name: str) -> str:
    """`Name <addr>`, the name quoted or RFC 2047-encoded as it needs (email.utils)."""
    return formataddr((name, email), charset="utf-8") if name else email


def _header_text(name: str, value: str) -> str:
    """An unstructured header (Subject): as is when short ASCII, else encoded words, folded."""
    if value.isascii() and len(name) + len(value) + 2 <= 78:
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep=CRLF)


def _unsubscribe_header(url: str) -> str:
    """`<url>`, written on one line as mail clients expect; the URL must be safe to write raw.

    Never folded or encoded: a client does not decode encoded words in List-Unsubscribe,
    and a folded URL would break the one-click link.
    """
    value = f"<{url}>"
    line = f"List-Unsubscribe: {value}"
    if not url.isascii() or any(char.isspace() for char in url) or len(line) > MAX_HEADER_LINE:
        raise UnsafeHeader(f"not an unsubscribe URL a header can carry: {url!r}")
    return value


def _recipients(email: OutgoingEmail) -> str:
    """The To header's addresses, one per line (folded) when there are several."""
    everyone = [(email.to_email, email.to_name), *email.more_to]
    return f",{CRLF} ".join(_address(address, name) for address, name in everyone)


def _references(message_ids: tuple[str, ...]) -> str:
    """Message-IDs one per line (folded), so a long thread never passes the line limit."""
    return f"{CRLF} ".join(message_ids)


def _body_part(content: str, subtype: str) -> str:
    """A text part: 7bit when it is plain ASCII with short lines, else quoted-printable."""
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    lines = text.split("\n")
    if text.isascii() and all(len(line) <= MAX_7BIT_LINE for line in lines):
        encoding, body = "7bit", text.replace("\n", CRLF)
    else:
        encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")
        encoding, body = "quoted-printable", encoded.replace("\n", CRLF)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}"
    )


def _refuse_unsafe_values(email: OutgoingEmail) -> None:
    """Every value that goes into a header, checked by the rule names and subjects are
    checked by when they come in; raises UnsafeHeader naming the first bad one."""
    values = [
        ("The sender's name (From)", email.from_name),
        ("The sender's address (From)", email.from_email),
        ("The recipient's name (To)", email.to_name),
        ("The recipient's address (To)", email.to_email),
        *(("A recipient's name (To)", name) for _, name in email.more_to),
        *(("A recipient's address (To)", address) for address, _ in email.more_to),
        ("The Reply-To address", email.reply_to),
        ("The subject", email.subject),
        ("The Message-ID", email.message_id),
        ("In-Reply-To", email.in_reply_to),
        *(("References", message_id) for message_id in email.references),
        ("The unsubscribe URL", email.unsubscribe_url),
    ]
    # One search over them all, then (rarely) one per value to say which.
    if header_text_error("".join(value for _, value in values)) is not None:
        for what, value in values:
            problem = header_text_error(value, what)
            if problem is not None:
                raise UnsafeHeader(problem)
    addresses = [
        ("The sender's address (From)", email.from_email),
        ("The recipient's address (To)", email.to_email),
        *(("A recipient's address (To)", address) for address, _ in email.more_to),
        ("The Reply-To address", email.reply_to),
    ]
    for what, address in addresses:
        if not address.isascii():
            raise UnsafeHeader(f"{what} is not ASCII: international addresses are not supported.")


# In a header as written: anything but printable ASCII, spaces and tabs; a CR or LF alone; a
# CRLF not followed by a folded line (whitespace, then text), which would start a header of
# its own, or end the headers with a blank line.
_UNSAFE_IN_HEADER = re.compile(r"[^\t\r\n -~]|\r(?!\n)|(?<!\r)\n|\r\n(?![ \t]+[!-~])")


def _check_header_lines(headers: list[str]) -> None:
    """What is written holds exactly these headers, each within the line limit."""
    for header in headers:
        if header.isascii() and header.isprintable() and len(header) <= MAX_HEADER_LINE:
            continue  # one line of printable ASCII: most headers
        unsafe = _UNSAFE_IN_HEADER.search(header) is not None
        if unsafe or (
            len(header) > MAX_HEADER_LINE
            and any(len(line) > MAX_HEADER_LINE for line in header.split(CRLF))
        ):
            name = header.partition(":")[0]
            raise UnsafeHeader(f"The {name} header cannot be written safely as it is.")


def build_message(email: OutgoingEmail) -> bytes:
    """The message as it goes on the wire: CRLF line ends, ASCII only (RFC 5322, RFC 2045).

    Written directly rather than through `email.message`, which costs more per email than
    sending it does; tests parse the result back with the standard library.
    Raises UnsafeHeader when a header value holds a line break or another control
    character, or an address is not ASCII.
    """
    _refuse_unsafe_values(email)
    headers = [
        f"From: {_address(email.from_email, email.from_name)}",
        f"To: {_recipients(email)}",
    ]
    if email.reply_to:
        headers.append(f"Reply-To: {_address(email.reply_to, '')}")
    headers += [
        f"Subject: {_header_text('Subject', email.subject)}",
        f"Date: {format_datetime(email.date)}",
        f"Message-ID: {email.message_id}",
    ]
    if email.in_reply_to:
        headers.append(f"In-Reply-To: {email.in_reply_to}")
    if email.references:
        headers.append(f"References: {_references(email.references)}")
    if email.unsubscribe_url:
        headers.append(f"List-Unsubscribe: {_unsubscribe_header(email.unsubscribe_url)}")
        headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    headers.append("MIME-Version: 1.0")
    _check_header_lines(headers)
    if email.html is None:
        body = _body_part(email.text, "plain")
    else:
        boundary = f"=_rk_{secrets.token_hex(12)}"
        body = (
            f'Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}{CRLF}'
            f"--{boundary}{CRLF}{_body_part(email.text, 'plain')}"
            f"--{boundary}{CRLF}{_body_part(email.html, 'html')}"
            f"--{boundary}--{CRLF}"
        )
    return (CRLF.join(headers) + CRLF + body).encode("ascii")
