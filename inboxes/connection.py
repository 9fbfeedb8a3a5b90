"""Logging in to a mailbox's SMTP and IMAP servers, as the connection check does.

`check_smtp` connects (implicit TLS, STARTTLS or plain, as configured), says EHLO and
logs in. `check_imap` connects the same way, logs in, selects INBOX and finds the Sent
and Junk folders by their special-use flags (RFC 6154), falling back to the usual names.

Both either return or raise `ConnectionCheckFailed`, whose message is written for a
person ("IMAP login failed: authentication failed") and never holds a traceback or the
password. Every connect and every read gives up after `timeout` seconds, and a whole
login (or a whole check, under one `Deadline`) after `INBOX_CHECK_DEADLINE_SECONDS`, so a
dead or dripping host costs a bounded wait, never a hung worker. Certificates are
verified against the system's trust store plus `settings.INBOX_TLS_CA_FILE`.

The host is a tenant's choice, so every login, the sender's and reconciliation's too:

- resolves it once and connects only to addresses `reachkit.netguard` allows (public ones,
  and `INBOX_ALLOWED_NETWORKS`), keeping the name for TLS (SNI and the certificate);
- quotes the server's words only once it has greeted as the protocol's server (SMTP
  `220`, IMAP `* OK`/`* PREAUTH`): whatever else listens on a port is never read back.
"""

import base64
import contextlib
import imaplib
import ipaddress
import logging
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from reachkit import netguard

logger = logging.getLogger("reachkit.inboxes")

SSL = "ssl"
STARTTLS = "starttls"
NONE = "none"

# Server text quoted in an error is cut to this length: enough to read, not a wall of text.
MAX_SERVER_TEXT = 200

# When a server has no special-use flags (old servers), the names clients commonly use.
SENT_NAMES = ("sent", "sent items", "sent messages", "sent mail", "sent-mail", "gesendet")
JUNK_NAMES = ("junk", "spam", "junk e-mail", "junk email", "bulk mail", "junk mail")


_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)
INVALID_HOST = "Enter a host name or an IP address."


def is_valid_host(value: str) -> bool:
    """A DNS name (a single label too: `mail` on a private network) or an IP address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return True
    name = value.rstrip(".")
    return 0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in name.split("."))


@dataclass(frozen=True)
class ServerSettings:
    """Where and how to log in to one server (SMTP or IMAP) of a mailbox."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    security: str = SSL


@dataclass(frozen=True)
class ImapFolders:
    """The mailbox's Sent and Junk folders; "" when the server has none we recognise."""

    sent: str
    junk: str


class ConnectionCheckFailed(Exception):
    """A check failed; `message` is what the person who added the inbox reads.

    `authentication` is true when the server refused the credentials (as opposed to a
    network or protocol problem): the sender stops using the inbox instead of retrying.
    """

    def __init__(self, message: str, *, authentication: bool = False) -> None:
        self.message = message
        self.authentication = authentication
        super().__init__(message)


class Deadline:
    """The moment a whole exchange with mail servers ends, whatever the servers do.

    Per-read timeouts alone never end a server that sends one byte just before each
    would expire. Sockets opened under a deadline are watched: when it passes, a timer
    shuts them down, which ends any read or handshake in progress. Use it as a context
    manager (the connection check runs SMTP and IMAP under one), or `cancel()` it.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer: threading.Timer | None = None
        self._cancelled = False
        # Set once the timer has shut the sockets down: whatever fails after that failed
        # because of it.
        self.expired = False

    def __enter__(self) -> "Deadline":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cancel()

    @property
    def passed(self) -> bool:
        return self.expired or time.monotonic() >= self._end

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down when the deadline passes (at once if it has)."""
        with self._lock:
            if self._cancelled:
                return
            if self.expired:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                return
            self._sockets.append(sock)
            if self._timer is None:
                self._timer = threading.Timer(self.remaining(), self._expire)
                self._timer.daemon = True
                self._timer.start()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            self._sockets.clear()
            if self._timer is not None:
                self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                # The plain socket's shutdown, also for a TLS socket: it acts on the
                # connection under the TLS layer, which the reading thread holds.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
            self._sockets.clear()


class _WatchedTlsContext(ssl.SSLContext):
    """A TLS context whose sockets are watched by a deadline from before their handshake."""

    deadline: Deadline | None = None

    def wrap_socket(  # type: ignore[override]
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        wrapped = super().wrap_socket(
            sock,
            server_side=server_side,
            do_handshake_on_connect=False,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
        )
        if self.deadline is not None:
            self.deadline.watch(wrapped)
        if do_handshake_on_connect:
            wrapped.do_handshake()
        return wrapped


def tls_context(deadline: Deadline | None = None) -> ssl.SSLContext:
    """Certificate and host name verification, with the extra CAs of INBOX_TLS_CA_FILE."""
    context = _WatchedTlsContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificate and name
    context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if settings.INBOX_TLS_CA_FILE:
        context.load_verify_locations(cafile=settings.INBOX_TLS_CA_FILE)
    context.deadline = deadline
    return context


# How many of a server's first bytes are kept, to tell what answered (never to quote it).
FIRST_BYTES = 16


class _RecordingSocket(socket.socket):
    """A socket that keeps the first bytes it receives in plain text (smtplib and imaplib read
    through `recv_into`; once TLS wraps the connection, nothing more is kept)."""

    first_bytes = b""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        self._keep(data)
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        count = super().recv_into(buffer, nbytes, flags)
        self._keep(bytes(memoryview(buffer)[: min(count, FIRST_BYTES)]))
        return count

    def _keep(self, data: bytes) -> None:
        if len(self.first_bytes) < FIRST_BYTES:
            self.first_bytes = (self.first_bytes + data)[:FIRST_BYTES]


@dataclass
class _Route:
    """One login's way to its server: the addresses netguard checked, its time limits,
    whether the server has greeted as the protocol's server should (until then, nothing it
    says is quoted), and the first bytes it sent in plain text (what answered: TLS, another
    mail protocol)."""

    server: ServerSettings
    addresses: list[netguard.IPAddress]
    timeout: float
    deadline: Deadline
    greeted: bool = False
    _socket: _RecordingSocket | None = None

    @property
    def first_bytes(self) -> bytes:
        return self._socket.first_bytes if self._socket is not None else b""

    def open(self) -> socket.socket:
        """A socket connected to the first checked address that answers."""
        error: OSError = TimeoutError("the deadline passed")
        for address in self.addresses:
            wait = min(self.timeout, self.deadline.remaining())
            if wait <= 0:
                break
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            sock = _RecordingSocket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(wait)
                self.deadline.watch(sock)
                sock.connect((str(address), self.server.port))
            except OSError as failure:
                sock.close()
                error = failure
                continue
            sock.settimeout(self.timeout)
            self._socket = sock
            return sock
        raise error


def _route(protocol: str, server: ServerSettings, timeout: float, deadline: Deadline) -> _Route:
    """Resolve the host and check its addresses; raises ConnectionCheckFailed."""
    failed = f"{protocol} connection failed"
    if deadline.passed:
        raise ConnectionCheckFailed(
            f"{failed}: not tried, no time was left of {deadline.seconds:g} s in all"
        )
    try:
        addresses = netguard.resolve_allowed(
            server.host, allowed=settings.INBOX_ALLOWED_NETWORKS, lifetime=deadline.remaining()
        )
    except netguard.AddressRefused as refused:
        logger.warning(
            "inbox host refused",
            extra={"host": server.host, "address": str(refused.address), "reason": refused.reason},
        )
        # Neither the address nor its kind is shown: a tenant must not map names of the
        # server's network to addresses through this message.
        verb = "is" if _is_ip_literal(server.host) else "resolves to"
        raise ConnectionCheckFailed(
            f"{failed}: {server.host} {verb} a private or reserved address, which inbox "
            "servers may not use (allowed only through REACHKIT_INBOX_ALLOWED_NETWORKS)"
        ) from None
    except netguard.HostNotFound:
        raise ConnectionCheckFailed(f"{failed}: the host {server.host} was not found") from None
    except netguard.LookupFailed:
        if deadline.passed:
            raise ConnectionCheckFailed(
                f"{failed}: the host {server.host} could not be looked up within "
                f"{deadline.seconds:g} s in all"
            ) from None
        raise ConnectionCheckFailed(
            f"{failed}: the host {server.host} could not be looked up (DNS did not answer); "
            "try again"
        ) from None
    if deadline.passed:
        raise ConnectionCheckFailed(
            f"{failed}: not tried, no time was left of {deadline.seconds:g} s in all"
        )
    return _Route(server=server, addresses=addresses, timeout=timeout, deadline=deadline)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def _login_deadline(deadline: Deadline | None) -> Iterator[Deadline]:
    """The caller's deadline, or one for this login alone (ended once logged in)."""
    if deadline is not None:
        yield deadline
        return
    with Deadline(float(settings.INBOX_CHECK_DEADLINE_SECONDS)) as own:
        yield own


# --- SMTP ---------------------------------------------------------------------------------


def check_smtp(server: ServerSettings, *, timeout: float, deadline: Deadline | None = None) -> None:
    """EHLO, STARTTLS or implicit TLS as configured, AUTH; raises ConnectionCheckFailed."""
    with smtp_session(server, timeout=timeout, deadline=deadline):
        pass


@contextlib.contextmanager
def smtp_session(
    server: ServerSettings, *, timeout: float, deadline: Deadline | None = None
) -> Iterator[smtplib.SMTP]:
    """A logged-in SMTP client for the body of the `with`, closed (QUIT) afterwards.

    Logging in raises ConnectionCheckFailed; what the body raises passes through as is.
    """
    client = smtp_login(server, timeout=timeout, deadline=deadline)
    try:
        yield client
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
        client.close()


def smtp_login(
    server: ServerSettings, *, timeout: float, deadline: Deadline | None = None
) -> smtplib.SMTP:
    """Connect, EHLO, STARTTLS or implicit TLS as configured, AUTH: a logged-in client.

    The login ends by `deadline`, or else within INBOX_CHECK_DEADLINE_SECONDS.
    """
    opened: list[smtplib.SMTP] = []
    try:
        with _login_deadline(deadline) as limit:
            return _smtp_login_steps(server, timeout, limit, opened)
    except BaseException:
        # After a failure, hang up without QUIT: a stalled server would cost another timeout.
        for client in opened:
            client.close()
        raise


class _GuardedSMTP(smtplib.SMTP):
    """smtplib's client, connected to the route's checked addresses, never to a new look-up
    of the name; STARTTLS still verifies the name (smtplib uses `_host`)."""

    def __init__(self, route: _Route) -> None:
        self._route = route
        super().__init__(timeout=route.timeout)
        self._host = route.server.host

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._route.open()


class _GuardedSMTP_SSL(smtplib.SMTP_SSL, _GuardedSMTP):
    """Implicit TLS: SMTP_SSL wraps the socket `_GuardedSMTP` opens, verifying the name."""

    def __init__(self, route: _Route, context: ssl.SSLContext) -> None:
        self._route = route
        smtplib.SMTP_SSL.__init__(self, timeout=route.timeout, context=context)
        self._host = route.server.host


def _smtp_login_steps(
    server: ServerSettings, timeout: float, deadline: Deadline, opened: list[smtplib.SMTP]
) -> smtplib.SMTP:
    route = _route("SMTP", server, timeout, deadline)
    client: smtplib.SMTP
    stage = "connection"
    try:
        if server.security == SSL:
            client = _GuardedSMTP_SSL(route, context=tls_context(deadline))
        else:
            client = _GuardedSMTP(route)
        opened.append(client)
        code, _ = client.connect(server.host, server.port)
        if code != 220:
            raise _NotGreeted
        route.greeted = True
        client.ehlo()
        if server.security == STARTTLS:
            stage = "STARTTLS"
            if not client.has_extn("starttls"):
                raise ConnectionCheckFailed(
                    "SMTP STARTTLS failed: the server does not offer STARTTLS "
                    "(try security ssl, or none)"
                )
            client.starttls(context=tls_context(deadline))
            client.ehlo()
        stage = "login"
        if not client.has_extn("auth"):
            raise ConnectionCheckFailed(
                "SMTP login failed: the server offers no AUTH on this connection"
                + (" (try security starttls or ssl)" if server.security == NONE else "")
            )
        _smtp_login(client, server.username, server.password)
        return client
    except Exception as error:
        failure = _smtp_failure(error, stage, route)
        if failure is None:
            raise
        raise failure from None


class _NotGreeted(Exception):
    """Something answered, but not with the protocol's greeting."""


def _smtp_failure(error: Exception, stage: str, route: _Route) -> ConnectionCheckFailed | None:
    """What went wrong, for a person; None for errors that are not the server's doing."""
    server, failed = route.server, f"SMTP {stage} failed"
    if _cut_off(error, route.deadline):
        return ConnectionCheckFailed(f"{failed}: {_out_of_time(server, route.deadline)}")
    if isinstance(error, ConnectionCheckFailed):
        return error
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib reports a read that timed out as a disconnection.
        if isinstance(error.__context__, OSError):
            problem = _network_problem(
                error.__context__, server, route.timeout, first_bytes=route.first_bytes
            )
            return ConnectionCheckFailed(f"{failed}: {problem}")
        return ConnectionCheckFailed(
            f"{failed}: {server.host}:{server.port} closed the connection"
            + _wrong_port_hint(server, route.first_bytes)
        )
    if not route.greeted and isinstance(error, (_NotGreeted, smtplib.SMTPException, UnicodeError)):
        return ConnectionCheckFailed(f"{failed}: {_not_greeted(route, SMTP)}")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return ConnectionCheckFailed(
            "SMTP login failed: authentication failed"
            + _quoted(error.smtp_code, error.smtp_error, server.password),
            authentication=True,
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return ConnectionCheckFailed(
            f"{failed}: the server answered"
            + _quoted(error.smtp_code, error.smtp_error, server.password)
        )
    if isinstance(error, smtplib.SMTPException):
        return ConnectionCheckFailed(f"{failed}: {_clean(str(error), server.password)}")
    if isinstance(error, (OSError, UnicodeError)):
        problem = _network_problem(error, server, route.timeout, first_bytes=route.first_bytes)
        return ConnectionCheckFailed(f"{failed}: {problem}")
    return None


def _smtp_login(client: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login, which speaks ASCII only; other credentials go as UTF-8 AUTH PLAIN."""
    if (username + password).isascii():
        client.login(username, password)
        return
    mechanisms = client.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in mechanisms:
        raise ConnectionCheckFailed(
            "SMTP login failed: the password has non-ASCII characters and the server "
            "does not offer AUTH PLAIN"
        )
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


# --- IMAP ---------------------------------------------------------------------------------


def check_imap(
    server: ServerSettings, *, timeout: float, deadline: Deadline | None = None
) -> ImapFolders:
    """LOGIN, SELECT INBOX, find Sent and Junk; raises ConnectionCheckFailed."""
    with (
        _login_deadline(deadline) as limit,
        imap_session(server, timeout=timeout, deadline=limit) as client,
    ):
        assert isinstance(client, _GuardedIMAPClient)
        stage = ["SELECT INBOX"]
        with _imap_errors(client.route, stage):
            client.select_folder("INBOX", readonly=True)
            stage[0] = "folder listing"
            return special_use_folders(client.list_folders())


@contextlib.contextmanager
def imap_session(
    server: ServerSettings, *, timeout: float, deadline: Deadline | None = None
) -> Iterator[IMAPClient]:
    """A logged-in IMAP client for the body of the `with`, logged out afterwards.

    Logging in raises ConnectionCheckFailed; what the body raises passes through as is.
    """
    client = imap_login(server, timeout=timeout, deadline=deadline)
    try:
        yield client
    finally:
        with contextlib.suppress(IMAPClientError, OSError):
            client.logout()
        with contextlib.suppress(OSError):
            client.shutdown()


class _GuardedIMAP4(imaplib.IMAP4):
    """imaplib's client on the route's checked addresses (implicit TLS with `tls`), which
    notes on the route whether the server greeted with `* OK` or `* PREAUTH`. STARTTLS still
    verifies the name (imaplib uses `host`)."""

    def __init__(self, route: _Route, tls: ssl.SSLContext | None) -> None:
        self._route = route
        self._tls = tls
        super().__init__(route.server.host, route.server.port, timeout=route.timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = self._route.open()
        if self._tls is None:
            return sock
        return self._tls.wrap_socket(sock, server_hostname=self.host)

    def _connect(self) -> None:
        try:
            super()._connect()  # type: ignore[misc]  # imaplib's, untyped
        finally:
            welcome = getattr(self, "welcome", None) or b""
            self._route.greeted = welcome.upper().startswith((b"* OK", b"* PREAUTH"))


class _GuardedIMAPClient(IMAPClient):
    """IMAPClient over `_GuardedIMAP4` (its hook for making the imaplib connection)."""

    def __init__(self, route: _Route, tls: ssl.SSLContext | None) -> None:
        self.route = route
        super().__init__(
            route.server.host,
            route.server.port,
            ssl=tls is not None,
            ssl_context=tls,
            timeout=route.timeout,
        )

    def _create_IMAP4(self) -> imaplib.IMAP4:
        return _GuardedIMAP4(self.route, self.ssl_context if self.ssl else None)


def imap_login(
    server: ServerSettings, *, timeout: float, deadline: Deadline | None = None
) -> IMAPClient:
    """Connect, STARTTLS or implicit TLS as configured, LOGIN: a logged-in client.

    The login ends by `deadline`, or else within INBOX_CHECK_DEADLINE_SECONDS.
    """
    opened: list[IMAPClient] = []
    stage = ["connection"]
    try:
        with _login_deadline(deadline) as limit:
            route = _route("IMAP", server, timeout, limit)
            with _imap_errors(route, stage):
                client = _GuardedIMAPClient(
                    route, tls_context(limit) if server.security == SSL else None
                )
                opened.append(client)
                if server.security == STARTTLS:
                    stage[0] = "STARTTLS"
                    if not client.has_capability("STARTTLS"):
                        raise ConnectionCheckFailed(
                            "IMAP STARTTLS failed: the server does not offer STARTTLS "
                            "(try security ssl, or none)"
                        )
                    client.starttls(tls_context(limit))
                stage[0] = "login"
                if server.security == NONE and client.has_capability("LOGINDISABLED"):
                    raise ConnectionCheckFailed(
                        "IMAP login failed: the server refuses logins without TLS "
                        "(try security starttls or ssl)"
                    )
                _imap_login(client, server.username, server.password)
                return client
    except BaseException:
        # After a failure, hang up without LOGOUT: a stalled server would cost another timeout.
        for opened_client in opened:
            with contextlib.suppress(OSError):
                opened_client.shutdown()
        raise


@contextlib.contextmanager
def _imap_errors(route: _Route, stage: list[str]) -> Iterator[None]:
    """IMAP and network errors as ConnectionCheckFailed, naming the stage (`stage[0]`)."""
    server, timeout = route.server, route.timeout
    try:
        yield
    except (ConnectionCheckFailed, IMAPClientError, OSError, UnicodeError) as error:
        failed = f"IMAP {stage[0]} failed"
        if _cut_off(error, route.deadline):
            raise ConnectionCheckFailed(
                f"{failed}: {_out_of_time(server, route.deadline)}"
            ) from None
        if isinstance(error, ConnectionCheckFailed):
            raise
        if isinstance(error, (OSError, UnicodeError)):
            problem = _network_problem(error, server, timeout, first_bytes=route.first_bytes)
            raise ConnectionCheckFailed(f"{failed}: {problem}") from None
        if isinstance(error, IMAPClientAbortError) and _hung_up(error):
            raise ConnectionCheckFailed(
                f"{failed}: {server.host}:{server.port} closed the connection"
                + _wrong_port_hint(server, route.first_bytes)
            ) from None
        if not route.greeted:
            raise ConnectionCheckFailed(f"{failed}: {_not_greeted(route, IMAP)}") from None
        if isinstance(error, LoginError):
            raise ConnectionCheckFailed(
                "IMAP login failed: authentication failed", authentication=True
            ) from None
        if isinstance(error, IMAPClientAbortError):
            raise ConnectionCheckFailed(
                f"{failed}: {server.host}:{server.port} closed the connection"
                + _wrong_port_hint(server, route.first_bytes)
            ) from None
        raise ConnectionCheckFailed(
            f"{failed}: the server answered: {_clean(str(error), server.password)}"
        ) from None


def _hung_up(error: IMAPClientAbortError) -> bool:
    """imaplib's words for a connection that broke (its other aborts quote the server)."""
    text = str(error)
    if text.startswith("command: "):
        text = text.partition(" => ")[2]
    return text.startswith("socket error: ") and not text.startswith("socket error: unterminated")


def _imap_login(client: IMAPClient, username: str, password: str) -> None:
    """IMAP LOGIN speaks ASCII only; other credentials go as UTF-8 AUTHENTICATE PLAIN."""
    if (username + password).isascii():
        client.login(username, password)
        return
    if not client.has_capability("AUTH=PLAIN"):
        raise ConnectionCheckFailed(
            "IMAP login failed: the password has non-ASCII characters and the server "
            "does not offer AUTHENTICATE PLAIN"
        )
    client.plain_login(username, password)


def special_use_folders(folders: Iterable[tuple[Sequence[Any], Any, str]]) -> ImapFolders:
    """Sent and Junk among `LIST` results: by `\\Sent`/`\\Junk` flag, else by usual name."""
    listed = [
        ({_text(flag).lower() for flag in flags}, _text(delimiter), name)
        for flags, delimiter, name in folders
    ]

    def find(flag: str, names: tuple[str, ...]) -> str:
        for flags, _, name in listed:
            if flag in flags:
                return name
        for flags, delimiter, name in listed:
            leaf = name.rsplit(delimiter, 1)[-1] if delimiter else name
            if "\\noselect" not in flags and leaf.lower() in names:
                return name
        return ""

    return ImapFolders(sent=find("\\sent", SENT_NAMES), junk=find("\\junk", JUNK_NAMES))


# --- errors -------------------------------------------------------------------------------


def _network_problem(
    error: BaseException, server: ServerSettings, timeout: float, *, first_bytes: bytes = b""
) -> str:
    """What went wrong below the protocol, in words."""
    where = f"{server.host}:{server.port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"the TLS certificate of {server.host} is not valid ({error.verify_message})"
    if isinstance(error, TimeoutError):
        return f"no answer from {where} within {timeout:g} s"
    if isinstance(error, ConnectionRefusedError):
        return f"{where} refused the connection (is the port right?)"
    if isinstance(error, socket.gaierror):
        return f"the host {server.host} was not found"
    if isinstance(error, ssl.SSLEOFError):
        return f"{where} closed the connection during the TLS handshake"
    if isinstance(error, ssl.SSLError):
        if server.security == SSL and _not_tls(error):
            return (
                f"the TLS handshake with {where} failed: it does not speak TLS from the start "
                "(try security starttls, or none)"
            )
        return f"the TLS handshake with {where} failed" + _wrong_port_hint(server, first_bytes)
    if isinstance(error, ConnectionError):
        return f"{where} closed the connection" + _wrong_port_hint(server, first_bytes)
    if isinstance(error, UnicodeError):
        return "the server sent something that is not text"
    detail = error.strerror if isinstance(error, OSError) else None
    return f"could not talk to {where} ({detail or type(error).__name__})"


def _cut_off(error: Exception, deadline: Deadline) -> bool:
    """Whether `error` came from the deadline: after the timer cut the sockets, anything
    (a half-read line taken for an answer too); at the deadline, a timeout."""
    return deadline.expired or (deadline.passed and isinstance(error, OSError))


SMTP = "SMTP"
IMAP = "IMAP"
_ARTICLE = {SMTP: "an SMTP", IMAP: "an IMAP"}


def _not_greeted(route: _Route, protocol: str) -> str:
    """Whatever answered is never quoted (it may be another service: Redis, NATS, …); only
    what its first bytes show is said: TLS, or the other mail protocol's greeting."""
    server, first = route.server, route.first_bytes
    where = f"{server.host}:{server.port}"
    other = _greeting_of(first)
    if _looks_like_tls(first):
        return (
            f"could not connect: {where} did not greet as {_ARTICLE[protocol]} server: it "
            "speaks TLS from the start (try security ssl)"
        )
    if other is not None and other != protocol:
        return (
            f"could not connect: {where} greeted as {_ARTICLE[other]} server, not "
            f"{_ARTICLE[protocol]} one (is the port right?)" + _mail_sink_note(server, protocol)
        )
    return (
        f"could not connect: {where} did not greet as {_ARTICLE[protocol]} server "
        "(is the port right?)"
    )


def _looks_like_tls(data: bytes) -> bool:
    """A TLS record's first bytes: a handshake (22) or an alert (21), then version 3.x."""
    return len(data) >= 2 and data[0] in (0x15, 0x16) and data[1] == 0x03


def _greeting_of(data: bytes) -> str | None:
    """The mail protocol whose greeting `data` starts with, if any."""
    if re.match(rb"220[ -]", data):
        return SMTP
    if data.upper().startswith((b"* OK", b"* PREAUTH")):
        return IMAP
    return None


# OpenSSL's reasons when the server's first bytes were not a TLS record: plain text first.
_NOT_TLS_REASONS = {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL"}


def _not_tls(error: ssl.SSLError) -> bool:
    return getattr(error, "reason", None) in _NOT_TLS_REASONS


def _mail_sink_note(server: ServerSettings, protocol: str) -> str:
    """`make run`'s mail sink is SMTP alone: an inbox's IMAP pointed at it can never log in."""
    if protocol != IMAP or not settings.DEBUG or server.port != settings.MAILSINK_PORT:
        return ""
    return (
        "; this is make run's mail sink, which has no IMAP: add a demo inbox with "
        '`make manage ARGS="add_demo_inbox EMAIL"`'
    )


def _out_of_time(server: ServerSettings, deadline: Deadline) -> str:
    return (
        f"no complete answer from {server.host}:{server.port} within {deadline.seconds:g} s in all"
    )


def _wrong_port_hint(server: ServerSettings, first_bytes: bytes) -> str:
    """A hint at `security`, only when the server's first bytes show it: TLS where plain text
    was expected. (Plain text where TLS was expected shows in the handshake's error.)"""
    if server.security != SSL and _looks_like_tls(first_bytes):
        return " (it speaks TLS from the start: try security ssl)"
    return ""


def _quoted(code: int, text: bytes | str, password: str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f" ({code} {_clean(message, password)})".replace(" )", ")")


def _clean(text: str, password: str) -> str:
    """Server text for a person: one line, bounded, and never the password."""
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    text = " ".join(text.split())
    if password:
        text = text.replace(password, "[redacted]")
    if len(text) > MAX_SERVER_TEXT:
        text = text[: MAX_SERVER_TEXT - 1] + "…"
    return text


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)
