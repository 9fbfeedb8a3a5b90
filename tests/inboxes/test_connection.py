"""The connection check against real servers: aiosmtpd for SMTP, Dovecot for IMAP."""

import socket
import time

import pytest

from inboxes.connection import (
    ConnectionCheckFailed,
    ImapFolders,
    ServerSettings,
    _network_problem,
    check_imap,
    check_smtp,
    special_use_folders,
)
from tests.inboxes.conftest import settings_of
from tests.services.blackhole import closed_port

TIMEOUT = 2.0


def failure_of(check, server: ServerSettings, timeout: float = TIMEOUT) -> str:
    with pytest.raises(ConnectionCheckFailed) as failed:
        check(server, timeout=timeout)
    message = failed.value.message
    assert "Traceback" not in message
    assert server.password not in message
    return message


# --- SMTP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_smtp_logs_in_with_each_security(smtp_server_factory, trust_test_ca, security):
    server = smtp_server_factory(security=security, users={"sam@mail.test": "s3cret"})
    check_smtp(
        ServerSettings(server.host, server.port, "sam@mail.test", "s3cret", security),
        timeout=TIMEOUT,
    )
    [attempt] = server.auth_attempts
    assert attempt.succeeded


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_smtp_wrong_password_is_an_authentication_failure(
    smtp_server_factory, trust_test_ca, security
):
    server = smtp_server_factory(security=security, users={"sam@mail.test": "s3cret"})
    message = failure_of(
        check_smtp, ServerSettings(server.host, server.port, "sam@mail.test", "nope", security)
    )
    assert message.startswith("SMTP login failed: authentication failed")
    assert "535" in message


def test_smtp_starttls_against_a_server_without_it_says_so(smtp_server_factory):
    server = smtp_server_factory(security="none", users={"sam@mail.test": "s3cret"})
    message = failure_of(
        check_smtp, ServerSettings(server.host, server.port, "sam@mail.test", "s3cret", "starttls")
    )
    assert message == (
        "SMTP STARTTLS failed: the server does not offer STARTTLS (try security ssl, or none)"
    )


def test_smtp_without_tls_where_auth_needs_tls_suggests_starttls(
    smtp_server_factory, trust_test_ca
):
    server = smtp_server_factory(security="starttls", users={"sam@mail.test": "s3cret"})
    message = failure_of(
        check_smtp, ServerSettings(server.host, server.port, "sam@mail.test", "s3cret", "none")
    )
    assert message == (
        "SMTP login failed: the server offers no AUTH on this connection "
        "(try security starttls or ssl)"
    )


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_smtp_untrusted_certificate_is_refused(smtp_server_factory, security):
    server = smtp_server_factory(security=security, users={"sam@mail.test": "s3cret"})
    message = failure_of(
        check_smtp, ServerSettings(server.host, server.port, "sam@mail.test", "s3cret", security)
    )
    assert "the TLS certificate of 127.0.0.1 is not valid" in message
    assert server.auth_attempts == []


def test_smtp_ssl_on_a_plain_port_hints_at_the_security_setting(smtp_server_factory):
    server = smtp_server_factory(security="none")
    message = failure_of(
        check_smtp, ServerSettings(server.host, server.port, "sam@mail.test", "s3cret", "ssl")
    )
    assert message.startswith("SMTP connection failed: the TLS handshake with 127.0.0.1:")
    assert "try security starttls" in message


def test_smtp_accepts_a_non_ascii_password(smtp_server_factory, trust_test_ca):
    server = smtp_server_factory(security="starttls", users={"sam@mail.test": "pässwörd€"})
    check_smtp(
        ServerSettings(server.host, server.port, "sam@mail.test", "pässwörd€", "starttls"),
        timeout=TIMEOUT,
    )
    assert server.auth_attempts[-1].succeeded


# --- IMAP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_imap_logs_in_selects_inbox_and_finds_sent_and_junk(mailbox, security):
    folders = check_imap(settings_of(mailbox.imap(security)), timeout=TIMEOUT)
    assert folders == ImapFolders(sent="Sent", junk="Junk")


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_imap_wrong_password_is_an_authentication_failure(mailbox, security):
    message = failure_of(check_imap, settings_of(mailbox.imap(security, password="wrong")))
    assert message == "IMAP login failed: authentication failed"


def test_imap_untrusted_certificate_is_refused(mailbox, settings):
    settings.INBOX_TLS_CA_FILE = ""
    message = failure_of(check_imap, settings_of(mailbox.imap("ssl")))
    assert message.startswith("IMAP connection failed: the TLS certificate of 127.0.0.1")


def test_imap_ssl_on_a_plain_port_hints_at_the_security_setting(mailbox):
    message = failure_of(
        check_imap, settings_of(mailbox.imap("ssl", port=mailbox.dovecot.imap_port))
    )
    assert "try security starttls" in message


def test_imap_accepts_a_non_ascii_password(mailbox):
    mailbox.dovecot.add_user(mailbox.email, "pässwörd€")
    folders = check_imap(settings_of(mailbox.imap("ssl", password="pässwörd€")), timeout=TIMEOUT)
    assert folders.sent == "Sent"


# --- dead and wrong hosts, for both protocols ----------------------------------------------


@pytest.mark.parametrize(("check", "name"), [(check_smtp, "SMTP"), (check_imap, "IMAP")])
def test_a_closed_port_is_refused_at_once(check, name):
    port = closed_port()
    started = time.monotonic()
    message = failure_of(check, ServerSettings("127.0.0.1", port, "sam", "s3cret", "none"))
    assert message == (
        f"{name} connection failed: 127.0.0.1:{port} refused the connection (is the port right?)"
    )
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("check", "name"), [(check_smtp, "SMTP"), (check_imap, "IMAP")])
@pytest.mark.parametrize("security", ["none", "ssl"])
def test_an_unreachable_host_fails_within_the_timeout(blackhole, check, name, security):
    started = time.monotonic()
    message = failure_of(
        check,
        ServerSettings(blackhole.host, blackhole.port, "sam", "s3cret", security),
        timeout=0.5,
    )
    elapsed = time.monotonic() - started
    assert message == (
        f"{name} connection failed: no answer from 127.0.0.1:{blackhole.port} within 0.5 s"
    )
    assert 0.4 < elapsed < 2.5


@pytest.mark.parametrize(("check", "name"), [(check_smtp, "SMTP"), (check_imap, "IMAP")])
@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_a_server_that_never_answers_fails_within_the_timeout(silent_server, check, name, security):
    started = time.monotonic()
    message = failure_of(
        check,
        ServerSettings(silent_server.host, silent_server.port, "sam", "s3cret", security),
        timeout=0.5,
    )
    assert message == (
        f"{name} connection failed: no answer from 127.0.0.1:{silent_server.port} within 0.5 s"
    )
    assert time.monotonic() - started < 2.5
    assert silent_server.connections == 1


def test_an_unknown_host_name_says_so():
    # Built by hand: resolving a name for real would query the machine's resolvers.
    problem = _network_problem(
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        ServerSettings("mail.nowhere.test", 25, "sam", "s3cret", "none"),
        2,
    )
    assert problem == "the host mail.nowhere.test was not found"


# --- folders -------------------------------------------------------------------------------


def test_special_use_flags_win_over_names():
    folders = special_use_folders(
        [
            ((b"\\HasNoChildren",), b"/", "Sent"),
            ((b"\\HasNoChildren", b"\\Sent"), b"/", "Gesendete Objekte"),
            ((b"\\HasNoChildren", b"\\Junk"), b"/", "Unerwünscht"),
            ((b"\\HasNoChildren",), b"/", "INBOX"),
        ]
    )
    assert folders == ImapFolders(sent="Gesendete Objekte", junk="Unerwünscht")


def test_without_flags_the_usual_names_are_found_under_any_parent():
    folders = special_use_folders(
        [
            ((b"\\HasChildren", b"\\Noselect"), b".", "INBOX"),
            ((b"\\HasNoChildren",), b".", "INBOX.Sent Items"),
            ((b"\\HasNoChildren",), b".", "INBOX.Spam"),
        ]
    )
    assert folders == ImapFolders(sent="INBOX.Sent Items", junk="INBOX.Spam")


def test_a_mailbox_without_either_folder_has_empty_names():
    assert special_use_folders([((b"\\HasNoChildren",), b"/", "INBOX")]) == ImapFolders("", "")
