"""Logging in to a mailbox's SMTP and IMAP servers, as the connection check does.

`check_smtp` connects (implicit TLS, STARTTLS or plain, as configured), says EHLO and
logs in. `check_imap` connects the same way, logs in, selects INBOX and finds the Sent
and Junk folders by their special-use flags (RFC 6154), falling back to the usual names.

Both either return or raise `ConnectionCheckFailed`, whose message is written for a
person ("IMAP login failed: authentication failed") and never holds a traceback or the
password. Every connect and every read gives up after `timeout` seconds, so a dead host
costs a bounded wait, never a hung worker. Certificates are verified against the system's
trust store plus `settings.INBOX_TLS_CA_FILE`.
"""

import base64
import contextlib
import smtplib
import socket
import ssl
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

SSL = "ssl"
STARTTLS = "starttls"
NONE = "none"

# Server text quoted in an error is cut to this length: enough to read, not a wall of text.
MAX_SERVER_TEXT = 200

# When a server has no special-use flags (old servers), the names clients commonly use.
SENT_NAMES = ("sent", "sent items", "sent messages", "sent mail", "sent-mail", "gesendet")
JUNK_NAMES = ("junk", "spam", "junk e-mail", "junk email", "bulk mail", "junk mail")


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


def tls_context() -> ssl.SSLContext:
    """Certificate and host name verification, with the extra CAs of INBOX_TLS_CA_FILE."""
    context = ssl.create_default_context()
    if settings.INBOX_TLS_CA_FILE:
        context.load_verify_locations(cafile=settings.INBOX_TLS_CA_FILE)
    return context


# --- SMTP ---------------------------------------------------------------------------------


def check_smtp(server: ServerSettings, *, timeout: float) -> None:
    """EHLO, STARTTLS or implicit TLS as configured, AUTH; raises ConnectionCheckFailed."""
    with smtp_session(server, timeout=timeout):
        pass


@contextlib.contextmanager
def smtp_session(server: ServerSettings, *, timeout: float) -> Iterator[smtplib.SMTP]:
    """A logged-in SMTP client for the body of the `with`, closed (QUIT) afterwards.

    Logging in raises ConnectionCheckFailed; what the body raises passes through as is.
    """
    client = smtp_login(server, timeout=timeout)
    try:
        yield client
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
        client.close()


def smtp_login(server: ServerSettings, *, timeout: float) -> smtplib.SMTP:
    """Connect, EHLO, STARTTLS or implicit TLS as configured, AUTH: a logged-in client."""
    opened: list[smtplib.SMTP] = []
    try:
        return _smtp_login_steps(server, timeout, opened)
    except BaseException:
        # After a failure, hang up without QUIT: a stalled server would cost another timeout.
        for client in opened:
            client.close()
        raise


def _smtp_login_steps(
    server: ServerSettings, timeout: float, opened: list[smtplib.SMTP]
) -> smtplib.SMTP:
    client: smtplib.SMTP
    stage = "connection"
    try:
        if server.security == SSL:
            client = smtplib.SMTP_SSL(
                server.host, server.port, timeout=timeout, context=tls_context()
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=timeout)
        opened.append(client)
        client.ehlo()
        if server.security == STARTTLS:
            stage = "STARTTLS"
            if not client.has_extn("starttls"):
                raise ConnectionCheckFailed(
                    "SMTP STARTTLS failed: the server does not offer STARTTLS "
                    "(try security ssl, or none)"
                )
            client.starttls(context=tls_context())
            client.ehlo()
        stage = "login"
        if not client.has_extn("auth"):
            raise ConnectionCheckFailed(
                "SMTP login failed: the server offers no AUTH on this connection"
                + (" (try security starttls or ssl)" if server.security == NONE else "")
            )
        _smtp_login(client, server.username, server.password)
        return client
    except ConnectionCheckFailed:
        raise
    except smtplib.SMTPAuthenticationError as error:
        raise ConnectionCheckFailed(
            "SMTP login failed: authentication failed"
            + _quoted(error.smtp_code, error.smtp_error, server.password),
            authentication=True,
        ) from None
    except smtplib.SMTPServerDisconnected as error:
        # smtplib reports a read that timed out as a disconnection.
        if isinstance(error.__context__, OSError):
            problem = _network_problem(error.__context__, server, timeout)
            raise ConnectionCheckFailed(f"SMTP {stage} failed: {problem}") from None
        raise ConnectionCheckFailed(
            f"SMTP {stage} failed: {server.host}:{server.port} closed the connection"
            + _wrong_port_hint(server)
        ) from None
    except smtplib.SMTPResponseException as error:
        raise ConnectionCheckFailed(
            f"SMTP {stage} failed: the server answered"
            + _quoted(error.smtp_code, error.smtp_error, server.password)
        ) from None
    except smtplib.SMTPException as error:
        raise ConnectionCheckFailed(
            f"SMTP {stage} failed: {_clean(str(error), server.password)}"
        ) from None
    except (OSError, UnicodeError) as error:
        raise ConnectionCheckFailed(
            f"SMTP {stage} failed: {_network_problem(error, server, timeout)}"
        ) from None


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


def check_imap(server: ServerSettings, *, timeout: float) -> ImapFolders:
    """LOGIN, SELECT INBOX, find Sent and Junk; raises ConnectionCheckFailed."""
    with imap_session(server, timeout=timeout) as client:
        stage = ["SELECT INBOX"]
        with _imap_errors(server, timeout, stage):
            client.select_folder("INBOX", readonly=True)
            stage[0] = "folder listing"
            return special_use_folders(client.list_folders())


@contextlib.contextmanager
def imap_session(server: ServerSettings, *, timeout: float) -> Iterator[IMAPClient]:
    """A logged-in IMAP client for the body of the `with`, logged out afterwards.

    Logging in raises ConnectionCheckFailed; what the body raises passes through as is.
    """
    client = imap_login(server, timeout=timeout)
    try:
        yield client
    finally:
        with contextlib.suppress(IMAPClientError, OSError):
            client.logout()
        with contextlib.suppress(OSError):
            client.shutdown()


def imap_login(server: ServerSettings, *, timeout: float) -> IMAPClient:
    """Connect, STARTTLS or implicit TLS as configured, LOGIN: a logged-in client."""
    opened: list[IMAPClient] = []
    stage = ["connection"]
    try:
        with _imap_errors(server, timeout, stage):
            client = IMAPClient(
                server.host,
                server.port,
                ssl=server.security == SSL,
                ssl_context=tls_context() if server.security == SSL else None,
                timeout=timeout,
            )
            opened.append(client)
            if server.security == STARTTLS:
                stage[0] = "STARTTLS"
                if not client.has_capability("STARTTLS"):
                    raise ConnectionCheckFailed(
                        "IMAP STARTTLS failed: the server does not offer STARTTLS "
                        "(try security ssl, or none)"
                    )
                client.starttls(tls_context())
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
def _imap_errors(server: ServerSettings, timeout: float, stage: list[str]) -> Iterator[None]:
    """IMAP and network errors as ConnectionCheckFailed, naming the stage (`stage[0]`)."""
    try:
        yield
    except ConnectionCheckFailed:
        raise
    except LoginError:
        raise ConnectionCheckFailed(
            "IMAP login failed: authentication failed", authentication=True
        ) from None
    except IMAPClientAbortError:
        raise ConnectionCheckFailed(
            f"IMAP {stage[0]} failed: {server.host}:{server.port} closed the connection"
            + _wrong_port_hint(server)
        ) from None
    except IMAPClientError as error:
        raise ConnectionCheckFailed(
            f"IMAP {stage[0]} failed: the server answered: {_clean(str(error), server.password)}"
        ) from None
    except (OSError, UnicodeError) as error:
        raise ConnectionCheckFailed(
            f"IMAP {stage[0]} failed: {_network_problem(error, server, timeout)}"
        ) from None


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


def _network_problem(error: BaseException, server: ServerSettings, timeout: float) -> str:
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
    if isinstance(error, ssl.SSLError):
        return f"the TLS handshake with {where} failed" + _wrong_port_hint(server)
    if isinstance(error, ConnectionError):
        return f"{where} closed the connection" + _wrong_port_hint(server)
    if isinstance(error, UnicodeError):
        return "the server sent something that is not text"
    detail = error.strerror if isinstance(error, OSError) else None
    return f"could not talk to {where} ({detail or type(error).__name__})"


def _wrong_port_hint(server: ServerSettings) -> str:
    if server.security == SSL:
        return " (does this port speak TLS from the start? try security starttls)"
    return " (does this port expect TLS from the start? try security ssl)"


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
