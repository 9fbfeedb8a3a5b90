"""A development mail sink: an SMTP server that accepts everything and keeps it as .eml files."""

import logging
import signal
import threading
import uuid
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, Session
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class SaveToFolder:
    """aiosmtpd's DATA hook: each message becomes `<UTC time>-<id>.eml` in `folder`.

    The names sort by arrival, so `ls var/mail` lists the oldest first; a file appears
    whole (written aside, then renamed), never half-written.
    """

    def __init__(self, folder: Path, stdout: Any) -> None:
        self.folder = folder
        self.stdout = stdout

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(raw)
        partial.replace(path)
        subject = BytesHeaderParser(policy=default_policy).parsebytes(raw).get("Subject", "")
        recipients = ", ".join(envelope.rcpt_tos)
        self.stdout.write(
            f"mailsink: {envelope.mail_from} -> {recipients} {subject!r} saved to {path}"
        )
        self.stdout.flush()
        return "250 2.0.0 Saved"


def _accept_any_login(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=True)


def start_sink(*, folder: Path, host: str, port: int, stdout: Any) -> Controller:
    """A running sink on host:port saving into `folder` (created if missing); `.stop()` it."""
    folder.mkdir(parents=True, exist_ok=True)
    # aiosmtpd logs every SMTP command it reads; one line per saved message says enough.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    controller = Controller(
        SaveToFolder(folder, stdout),
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

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["dir"])
        controller = start_sink(
            folder=folder, host=options["host"], port=options["port"], stdout=self.stdout
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
