"""Emails that come back to a campaign's inbox: replies, automatic replies and bounces."""

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

from campaigns.models import Send


def reply(
    send: Send | None = None,
    *,
    text: str = "Thanks, that sounds interesting. Can you send me more details?",
    sender: str | None = None,
    to: str | None = None,
    subject: str | None = None,
    threaded: bool = True,
    date: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A person's reply to `send` (threaded by In-Reply-To and References unless not)."""
    message = EmailMessage()
    message["From"] = sender or (send.to_email if send else "someone@elsewhere.test")
    message["To"] = to or (send.from_email if send else "sam@mail.test")
    message["Subject"] = subject if subject is not None else f"Re: {send.subject if send else ''}"
    message["Date"] = format_datetime(date or timezone.now())
    message["Message-ID"] = make_msgid(domain="lead.test")
    if send is not None and threaded:
        message["In-Reply-To"] = send.message_id
        message["References"] = send.message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(f"{text}\n\nOn Wed, Sam wrote:\n> Hello, a quick question.\n")
    return message


def out_of_office(send: Send, *, until: str = "Tuesday 20 January 2026") -> EmailMessage:
    message = reply(
        send,
        text=f"I am out of the office until {until} with limited access to email.",
        subject=f"Automatic reply: {send.subject}",
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )
    return message


def left_company(send: Send) -> EmailMessage:
    return reply(
        send,
        text="Bob no longer works at Acme. Please contact jane@acme.com instead.",
        subject=f"Automatic reply: {send.subject}",
        headers={"Auto-Submitted": "auto-replied"},
    )


def bounce(send: Send, *, status: str = "5.1.1", quote_message_id: bool = True) -> bytes:
    """A delivery status notification (RFC 3464) for `send`."""
    code = "550" if status.startswith("5") else "452"
    quoted = f"Message-ID: {send.message_id}\r\n" if quote_message_id else ""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mail.test>\r\n"
        f"To: {send.from_email}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(timezone.now())}\r\n"
        f"Message-ID: {make_msgid(domain='mail.test')}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"\r\n'
        "\r\n"
        "--BOUND\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "This is the mail system at host mail.test.\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n"
        "\r\n"
        f"<{send.to_email}>: host mx.acme.test said: {code} {status} mailbox unavailable\r\n"
        "\r\n"
        "--BOUND\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mail.test\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {send.to_email}\r\n"
        f"Action: {'failed' if status.startswith('5') else 'delayed'}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; {code} {status} mailbox unavailable\r\n"
        "\r\n"
        "--BOUND\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"{quoted}"
        f"From: {send.from_email}\r\n"
        f"To: {send.to_email}\r\n"
        f"Subject: {send.subject}\r\n"
        "\r\n"
        "--BOUND--\r\n"
    ).encode()


def unrelated(to: str = "sam@mail.test") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "newsletter@shop.test"
    message["To"] = to
    message["Subject"] = "Our winter sale"
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain="shop.test")
    message.set_content("Everything must go.")
    return message
