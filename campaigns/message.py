"""Building the MIME message of one outgoing email (RFC 5322, RFC 2369 / RFC 8058 headers)."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime


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
    in_reply_to: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)
    unsubscribe_url: str = ""


def make_message_id(send_id: uuid.UUID, domain: str) -> str:
    """A Message-ID derived from the outbox row: the same on every retry of that row."""
    return f"<{send_id.hex}@{domain}>"


def _address(email: str, name: str) -> Address:
    username, _, domain = email.rpartition("@")
    return Address(display_name=name, username=username, domain=domain)


# Headers stored raw (`set_raw`) are written as they are, never refolded. Python folds a long
# header with no spaces in it (the List-Unsubscribe URL) into RFC 2047 encoded words, which
# mail clients do not decode there: the one-click link would be lost. Headers set the usual
# way are folded as before.
MESSAGE_POLICY = policy.SMTP.clone(refold_source="none")
# RFC 5322's hard limit for one header line, CRLF excluded.
MAX_HEADER_LINE = 998


def _unsubscribe_header(url: str) -> str:
    """`<url>`, written on one line as mail clients expect; the URL must be safe to write raw."""
    value = f"<{url}>"
    line = f"List-Unsubscribe: {value}"
    if not url.isascii() or any(char.isspace() for char in url) or len(line) > MAX_HEADER_LINE:
        raise ValueError(f"not an unsubscribe URL a header can carry: {url!r}")
    return value


def build_message(email: OutgoingEmail) -> EmailMessage:
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = _address(email.from_email, email.from_name)
    message["To"] = _address(email.to_email, email.to_name)
    if email.reply_to:
        message["Reply-To"] = _address(email.reply_to, "")
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.date)
    message["Message-ID"] = email.message_id
    if email.in_reply_to:
        message["In-Reply-To"] = email.in_reply_to
    if email.references:
        message["References"] = " ".join(email.references)
    if email.unsubscribe_url:
        message.set_raw("List-Unsubscribe", _unsubscribe_header(email.unsubscribe_url))
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    return message
