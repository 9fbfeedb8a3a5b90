"""One SMTP transaction on an open session, and how it ended (`rules.Delivery`).

250 → sent; 4xx → deferred (tried again later); 5xx at RCPT (or a 5.1.x after DATA) →
bounced, unless the server's words name a soft reason ("552 5.2.2 mailbox full": deferred, as
the unified inbox reads the same words in a bounce report; reachkit/delivery_failures.py);
other 5xx → failed; the connection lost after DATA → unknown (the email may have left:
reconciled, never resent blindly).
"""

import re
import smtplib

from campaigns.sending.rules import Delivery, Outcome
from reachkit.delivery_failures import SOFT, classify_reason, status_code


def reply_text(code: int, message: bytes | str) -> str:
    """A server's reply on one line, bounded: `550 5.1.1 User unknown`."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"[:1000]


def _refusal(code: int, message: bytes | str, *, recipient_phase: bool) -> Delivery:
    """A refused MAIL, RCPT or DATA: temporary (4xx), a bounce, or a failure."""
    response = reply_text(code, message)
    if 400 <= code < 500:
        return Delivery(Outcome.DEFERRED, code, response, connection_lost=code == 421)
    # A bad address: refused at RCPT, or (some servers) after DATA with a 5.1.x status.
    if recipient_phase or " 5.1." in f" {response[4:]}":
        kind, _ = classify_reason(status_code(response), [response])
        if kind == SOFT:  # a full mailbox, a rate limit: it may work later
            return Delivery(Outcome.DEFERRED, code, response)
        return Delivery(Outcome.BOUNCED, code, response)
    return Delivery(Outcome.FAILED, code, response)


_LEADING_DOT = re.compile(rb"(?m)^\.")


def transmit(client: smtplib.SMTP, *, sender: str, recipient: str, data: bytes) -> Delivery:
    """One SMTP transaction on an open session, told apart by where it ended.

    Before the message body is on the wire, nothing can have been delivered: a broken
    connection there is a plain retry. After it, it may have been: `unknown`.
    """
    try:
        code, message = client.mail(sender)
        if code != 250:
            client.rset()
            return _refusal(code, message, recipient_phase=False)
        code, message = client.rcpt(recipient)
        if code not in (250, 251):
            client.rset()
            return _refusal(code, message, recipient_phase=True)
        client.putcmd("data")
        code, message = client.getreply()
        if code != 354:
            client.rset()
            return _refusal(code, message, recipient_phase=False)
    except (smtplib.SMTPException, OSError) as error:
        return Delivery(
            Outcome.DEFERRED, response=f"connection lost before DATA: {error}", connection_lost=True
        )
    try:
        body = _LEADING_DOT.sub(b"..", data)  # dot-stuffing (RFC 5321 4.5.2)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        client.send(body + b".\r\n")
        code, message = client.getreply()
    except (smtplib.SMTPException, OSError) as error:
        return Delivery(
            Outcome.UNKNOWN, response=f"connection lost after DATA: {error}", connection_lost=True
        )
    if code == 250:
        return Delivery(Outcome.SENT, code, reply_text(code, message))
    return _refusal(code, message, recipient_phase=False)
