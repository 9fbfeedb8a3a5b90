"""One SMTP transaction on an open session, and how it ended (`rules.Delivery`).

250 → sent; 4xx → deferred (tried again later); 5xx at RCPT (or a 5.1.x after DATA) →
bounced, unless the server's words name a soft reason ("552 5.2.2 mailbox full": deferred, as
the unified inbox reads the same words in a bounce report; reachkit/delivery_failures.py);
other 5xx → failed; the connection lost after DATA → unknown (the email may have left:
reconciled, never resent blindly).
"""

import smtplib

from campaigns.sending.rules import Delivery, Outcome
from inboxes.smtp_transaction import Ending, Stage, reply_text, send_one
from reachkit.delivery_failures import SOFT, classify_reason, status_code

__all__ = ["reply_text", "transmit"]


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


def transmit(client: smtplib.SMTP, *, sender: str, recipient: str, data: bytes) -> Delivery:
    """One SMTP transaction on an open session (inboxes.smtp_transaction), told apart by
    where it ended: lost before the body is a plain retry, lost after it is `unknown`."""
    done = send_one(client, sender=sender, recipient=recipient, data=data)
    if done.ending == Ending.LOST_BEFORE_DATA:
        return Delivery(Outcome.DEFERRED, response=done.response, connection_lost=True)
    if done.ending == Ending.LOST_AFTER_DATA:
        return Delivery(Outcome.UNKNOWN, response=done.response, connection_lost=True)
    assert done.code is not None
    if done.ending == Ending.ACCEPTED:
        return Delivery(Outcome.SENT, done.code, done.response)
    return _refusal(done.code, done.message, recipient_phase=done.stage == Stage.RCPT)
