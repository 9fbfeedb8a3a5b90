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


def build_message(email: OutgoingEmail) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
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
        message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    return message
