"""One SMTP transaction (MAIL, RCPT, DATA) on an open session, and where it ended.

The protocol alone, for every sender of mail (campaigns, the unified inbox, warmup): each
decides what an ending means for its own rows. Where it ended matters: before the message
body is on the wire nothing can have been delivered (a lost connection is a plain retry);
after it, it may have been.
"""

import re
import smtplib
from dataclasses import dataclass
from enum import StrEnum

_LEADING_DOT = re.compile(rb"(?m)^\.")


class Ending(StrEnum):
    ACCEPTED = "accepted"  # 250 after the body
    REFUSED = "refused"  # a reply other than the one wanted, at `stage`; the session was reset
    LOST_BEFORE_DATA = "lost_before_data"  # nothing was delivered
    LOST_AFTER_DATA = "lost_after_data"  # it may have been


class Stage(StrEnum):
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"  # the DATA command itself, or the reply after the body


@dataclass(frozen=True)
class Transaction:
    ending: Ending
    stage: Stage | None = None
    code: int | None = None
    message: bytes | str = b""
    error: str = ""  # a lost connection's exception, as text

    @property
    def response(self) -> str:
        """What to record: the server's last reply on one line, or how the connection broke."""
        if self.ending == Ending.LOST_BEFORE_DATA:
            return f"connection lost before DATA: {self.error}"
        if self.ending == Ending.LOST_AFTER_DATA:
            return f"connection lost after DATA: {self.error}"
        return reply_text(self.code or 0, self.message)


def reply_text(code: int, message: bytes | str) -> str:
    """A server's reply on one line, bounded: `550 5.1.1 User unknown`."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"[:1000]


def send_one(client: smtplib.SMTP, *, sender: str, recipient: str, data: bytes) -> Transaction:
    """MAIL FROM `sender`, RCPT TO `recipient`, DATA `data` (dot-stuffed, RFC 5321 4.5.2)."""
    try:
        code, message = client.mail(sender)
        if code != 250:
            return _refused(client, Stage.MAIL, code, message)
        code, message = client.rcpt(recipient)
        if code not in (250, 251):
            return _refused(client, Stage.RCPT, code, message)
        client.putcmd("data")
        code, message = client.getreply()
        if code != 354:
            return _refused(client, Stage.DATA, code, message)
    except (smtplib.SMTPException, OSError) as error:
        return Transaction(Ending.LOST_BEFORE_DATA, error=str(error))
    try:
        body = _LEADING_DOT.sub(b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        client.send(body + b".\r\n")
        code, message = client.getreply()
    except (smtplib.SMTPException, OSError) as error:
        return Transaction(Ending.LOST_AFTER_DATA, error=str(error))
    if code == 250:
        return Transaction(Ending.ACCEPTED, Stage.DATA, code, message)
    return Transaction(Ending.REFUSED, Stage.DATA, code, message)


def _refused(client: smtplib.SMTP, stage: Stage, code: int, message: bytes) -> Transaction:
    client.rset()  # the session stays usable for the next email
    return Transaction(Ending.REFUSED, stage, code, message)
