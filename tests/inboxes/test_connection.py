"""The connection check against real servers: aiosmtpd for SMTP, Dovecot for IMAP."""

import socket
import time
from dataclasses import replace
from io import StringIO

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


# --- where a tenant's host may lead (reachkit/netguard.py) -----------------------------------

CHECKS = [(check_smtp, "SMTP"), (check_imap, "IMAP")]


def refused(name: str, host: str, verb: str = "resolves to") -> str:
    return (
        f"{name} connection failed: {host} {verb} a private or reserved address, which inbox "
        "servers may not use (allowed only through REACHKIT_INBOX_ALLOWED_NETWORKS)"
    )


@pytest.fixture
def nothing_allowed(settings):
    """Production's default: no private network is open to inbox hosts."""
    settings.INBOX_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(("check", "name"), CHECKS)
@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["10.0.0.1"],
        ["::ffff:127.0.0.1"],
        ["::1"],
        ["169.254.169.254"],
        ["100.64.0.1"],
        ["fd00::1"],
        ["8.8.8.8", "127.0.0.1"],  # one bad address refuses the name
    ],
)
def test_a_name_resolving_to_a_refused_address_is_never_connected(
    check, name, answers, dns_zone, silent_server, nothing_allowed
):
    dns_zone.add_address("mail.evil.test", *answers)
    server = ServerSettings("mail.evil.test", silent_server.port, "sam", "s3cret", "none")
    assert failure_of(check, server) == refused(name, "mail.evil.test")
    assert silent_server.connections == 0


@pytest.mark.parametrize(("check", "name"), CHECKS)
@pytest.mark.parametrize(
    ("host", "verb"),
    [
        ("127.0.0.1", "is"),
        ("::ffff:127.0.0.1", "is"),
        ("0.0.0.0", "is"),
        ("localhost", "resolves to"),
        ("LOCALHOST.", "resolves to"),
        ("mail.localhost", "resolves to"),
    ],
)
def test_loopback_by_address_or_by_name_is_refused(
    check, name, host, verb, silent_server, nothing_allowed
):
    server = ServerSettings(host, silent_server.port, "sam", "s3cret", "none")
    assert failure_of(check, server) == refused(name, host, verb)
    assert silent_server.connections == 0


@pytest.mark.parametrize(("check", "name"), CHECKS)
def test_an_unknown_name_is_not_found(check, name, dns_zone):
    server = ServerSettings("mail.nowhere.test", 25, "sam", "s3cret", "none")
    assert failure_of(check, server) == (
        f"{name} connection failed: the host mail.nowhere.test was not found"
    )


@pytest.mark.parametrize(("check", "name"), CHECKS)
def test_a_resolver_that_cannot_answer_says_try_again(check, name, dns_zone):
    dns_zone.add_address("mail.flaky.test", "127.0.0.1")
    dns_zone.fail("mail.flaky.test", times=5)
    server = ServerSettings("mail.flaky.test", 25, "sam", "s3cret", "none")
    assert failure_of(check, server) == (
        f"{name} connection failed: the host mail.flaky.test could not be looked up "
        "(DNS did not answer); try again"
    )


def test_an_allowed_network_lets_a_self_hosted_server_through(smtp_server_factory, settings):
    settings.INBOX_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = smtp_server_factory(security="none", users={"sam@mail.test": "s3cret"})
    check_smtp(
        ServerSettings("127.0.0.1", server.port, "sam@mail.test", "s3cret", "none"),
        timeout=TIMEOUT,
    )
    assert server.auth_attempts[-1].succeeded


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_smtp_connects_to_the_checked_address_and_verifies_the_name(
    smtp_server_factory, trust_test_ca, dns_zone, security
):
    # Only the loopback DNS server knows mail.acme.test: a second look-up of the name (the
    # system's, as smtplib would do) could not find it, so the login proves the connection
    # went to the address that was checked.
    dns_zone.add_address("mail.acme.test", "127.0.0.1")
    server = smtp_server_factory(security=security, users={"sam@mail.test": "s3cret"})
    settings_ = ServerSettings("mail.acme.test", server.port, "sam@mail.test", "s3cret", security)
    if security == "none":
        check_smtp(settings_, timeout=TIMEOUT)
        assert server.auth_attempts[-1].succeeded
    else:
        # TLS checks the certificate against the name typed, not the address: the test
        # certificate names localhost only.
        assert "the TLS certificate of mail.acme.test is not valid" in failure_of(
            check_smtp, settings_
        )
        check_smtp(replace(settings_, host="localhost"), timeout=TIMEOUT)
    assert dns_zone.queries["mail.acme.test"] == 2  # one A and one AAAA query, no more


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_imap_connects_to_the_checked_address_and_verifies_the_name(mailbox, dns_zone, security):
    dns_zone.add_address("imap.acme.test", "127.0.0.1")
    by_name = settings_of(mailbox.imap(security, host="imap.acme.test"))
    if security == "none":
        assert check_imap(by_name, timeout=TIMEOUT).sent == "Sent"
    else:
        assert "the TLS certificate of imap.acme.test is not valid" in failure_of(
            check_imap, by_name
        )
        localhost = settings_of(mailbox.imap(security, host="localhost"))
        assert check_imap(localhost, timeout=TIMEOUT).sent == "Sent"
    assert dns_zone.queries["imap.acme.test"] == 2


# --- what another service on a port says is never quoted -----------------------------------

SECRET = b"SECRET-7f3a"
BANNERS = [
    b'INFO {"server_id":"' + SECRET + b'","version":"2.10.1","auth_required":true}\r\n',  # NATS
    b"SSH-2.0-OpenSSH_9.2p1 " + SECRET + b"\r\n",
    b"-ERR " + SECRET + b"\r\n",
    b"554 " + SECRET + b" no SMTP service here\r\n",  # a code, but not the greeting
    b"* BYE " + SECRET + b"\r\n",  # an untagged response, but not the greeting
    b"\x00\xff" + SECRET + b"\r\n",
]


@pytest.mark.parametrize(("check", "name"), CHECKS)
@pytest.mark.parametrize("banner", BANNERS)
@pytest.mark.parametrize("security", ["none", "starttls"])
def test_another_services_banner_is_never_quoted(
    banner_server_factory, check, name, banner, security
):
    service = banner_server_factory(banner)
    message = failure_of(
        check, ServerSettings("127.0.0.1", service.port, "sam", "s3cret", security)
    )
    kind = "an SMTP" if name == "SMTP" else "an IMAP"
    assert message == (
        f"{name} connection failed: could not connect: 127.0.0.1:{service.port} did not "
        f"greet as {kind} server (is the port right?)"
    )
    assert SECRET.decode() not in message
    assert service.connections == 1


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


# --- hints at `security`, only from what the server's first bytes show ------------------------

TLS_ALERT = b"\x15\x03\x03\x00\x02\x02\x46"  # a TLS server's "protocol version" alert


@pytest.fixture
def mail_sink(tmp_path):
    """`make run`'s mail sink: plain SMTP, no STARTTLS, no IMAP."""
    from reachkit.management.commands.mailsink import start_sink

    sink = start_sink(folder=tmp_path, host="127.0.0.1", port=closed_port(), stdout=StringIO())
    yield sink
    sink.stop()


@pytest.mark.parametrize(("check", "name"), CHECKS)
def test_ssl_on_a_plain_text_server_says_it_does_not_speak_tls(mail_sink, check, name):
    message = failure_of(check, ServerSettings("127.0.0.1", mail_sink.port, "sam", "s3cret", "ssl"))
    assert message == (
        f"{name} connection failed: the TLS handshake with 127.0.0.1:{mail_sink.port} failed: it "
        "does not speak TLS from the start (try security starttls, or none)"
    )


@pytest.mark.parametrize("security", ["none", "starttls"])
def test_imap_pointed_at_an_smtp_server_says_what_answered(mail_sink, security, settings):
    settings.DEBUG = False
    message = failure_of(
        check_imap, ServerSettings("127.0.0.1", mail_sink.port, "sam", "s3cret", security)
    )
    assert message == (
        f"IMAP connection failed: could not connect: 127.0.0.1:{mail_sink.port} greeted as an "
        "SMTP server, not an IMAP one (is the port right?)"
    )
    assert "TLS" not in message


def test_imap_pointed_at_make_runs_sink_says_how_to_add_a_demo_inbox(mail_sink, settings):
    settings.DEBUG = True
    settings.MAILSINK_PORT = mail_sink.port
    message = failure_of(
        check_imap, ServerSettings("127.0.0.1", mail_sink.port, "sam", "s3cret", "none")
    )
    assert message.endswith(
        "this is make run's mail sink, which has no IMAP: add a demo inbox with "
        '`make manage ARGS="add_demo_inbox EMAIL"`'
    )


def test_smtp_pointed_at_an_imap_server_says_what_answered(mailbox):
    port = mailbox.dovecot.imap_port
    message = failure_of(check_smtp, ServerSettings("127.0.0.1", port, "sam", "s3cret", "none"))
    assert message == (
        f"SMTP connection failed: could not connect: 127.0.0.1:{port} greeted as an IMAP "
        "server, not an SMTP one (is the port right?)"
    )


@pytest.mark.parametrize(("check", "name"), CHECKS)
@pytest.mark.parametrize("security", ["none", "starttls"])
def test_plain_text_to_a_server_answering_in_tls_suggests_ssl(
    banner_server_factory, check, name, security
):
    server = banner_server_factory(TLS_ALERT, hang_up=True)
    message = failure_of(check, ServerSettings("127.0.0.1", server.port, "sam", "s3cret", security))
    assert message.startswith(f"{name} connection failed: ")
    assert message.endswith("it speaks TLS from the start (try security ssl)"), message


@pytest.mark.parametrize(("check", "name"), CHECKS)
@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_a_server_that_hangs_up_at_once_gets_no_hint_about_tls(
    banner_server_factory, check, name, security
):
    server = banner_server_factory(b"", hang_up=True)
    message = failure_of(check, ServerSettings("127.0.0.1", server.port, "sam", "s3cret", security))
    assert message.startswith(f"{name} connection failed: ")
    assert "closed the connection" in message, message
    assert "TLS from the start" not in message
    assert "try security" not in message
