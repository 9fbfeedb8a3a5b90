"""Development only: the Maildir where `make run`'s mail sink leaves the demo's replies.

The sink (`manage.py mailsink`) has no IMAP server. To let a newcomer see a reply come
back, it writes a canned reply from one demo lead into a Maildir per inbox address under
`settings.SYNC_DEMO_MAILDIR` (`var/demo-replies/<address>/`, set only with REACHKIT_DEBUG
on), and the unified inbox's sync reads that Maildir for inboxes without an IMAP server.
One rule names the folder for both sides: `folder_of`.
"""

import os
import re
import socket
import time
import uuid
from pathlib import Path

# An address as a folder name: nothing that walks out of the root.
_SAFE_ADDRESS = re.compile(r"[a-z0-9][a-z0-9._+-]{0,63}@[a-z0-9][a-z0-9.-]{0,252}", re.IGNORECASE)


def folder_of(root: Path, address: str) -> Path | None:
    """The address's Maildir under `root`; None for an address that is no safe name."""
    if not _SAFE_ADDRESS.fullmatch(address) or ".." in address:
        return None
    return root / address.lower()


def deliver(root: Path, address: str, raw: bytes) -> Path | None:
    """Put a message into the address's Maildir `new/` the Maildir way (written in `tmp/`,
    then renamed), creating the folders; the new file's path, or None for an unsafe name."""
    folder = folder_of(root, address)
    if folder is None:
        return None
    for name in ("tmp", "new", "cur"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    # <seconds>.<unique>.<host>: names sort by arrival.
    name = f"{time.time():.6f}.{uuid.uuid4().hex}.{socket.gethostname().replace('/', '_')}"
    partial = folder / "tmp" / name
    partial.write_bytes(raw)
    target = folder / "new" / name
    os.replace(partial, target)
    return target
