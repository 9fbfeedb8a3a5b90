"""A development mail sink: an SMTP server that accepts everything and keeps it as .eml files.

With a replies folder (`make run`: var/demo-replies/), one demo lead answers: the first
email to DEMO_REPLIER gets a canned reply, threaded to it (In-Reply-To, References), left
in the sending inbox's Maildir (`reachkit.maildir`) for the unified inbox's sync to find.
"""

import logging
import signal
import threading
import uuid
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, Session
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from reachkit import maildir

# The demo lead who answers (one of campaigns/demo.py's leads), and what she says.
DEMO_REPLIER = "grace@example.com"
DEMO_REPLY = (
    "Hi {sender},\n\n"
    "thanks for reaching out, good timing: we are looking at exactly this. I'm interested.\n"
    "Could we have a call next week? Tuesday or Wednesday afternoon works for me.\n\n"
    "Grace\n\n"
    "On {date}, {sender} wrote:\n"
    "> {first_line}\n"
)


class SaveToFolder:
    """aiosmtpd's DATA hook: each message becomes `<UTC time>-<id>.eml` in `folder`.

    The names sort by arrival, so `ls var/mail` lists the oldest first; a file appears
    whole (written aside, then renamed), never half-written.
    """

    def __init__(self, folder: Path, stdout: Any, replies: Path | None = None) -> None:
        self.folder = folder
        self.stdout = stdout
        self.replies = replies

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(raw)
        partial.replace(path)
        headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        subject = headers.get("Subject", "")
        recipients = ", ".join(envelope.rcpt_tos)
        self.stdout.write(
            f"mailsink: {envelope.mail_from} -> {recipients} {subject!r} saved to {path}"
        )
        if self.replies is not None and DEMO_REPLIER in (r.lower() for r in envelope.rcpt_tos):
            self._reply(headers, raw)
        self.stdout.flush()
        return "250 2.0.0 Saved"

    def _reply(self, original: Any, raw: bytes) -> None:
        """The demo lead's answer to a first email (not to follow-ups: she answered once)."""
        assert self.replies is not None
        message_id = str(original.get("Message-ID", "")).strip()
        sender_name, sender = parseaddr(str(original.get("From", "")))
        if not message_id or not sender or original.get("In-Reply-To"):
            return
        first_line = _first_line(raw)
        reply = EmailMessage()
        reply["From"] = f"Grace Hopper <{DEMO_REPLIER}>"
        reply["To"] = sender
        reply["Subject"] = f"Re: {original.get('Subject', '')}"
        reply["Date"] = format_datetime(datetime.now(UTC))
        reply["Message-ID"] = make_msgid(domain="example.com")
        reply["In-Reply-To"] = message_id
        reply["References"] = message_id
        reply.set_content(
            DEMO_REPLY.format(
                sender=(sender_name or sender).split()[0],
                date=original.get("Date", "an earlier day"),
                first_line=first_line,
            )
        )
        target = maildir.deliver(self.replies, sender, reply.as_bytes())
        if target is not None:
            self.stdout.write(f"mailsink: {DEMO_REPLIER} replied, left in {target.parent.parent}")


def _first_line(raw: bytes) -> str:
    """The first line of the email's text, to quote."""
    try:
        parsed = message_from_bytes(raw, policy=default_policy)
        part = parsed.get_body(preferencelist=("plain",)) if parsed.is_multipart() else parsed
        text = part.get_content() if part is not None else ""
    except (LookupError, ValueError, AttributeError, KeyError):
        return ""
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")[:200]


def _accept_any_login(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=True)


def start_sink(
    *, folder: Path, host: str, port: int, stdout: Any, replies: Path | None = None
) -> Controller:
    """A running sink on host:port saving into `folder` (created if missing); `.stop()` it.
    With `replies`, the demo lead answers into that Maildir root (see the module)."""
    folder.mkdir(parents=True, exist_ok=True)
    # aiosmtpd logs every SMTP command it reads; one line per saved message says enough.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    controller = Controller(
        SaveToFolder(folder, stdout, replies),
        hostname=host,
        port=port,
        authenticator=_accept_any_login,
        auth_require_tls=False,
    )
    controller.start()
    return controller


class Command(BaseCommand):
    help = (
        "Run a local SMTP sink for development; every message lands in var/mail/ as an .eml file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.MAILSINK_PORT)
        parser.add_argument("--dir", default=str(settings.MAILSINK_DIR))
        parser.add_argument(
            "--replies-dir",
            default=str(settings.SYNC_DEMO_MAILDIR or ""),
            help="where the demo lead's replies go (a Maildir per inbox); empty: none",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["dir"])
        replies = Path(options["replies_dir"]) if options["replies_dir"] else None
        controller = start_sink(
            folder=folder,
            host=options["host"],
            port=options["port"],
            stdout=self.stdout,
            replies=replies,
        )
        self.stdout.write(
            f"mailsink: listening on {options['host']}:{options['port']}, saving to {folder}"
        )
        self.stdout.flush()
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        stop.wait()
        controller.stop()
