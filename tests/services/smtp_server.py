"""A real SMTP server (aiosmtpd) in the test process, on a free loopback port.

Built for every test that talks SMTP: the inbox connection check, the sending engine,
replies from the unified inbox. One `SmtpServer` is one listening port with one kind
of transport security:

- `security="none"`: plain SMTP; AUTH is offered without TLS (as `security: none` means).
- `security="starttls"`: plain SMTP that offers STARTTLS; AUTH only after STARTTLS.
- `security="ssl"`: implicit TLS from the first byte (port 465 style).

TLS uses the run's test certificate (`tests/services/tls.py`); clients trust its CA.
AUTH PLAIN and LOGIN check a `users` dict (`add_user`); every attempt is recorded.

What the server receives is recorded in `messages` (envelope, raw bytes, parsed
`email.message.EmailMessage`). Replies can be scripted:

    server.reply_to_rcpt("gone@acme.com", "550 5.1.1 User unknown")
    server.reply_to_rcpt("busy@acme.com", "451 4.7.1 Try again later")
    server.reply_to_data("452 4.3.1 Insufficient system storage", times=1)
    server.drop_after_data()   # take the message, then hang up without replying
    server.delay_replies(0.05) # keep each message, then wait before answering it
    hold = server.hold_replies()  # keep messages, leave clients waiting for the reply…
    hold.held.wait(5)          # …until one is held,
    hold.release()             # then answer it and every later one

Use it through the pytest fixtures in `tests/services/fixtures.py` (`smtp_server`,
`smtp_server_factory`), which stop every server a test started.
"""

import asyncio
import email
import email.policy
import logging
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.services.tls import TlsFiles

Security = Literal["none", "starttls", "ssl"]

# aiosmtpd logs every command (AUTH lines included) and its own deprecations; tests read the
# app's logs, so only its errors show.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the server took it in."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    authenticated_as: str | None
    # False when the server hung up after DATA instead of answering (`drop_after_data`):
    # the message arrived, but the client cannot know it did.
    replied: bool = True


@dataclass(frozen=True)
class AuthAttempt:
    username: str
    mechanism: str
    succeeded: bool


@dataclass
class ReplyHold:
    """Clients waiting for the reply to their DATA: `held` is set once one waits."""

    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class _Script:
    rcpt: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    drops: int = 0
    reply_delay: float = 0.0
    hold: ReplyHold | None = None


class _Handler:
    """aiosmtpd's hooks, answering from the server's script and recording what came in."""

    def __init__(self, server: "SmtpServer") -> None:
        self.server = server

    async def handle_RCPT(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        scripted = self.server._rcpt_reply(address)
        if scripted is not None:
            return scripted
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        reply, drop = self.server._data_outcome()
        if reply is not None:
            return reply
        raw = envelope.original_content or b""
        self.server._record(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                raw=raw,
                message=email.message_from_bytes(raw, policy=email.policy.default),  # type: ignore[arg-type]
                authenticated_as=_login_of(session),
                replied=not drop,
            )
        )
        if drop:
            assert smtp.transport is not None
            smtp.transport.close()
            # Never answer: closing the transport cancels this coroutine.
            await asyncio.sleep(3600)
        delay, hold = self.server._reply_pause()
        if delay:
            await asyncio.sleep(delay)
        if hold is not None:
            # The message is kept; the client waits for the reply (a client that hangs
            # up meanwhile cancels this coroutine).
            hold.held.set()
            while not hold.released.is_set():
                await asyncio.sleep(0.01)
        return "250 2.0.0 OK: queued"


def _login_of(session: Session) -> str | None:
    auth_data = session.auth_data
    if isinstance(auth_data, LoginPassword):
        return auth_data.login.decode("utf-8", "replace")
    return None


class SmtpServer:
    """An SMTP server on 127.0.0.1 with its own event loop thread. See the module docstring."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        security: Security = "none",
        tls: TlsFiles | None = None,
        users: dict[str, str] | None = None,
        auth_required: bool = False,
        hostname: str = "smtp.test",
    ) -> None:
        if security != "none" and tls is None:
            raise ValueError(f"security={security!r} needs the test certificates (tls=…)")
        self.security = security
        self.tls = tls
        self.hostname = hostname
        self.auth_required = auth_required
        self.users: dict[str, str] = dict(users or {})
        self.messages: list[ReceivedMessage] = []
        self.auth_attempts: list[AuthAttempt] = []
        self.port = 0
        self._script = _Script()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._connections: list[SMTP] = []

    # --- users and script ---------------------------------------------------------------

    def add_user(self, username: str, password: str) -> None:
        with self._lock:
            self.users[username] = password

    def reply_to_rcpt(self, address: str, reply: str) -> None:
        """Answer `RCPT TO:<address>` with `reply` (e.g. "550 5.1.1 User unknown") from now on."""
        with self._lock:
            self._script.rcpt[address.lower()] = reply

    def reply_to_data(self, reply: str, *, times: int = 1) -> None:
        """Answer the next `times` DATA commands with `reply`; those messages are not kept."""
        with self._lock:
            self._script.data_replies.extend([reply] * times)

    def drop_after_data(self, *, times: int = 1) -> None:
        """For the next `times` messages: receive them, then close without replying."""
        with self._lock:
            self._script.drops += times

    def delay_replies(self, seconds: float) -> None:
        """From now on, keep each message, then wait `seconds` before answering its DATA."""
        with self._lock:
            self._script.reply_delay = seconds

    def hold_replies(self) -> ReplyHold:
        """From now on, keep each message but leave its client waiting for the reply until
        the returned hold is released (a client killed meanwhile never learns the outcome)."""
        hold = ReplyHold()
        with self._lock:
            self._script.hold = hold
        return hold

    def reset(self) -> None:
        """Forget received messages, auth attempts and the script (users stay)."""
        with self._lock:
            self.messages.clear()
            self.auth_attempts.clear()
            self._script = _Script()

    def _rcpt_reply(self, address: str) -> str | None:
        with self._lock:
            return self._script.rcpt.get(address.lower())

    def _data_outcome(self) -> tuple[str | None, bool]:
        with self._lock:
            if self._script.data_replies:
                return self._script.data_replies.pop(0), False
            if self._script.drops:
                self._script.drops -= 1
                return None, True
            return None, False

    def _reply_pause(self) -> tuple[float, ReplyHold | None]:
        with self._lock:
            return self._script.reply_delay, self._script.hold

    def _record(self, message: ReceivedMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def _authenticate(
        self, smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        username = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        with self._lock:
            succeeded = username in self.users and self.users[username] == password
            self.auth_attempts.append(AuthAttempt(username, mechanism, succeeded))
        if succeeded:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication failed")

    # --- lifecycle --------------------------------------------------------------------------

    def _protocol(self) -> SMTP:
        assert self._loop is not None
        smtp = SMTP(
            _Handler(self),
            hostname=self.hostname,
            tls_context=self.tls.server_context() if self.security == "starttls" else None,
            require_starttls=False,
            authenticator=self._authenticate,
            auth_required=self.auth_required,
            # STARTTLS servers refuse AUTH in the clear; "none" offers it in the clear; with
            # implicit TLS the whole connection is encrypted already.
            auth_require_tls=self.security == "starttls",
            enable_SMTPUTF8=True,
            timeout=30,
            loop=self._loop,
        )
        self._connections.append(smtp)
        return smtp

    def start(self) -> "SmtpServer":
        listener = socket.create_server((self.host, 0))
        self.port = listener.getsockname()[1]
        ssl_context: ssl.SSLContext | None = None
        if self.security == "ssl":
            assert self.tls is not None
            ssl_context = self.tls.server_context()
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            try:
                self._server = self._loop.run_until_complete(
                    self._loop.create_server(self._protocol, sock=listener, ssl=ssl_context)
                )
            except BaseException as error:
                failure.append(error)
                started.set()
                return
            started.set()
            self._loop.run_forever()
            self._shutdown()

        self._thread = threading.Thread(target=run, name=f"smtp-{self.port}", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise failure[0]
        return self

    def _shutdown(self) -> None:
        assert self._loop is not None
        assert self._server is not None
        loop = self._loop
        self._server.close()
        for smtp in self._connections:
            if smtp.transport is not None:
                smtp.transport.abort()
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SmtpServer {self.security} {self.host}:{self.port}>"
