"""A development mail sink: an SMTP server that accepts everything and keeps it as .eml files."""

import signal
import threading
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, Session
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class _SaveToFolder:
    def __init__(self, folder: Path, stdout: Any) -> None:
        self.folder = folder
        self.stdout = stdout

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        path = self.folder / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(envelope.original_content or b"")
        recipients = ", ".join(envelope.rcpt_tos)
        self.stdout.write(f"mailsink: {envelope.mail_from} -> {recipients} saved to {path}")
        return "250 2.0.0 Saved"


def _accept_any_login(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=True)


class Command(BaseCommand):
    help = (
        "Run a local SMTP sink for development; every message lands in var/mail/ as an .eml file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1025)
        parser.add_argument("--dir", default=str(settings.VAR_DIR / "mail"))

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["dir"])
        folder.mkdir(parents=True, exist_ok=True)
        controller = Controller(
            _SaveToFolder(folder, self.stdout),
            hostname=options["host"],
            port=options["port"],
            authenticator=_accept_any_login,
            auth_require_tls=False,
        )
        controller.start()
        self.stdout.write(
            f"mailsink: listening on {options['host']}:{options['port']}, saving to {folder}"
        )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        stop.wait()
        controller.stop()
