"""The demo's mail source: a Maildir per inbox, for inboxes without an IMAP server.

`make run`'s demo inbox sends to a local mail sink that has no IMAP. So that a newcomer
still sees a reply arrive, the sink (`manage.py mailsink`) writes a canned reply into
`var/demo-replies/<inbox address>/new/` (a Maildir: `tmp/`, `new/`, `cur/`; see
`reachkit.maildir`), and sync reads it with this module, feeding the same ingest as IMAP.
Development only: the folder is set (`settings.SYNC_DEMO_MAILDIR`) only with REACHKIT_DEBUG
on.

As a mail client does, a message read from `new/` is moved to `cur/` (Maildir's "seen by a
client", without the `S` flag: still unread); a message read twice is found by its
Message-ID anyway.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from reachkit.maildir import folder_of

HEADER_READ_BYTES = 256 * 1024


@dataclass(frozen=True)
class Found:
    path: Path
    raw: bytes
    size: int
    body_skipped: bool
    received_at: datetime

    def mark_read(self) -> None:
        """Move the file from new/ to cur/ (Maildir's "seen by a client")."""
        target = self.path.parent.parent / "cur" / f"{self.path.name}:2,"
        with contextlib.suppress(FileNotFoundError):  # another reader moved it
            self.path.rename(target)


def new_messages(root: Path, address: str) -> Iterator[Found]:
    """The messages in the inbox's `new/`, oldest first (Maildir names start with the time)."""
    folder = folder_of(root, address)
    if folder is None or not (folder / "new").is_dir():
        return
    (folder / "cur").mkdir(exist_ok=True)
    cap = settings.SYNC_MAX_MESSAGE_BYTES
    for path in sorted((folder / "new").iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            stat = path.stat()
            with path.open("rb") as file:
                skipped = stat.st_size > cap
                raw = _headers(file.read(HEADER_READ_BYTES)) if skipped else file.read()
        except OSError:
            continue
        yield Found(
            path=path,
            raw=raw,
            size=stat.st_size,
            body_skipped=skipped,
            received_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        )


def _headers(start: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = start.find(separator)
        if end >= 0:
            return start[: end + len(separator)]
    return start
