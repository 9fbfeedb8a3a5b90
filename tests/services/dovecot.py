"""A throwaway Dovecot IMAP server (Debian's `dovecot-imapd`) for the tests.

Built for every test that talks IMAP: the inbox connection check, IMAP sync, the
unified inbox. One `Dovecot` runs for the whole test session, from a config written
into its own temporary folder (nothing under /etc is read or touched), listening on
127.0.0.1 on two free ports:

- `imap_port`: plain IMAP, offering STARTTLS (security "none" or "starttls");
- `imaps_port`: implicit TLS (security "ssl").

Both present the run's test certificate (`tests/services/tls.py`). Users live in a
passwd-file and can be added while it runs (`add_user`); each has INBOX, Sent (`\\Sent`)
and Junk (`\\Junk`), with Maildir storage. `append` puts a message into a user's folder
(how a test plays "the lead replied"); `messages` reads a folder back.

It runs as root (Dovecot drops to `nobody` for mail access) and stops with the session;
if pytest dies, the kernel stops it too (PR_SET_PDEATHSIG). The session fixture in
`tests/services/fixtures.py` skips (or, with CI=true, fails) when the binary is missing.
"""

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from imapclient import IMAPClient

from tests.services.tls import TlsFiles

INSTALL_HINT = (
    "Dovecot is not installed: apt-get install dovecot-imapd "
    "(DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd)"
)
START_TIMEOUT_SECONDS = 15

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests log in wrongly on purpose; answer at once instead of after the default 2 s.
auth_failure_delay = 0
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd/%u
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
  chroot =
}}
service anvil {{
  chroot =
  # No auth penalty: tests fail logins from 127.0.0.1 on purpose, and the penalty would
  # slow every later login from there by up to 15 s. Unreachable socket = no penalty.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def dovecot_binary() -> str | None:
    """The `dovecot` executable, on PATH or where Debian puts it."""
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process goes away (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Dovecot:
    """A running Dovecot on loopback. See the module docstring."""

    host = "127.0.0.1"

    def __init__(self, tls: TlsFiles, binary: str = "dovecot") -> None:
        self.tls = tls
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="reachkit-dovecot-"))
        self.imap_port = 0
        self.imaps_port = 0
        self._users: dict[str, str] = {}
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def passwd_file(self, email: str) -> Path:
        """One passwd-file per user: Dovecot re-reads a known file at most once a second,
        but opens a file it has never seen at the first login."""
        return self.root / "passwd" / email

    @property
    def log_file(self) -> Path:
        return self.root / "dovecot.log"

    def start(self) -> "Dovecot":
        # Dovecot's mail processes run as `nobody`: they must reach {root}/mail.
        self.root.chmod(0o755)
        for folder in ("run", "state", "passwd"):
            (self.root / folder).mkdir()
        (self.root / "mail").mkdir(mode=0o777)
        (self.root / "mail").chmod(0o777)
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.imap_port, self.imaps_port = _free_port(), _free_port()
            config = self.root / "dovecot.conf"
            config.write_text(
                CONFIG.format(
                    root=self.root,
                    cert=self.tls.cert_file,
                    key=self.tls.key_file,
                    imap_port=self.imap_port,
                    imaps_port=self.imaps_port,
                )
            )
            self._process = subprocess.Popen(
                [self.binary, "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=open(self.root / "stderr.log", "ab"),  # noqa: SIM115  (the child keeps it)
                preexec_fn=_die_with_parent,
            )
            if self._wait_until_serving():
                return self
            last_error = self._diagnostics()
            self._terminate()
        self.stop()
        raise RuntimeError(f"Dovecot did not start:\n{last_error}")

    def _wait_until_serving(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.imap_port), timeout=1) as conn:
                    if conn.recv(64).startswith(b"* OK"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _diagnostics(self) -> str:
        parts = []
        for name in ("stderr.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts) or "(no log)"

    def _terminate(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- users ------------------------------------------------------------------------------

    def add_user(self, email: str, password: str) -> None:
        """Create a mailbox login (or change its password); Dovecot sees it at the next login."""
        with self._lock:
            changed = email in self._users
            self._users[email] = password
            path = self.passwd_file(email)
            path.write_text(f"{email}:{{PLAIN}}{password}\n")
            if changed:
                # A file Dovecot knows is re-read when its mtime or size moved, checked at
                # most once a second: move mtime on and let that second pass.
                stamp = path.stat().st_mtime + 1
                os.utime(path, (stamp, stamp))
                time.sleep(1.1)

    def new_user(self, prefix: str = "user") -> tuple[str, str]:
        """A fresh `(email, password)` with an empty mailbox, unique in this session."""
        email = f"{prefix}-{secrets.token_hex(4)}@mail.test"
        password = f"pw-{secrets.token_urlsafe(12)}"
        self.add_user(email, password)
        return email, password

    # --- mail ---------------------------------------------------------------------------

    def client(self, email: str, *, tls: bool = True) -> IMAPClient:
        """A logged-in IMAP client for a user (over IMAPS unless `tls=False`).

        Use it as a context manager, which logs out: `with dovecot.client(email) as imap:`.
        """
        if tls:
            client = IMAPClient(
                self.host,
                self.imaps_port,
                ssl=True,
                ssl_context=self.tls.client_context(),
                timeout=10,
            )
        else:
            client = IMAPClient(self.host, self.imap_port, ssl=False, timeout=10)
        client.login(email, self._users[email])
        return client

    def append(
        self,
        email: str,
        message: EmailMessage | bytes,
        *,
        folder: str = "INBOX",
        flags: tuple[str, ...] = (),
        when: datetime | None = None,
    ) -> None:
        """Deliver a message into one of the user's folders with IMAP APPEND."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        with self.client(email) as client:
            client.append(folder, raw, flags=flags, msg_time=when)

    def messages(self, email: str, folder: str = "INBOX") -> list[bytes]:
        """The raw messages in one of the user's folders, oldest first."""
        with self.client(email) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]

    def __repr__(self) -> str:
        return f"<Dovecot imap={self.imap_port} imaps={self.imaps_port} root={self.root}>"
