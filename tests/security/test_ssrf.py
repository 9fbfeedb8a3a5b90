"""Issue 9, finding 2: the inbox connection check is no way into the server's own network.

A tenant picks the SMTP and IMAP hosts and ports of an inbox, and reads `connection_error`.
Here, one test per way of abusing that: reaching a local service by address or by a name,
rebinding a name after the check, reading another service's banner, and telling open,
closed and filtered ports apart. Production's default holds unless a test says otherwise:
no private network is allowed (the suite itself allows loopback, for its own servers).
"""

import time

import pytest

from inboxes.models import Inbox
from inboxes.services import inbox_check_connection
from tests.inboxes.factories import InboxFactory
from tests.services.blackhole import closed_port

URL = "/api/v1/inboxes"
NATS_SECRET = "SECRET-nats-4f1c"
NATS_BANNER = b'INFO {"server_id":"' + NATS_SECRET.encode() + b'","auth_required":true}\r\n'


def refusal(protocol: str, host: str, verb: str = "resolves to") -> str:
    return (
        f"{protocol} connection failed: {host} {verb} a private or reserved address, which "
        "inbox servers may not use (allowed only through REACHKIT_INBOX_ALLOWED_NETWORKS)"
    )


@pytest.fixture
def production_default(settings):
    settings.INBOX_ALLOWED_NETWORKS = []


def add_inbox(api, capture, host: str, port: int, imap_port: int | None = None) -> Inbox:
    """POST /inboxes as a tenant would, and let the worker run the check."""
    server = {"host": host, "username": "eve", "password": "pw", "security": "none"}
    with capture(execute=True):
        response = api.post(
            URL,
            {
                "email": "eve@evil.test",
                "smtp": {**server, "port": port},
                "imap": {**server, "port": imap_port or port},
            },
            format="json",
        )
    assert response.status_code == 201, response.json()
    return Inbox.objects.get(pk=response.json()["data"]["id"])


def test_an_inbox_pointed_at_a_local_service_connects_nowhere_and_reads_nothing(
    api, banner_server_factory, django_capture_on_commit_callbacks, production_default
):
    nats = banner_server_factory(NATS_BANNER)
    inbox = add_inbox(api, django_capture_on_commit_callbacks, "127.0.0.1", nats.port)

    assert inbox.connection_status == "error"
    assert inbox.connection_error == (
        f"{refusal('SMTP', '127.0.0.1', 'is')}; {refusal('IMAP', '127.0.0.1', 'is')}"
    )
    assert nats.connections == 0


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.7", "::ffff:127.0.0.1", "169.254.169.254", "::1"]
)
def test_a_host_name_that_resolves_to_a_private_address_is_refused(
    api, dns_zone, silent_server, django_capture_on_commit_callbacks, production_default, address
):
    dns_zone.add_address("mail.evil.test", address)
    inbox = add_inbox(api, django_capture_on_commit_callbacks, "mail.evil.test", silent_server.port)

    assert inbox.connection_error == (
        f"{refusal('SMTP', 'mail.evil.test')}; {refusal('IMAP', 'mail.evil.test')}"
    )
    assert silent_server.connections == 0


def test_dns_rebinding_cannot_move_a_login_to_an_unchecked_address(
    db, dns_zone, smtp_server_factory, settings
):
    # 127.0.0.1 stands for the attacker's public server here; 127.0.0.2 for a target the
    # policy refuses. A login connects to the address it checked, whatever the name answers
    # next; the next login looks up again and is refused.
    settings.INBOX_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    smtp = smtp_server_factory(security="none", users={"eve@evil.test": "pw"})
    dns_zone.add_address("mail.evil.test", "127.0.0.1")
    dns_zone.rebind("mail.evil.test", "127.0.0.2")
    inbox = InboxFactory(
        smtp_host="mail.evil.test",
        smtp_port=smtp.port,
        smtp_username="eve@evil.test",
        smtp_password="pw",
        smtp_security="none",
        imap_host="mail.evil.test",
        imap_port=closed_port(),
        imap_security="none",
    )

    inbox_check_connection(inbox_id=inbox.pk)

    inbox.refresh_from_db()
    assert [attempt.succeeded for attempt in smtp.auth_attempts] == [True]
    assert inbox.connection_error == refusal("IMAP", "mail.evil.test")


@pytest.mark.parametrize("protocol", ["SMTP", "IMAP"])
def test_a_local_services_banner_is_never_quoted_even_where_loopback_is_allowed(
    api, banner_server_factory, django_capture_on_commit_callbacks, protocol
):
    # The suite allows 127.0.0.0/8, as a self-hoster may allow their own network.
    nats = banner_server_factory(NATS_BANNER)
    port = closed_port()
    smtp_port, imap_port = (nats.port, port) if protocol == "SMTP" else (port, nats.port)
    inbox = add_inbox(api, django_capture_on_commit_callbacks, "127.0.0.1", smtp_port, imap_port)

    assert nats.connections == 1
    assert NATS_SECRET not in inbox.connection_error
    assert "server_id" not in inbox.connection_error
    kind = "an SMTP" if protocol == "SMTP" else "an IMAP"
    assert (
        f"{protocol} connection failed: could not connect: 127.0.0.1:{nats.port} did not greet "
        f"as {kind} server (is the port right?)"
    ) in inbox.connection_error


def test_open_closed_and_filtered_ports_of_a_private_address_answer_alike(
    api, smtp_server, blackhole, django_capture_on_commit_callbacks, production_default
):
    answers = []
    for port in (smtp_server.port, closed_port(), blackhole.port):
        started = time.monotonic()
        inbox = add_inbox(api, django_capture_on_commit_callbacks, "127.0.0.1", port)
        answers.append((inbox.connection_status, inbox.connection_error))
        assert time.monotonic() - started < 1  # nothing waited on a connection
        inbox.delete()

    assert len(set(answers)) == 1
    assert smtp_server.auth_attempts == []
