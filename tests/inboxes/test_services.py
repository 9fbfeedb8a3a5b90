"""The inbox rules: provider, the connection check's states, re-checks, deletion, warmup."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Campaign
from inboxes import services
from inboxes.models import Inbox
from reachkit.errors import Conflict
from tests.inboxes.conftest import settings_of
from tests.inboxes.factories import InboxFactory
from tests.reachkit.factories import WorkspaceFactory
from tests.services.blackhole import closed_port

# --- provider ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mx_hosts", "smtp_host", "provider"),
    [
        (["aspmx.l.google.com"], "mail.acme.com", "google"),
        (["acme-com.mail.protection.outlook.com"], "mail.acme.com", "microsoft"),
        (["mx.acme.com"], "smtp.gmail.com", "google"),
        (["mx.acme.com"], "smtp.office365.com", "microsoft"),
        (["mx.acme.com"], "mail.acme.com", "other"),
        (["mta5.am0.yahoodns.net"], "smtp.mail.yahoo.com", "other"),
        (["mx.zoho.eu"], "smtp.zoho.eu", "other"),
        ([], "mail.acme.com", "other"),
    ],
)
def test_the_provider_comes_from_the_mx_or_else_the_smtp_host(
    dns_zone, mx_hosts, smtp_host, provider
):
    dns_zone.add_mx("acme.com", *mx_hosts)
    assert services.inbox_provider(domain="acme.com", smtp_host=smtp_host) == provider


def test_when_dns_fails_the_smtp_host_decides(dns_zone):
    dns_zone.fail("acme.com", times=10)
    assert services.inbox_provider(domain="acme.com", smtp_host="smtp.gmail.com") == "google"
    assert services.inbox_provider(domain="acme.com", smtp_host="mail.acme.com") == "other"


def test_when_dns_fails_a_provider_found_before_is_kept(dns_zone):
    dns_zone.fail("acme.com", times=10)
    provider = services.inbox_provider(
        domain="acme.com", smtp_host="mail.acme.com", current="microsoft"
    )
    assert provider == "microsoft"


def test_a_domain_that_answers_other_replaces_a_provider_found_before(dns_zone):
    dns_zone.add_mx("acme.com", "mx.acme.com")
    provider = services.inbox_provider(
        domain="acme.com", smtp_host="mail.acme.com", current="google"
    )
    assert provider == "other"


# --- create --------------------------------------------------------------------------------


def test_create_stores_a_pending_inbox_and_queues_one_check(
    db, dns_zone, django_capture_on_commit_callbacks
):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com")
    workspace = WorkspaceFactory()
    server = settings_of(
        {
            "host": "127.0.0.1",
            "port": closed_port(),
            "username": "u",
            "password": "p",
            "security": "none",
        }
    )
    with django_capture_on_commit_callbacks() as callbacks:
        inbox = services.inbox_create(
            workspace=workspace, email=" Sam@ACME.com ", smtp=server, imap=server
        )
    assert (inbox.email, inbox.domain, inbox.provider) == ("sam@acme.com", "acme.com", "google")
    assert inbox.connection_status == "pending"
    assert inbox.connection_type == "imap_smtp"
    assert len(callbacks) == 1


def test_create_refuses_a_second_inbox_with_the_same_email(db):
    inbox = InboxFactory(email="sam@acme.com")
    server = settings_of(
        {"host": "127.0.0.1", "port": 25, "username": "u", "password": "p", "security": "none"}
    )
    with pytest.raises(Conflict):
        services.inbox_create(
            workspace=inbox.workspace, email="SAM@acme.com", smtp=server, imap=server
        )
    assert Inbox.objects.count() == 1


# --- the connection check ------------------------------------------------------------------


def inbox_for(mailbox, *, smtp_security="starttls", imap_security="ssl", **fields):
    smtp, imap = mailbox.smtp(smtp_security), mailbox.imap(imap_security)
    columns = {f"smtp_{name}": value for name, value in smtp.items()}
    columns.update({f"imap_{name}": value for name, value in imap.items()})
    return InboxFactory(email=mailbox.email, **{**columns, **fields})


@pytest.mark.parametrize(
    ("smtp_security", "imap_security"),
    [("none", "none"), ("starttls", "starttls"), ("ssl", "ssl"), ("starttls", "ssl")],
)
def test_a_good_login_ends_connected_with_the_folders_found(mailbox, smtp_security, imap_security):
    inbox = inbox_for(mailbox, smtp_security=smtp_security, imap_security=imap_security)

    services.inbox_check_connection(inbox_id=inbox.pk)

    inbox.refresh_from_db()
    assert inbox.connection_status == "connected"
    assert inbox.connection_error == ""
    assert (inbox.sent_folder, inbox.junk_folder) == ("Sent", "Junk")
    assert inbox.connection_checked_at is not None
    assert mailbox.smtp_server(smtp_security).auth_attempts[-1].succeeded


def test_a_wrong_imap_password_ends_in_error_with_a_clear_message(mailbox):
    inbox = inbox_for(mailbox, imap_password="wrong")
    services.inbox_check_connection(inbox_id=inbox.pk)
    inbox.refresh_from_db()
    assert inbox.connection_status == "error"
    assert inbox.connection_error == "IMAP login failed: authentication failed"


def test_both_failures_are_reported_together(mailbox):
    inbox = inbox_for(mailbox, smtp_password="wrong", imap_password="wrong")
    services.inbox_check_connection(inbox_id=inbox.pk)
    inbox.refresh_from_db()
    assert inbox.connection_status == "error"
    smtp_error, imap_error = inbox.connection_error.split("; ")
    assert smtp_error.startswith("SMTP login failed: authentication failed")
    assert imap_error == "IMAP login failed: authentication failed"


def test_a_dead_host_ends_in_error_within_the_timeout(db, blackhole, fast_timeout):
    inbox = InboxFactory(
        smtp_host=blackhole.host,
        smtp_port=blackhole.port,
        smtp_security="none",
        imap_host=blackhole.host,
        imap_port=blackhole.port,
        imap_security="ssl",
    )
    started = timezone.now()
    services.inbox_check_connection(inbox_id=inbox.pk)
    elapsed = (timezone.now() - started).total_seconds()

    inbox.refresh_from_db()
    assert inbox.connection_status == "error"
    assert inbox.connection_error == (
        f"SMTP connection failed: no answer from 127.0.0.1:{blackhole.port} within 1 s; "
        f"IMAP connection failed: no answer from 127.0.0.1:{blackhole.port} within 1 s"
    )
    assert elapsed < 2 * fast_timeout + 1


def test_a_closed_port_ends_in_error_at_once(db):
    port = closed_port()
    inbox = InboxFactory(
        smtp_host="127.0.0.1", smtp_port=port, imap_host="127.0.0.1", imap_port=port
    )
    services.inbox_check_connection(inbox_id=inbox.pk)
    inbox.refresh_from_db()
    assert inbox.connection_status == "error"
    assert f"127.0.0.1:{port} refused the connection" in inbox.connection_error


def test_a_dead_server_and_then_another_fit_in_one_deadline(db, blackhole, settings):
    # Each connect may wait the full timeout; the check as a whole stops at its deadline.
    settings.INBOX_CONNECT_TIMEOUT_SECONDS = 2
    settings.INBOX_CHECK_DEADLINE_SECONDS = 3
    inbox = InboxFactory(
        smtp_host=blackhole.host,
        smtp_port=blackhole.port,
        smtp_security="none",
        imap_host=blackhole.host,
        imap_port=blackhole.port,
        imap_security="none",
    )
    started = time.monotonic()
    services.inbox_check_connection(inbox_id=inbox.pk)
    elapsed = time.monotonic() - started

    inbox.refresh_from_db()
    assert inbox.connection_error == (
        f"SMTP connection failed: no answer from 127.0.0.1:{blackhole.port} within 2 s; "
        f"IMAP connection failed: no complete answer from 127.0.0.1:{blackhole.port} "
        "within 3 s in all"
    )
    assert 2.8 < elapsed < 4


def test_a_slow_name_server_is_cut_off_at_the_deadline(db, dns_zone, settings):
    settings.INBOX_CHECK_DEADLINE_SECONDS = 0.5  # shorter than the DNS timeout (1 s here)
    dns_zone.add_address("mail.slow.test", "127.0.0.1")
    dns_zone.delay("mail.slow.test", 3)
    inbox = InboxFactory(smtp_host="mail.slow.test", imap_host="mail.slow.test")

    started = time.monotonic()
    services.inbox_check_connection(inbox_id=inbox.pk)
    elapsed = time.monotonic() - started

    inbox.refresh_from_db()
    assert inbox.connection_error == (
        "SMTP connection failed: the host mail.slow.test could not be looked up within "
        "0.5 s in all; IMAP connection failed: not tried, no time was left of 0.5 s in all"
    )
    assert elapsed < 0.9


@pytest.mark.parametrize(
    ("smtp_greeting", "imap_greeting", "security"),
    [
        (b"", b"", "none"),  # a byte at a time, never a whole greeting
        (b"220 drip.test ESMTP\r\n", b"* OK drip.test\r\n", "none"),  # then EHLO/CAPABILITY
        # A TLS record header announcing 16 KB, then a byte at a time: inside the handshake.
        (b"\x16\x03\x03\x40\x00", b"\x16\x03\x03\x40\x00", "ssl"),
    ],
)
def test_a_dripping_server_is_cut_off_at_the_deadline(
    db, drip_server_factory, settings, smtp_greeting, imap_greeting, security
):
    settings.INBOX_CONNECT_TIMEOUT_SECONDS = 2
    settings.INBOX_CHECK_DEADLINE_SECONDS = 1.5
    smtp = drip_server_factory(greeting=smtp_greeting, interval=0.3, lasts=10)
    imap = drip_server_factory(greeting=imap_greeting, interval=0.3, lasts=10)
    inbox = InboxFactory(
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security=security,
        imap_host=imap.host,
        imap_port=imap.port,
        imap_security=security,
    )
    started = time.monotonic()
    services.inbox_check_connection(inbox_id=inbox.pk)
    elapsed = time.monotonic() - started

    inbox.refresh_from_db()
    assert inbox.connection_status == "error"
    smtp_error, imap_error = inbox.connection_error.split("; ")
    assert smtp_error.startswith("SMTP ")
    assert smtp_error.endswith(f"no complete answer from 127.0.0.1:{smtp.port} within 1.5 s in all")
    assert imap_error == "IMAP connection failed: not tried, no time was left of 1.5 s in all"
    assert elapsed < 2.5
    assert imap.connections == 0


def test_the_check_is_validating_while_it_runs(db, silent_server, fast_timeout, monkeypatch):
    inbox = InboxFactory(
        smtp_host=silent_server.host,
        smtp_port=silent_server.port,
        smtp_security="none",
        imap_host=silent_server.host,
        imap_port=closed_port(),
    )
    seen = []
    original = services.connection.check_smtp

    def observe(server, **options):
        seen.append(Inbox.objects.get(pk=inbox.pk).connection_status)
        return original(server, **options)

    monkeypatch.setattr(services.connection, "check_smtp", observe)
    services.inbox_check_connection(inbox_id=inbox.pk)
    assert seen == ["validating"]
    inbox.refresh_from_db()
    assert inbox.connection_status == "error"


def test_running_the_check_twice_logs_in_once(mailbox):
    inbox = inbox_for(mailbox)
    services.inbox_check_connection(inbox_id=inbox.pk)
    services.inbox_check_connection(inbox_id=inbox.pk)
    assert len(mailbox.smtp_server("starttls").auth_attempts) == 1


def test_a_check_already_running_elsewhere_is_left_alone(db):
    inbox = InboxFactory(connection_status="validating")
    services.inbox_check_connection(inbox_id=inbox.pk)
    inbox.refresh_from_db()
    assert inbox.connection_status == "validating"
    assert inbox.connection_checked_at is None


def test_a_deleted_inbox_is_not_checked(db):
    inbox = InboxFactory()
    inbox_id = inbox.pk
    inbox.delete()
    services.inbox_check_connection(inbox_id=inbox_id)
    assert not Inbox.objects.exists()


def test_the_check_derives_the_provider_again(mailbox, dns_zone):
    inbox = inbox_for(mailbox, provider="other")
    dns_zone.add_mx(inbox.domain, "aspmx.l.google.com")
    services.inbox_check_connection(inbox_id=inbox.pk)
    inbox.refresh_from_db()
    assert inbox.provider == "google"


# --- asking for a new check ----------------------------------------------------------------


@pytest.mark.parametrize("status", ["connected", "error"])
def test_a_new_check_is_queued_unless_one_is_pending_or_running(
    db, status, django_capture_on_commit_callbacks
):
    inbox = InboxFactory(connection_status=status)
    with django_capture_on_commit_callbacks() as callbacks:
        services.inbox_request_check(inbox=inbox)
    assert inbox.connection_status == "pending"
    assert len(callbacks) == 1


def test_no_second_check_is_queued_while_one_is_pending(db, django_capture_on_commit_callbacks):
    inbox = InboxFactory(connection_status="connected")
    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(5):
            services.inbox_request_check(inbox=inbox)
    assert inbox.connection_status == "pending"
    assert len(callbacks) == 1


def test_a_check_whose_message_was_lost_can_be_queued_again(db, django_capture_on_commit_callbacks):
    inbox = InboxFactory(connection_status="pending")
    long_ago = timezone.now() - services.STALE_CHECK - timedelta(seconds=1)
    Inbox.objects.filter(pk=inbox.pk).update(updated_at=long_ago)
    with django_capture_on_commit_callbacks() as callbacks:
        services.inbox_request_check(inbox=inbox)
    assert inbox.connection_status == "pending"
    assert inbox.updated_at > long_ago
    assert len(callbacks) == 1


def test_no_new_check_while_one_is_running(db, django_capture_on_commit_callbacks):
    inbox = InboxFactory(connection_status="validating")
    with django_capture_on_commit_callbacks() as callbacks:
        services.inbox_request_check(inbox=inbox)
    assert inbox.connection_status == "validating"
    assert callbacks == []


def test_a_check_whose_worker_died_can_be_replaced(db, django_capture_on_commit_callbacks):
    inbox = InboxFactory(connection_status="validating")
    long_ago = timezone.now() - services.STALE_CHECK - timedelta(seconds=1)
    Inbox.objects.filter(pk=inbox.pk).update(updated_at=long_ago)
    with django_capture_on_commit_callbacks() as callbacks:
        services.inbox_request_check(inbox=inbox)
    assert inbox.connection_status == "pending"
    assert len(callbacks) == 1


def test_a_result_arriving_after_a_new_request_is_dropped(mailbox, monkeypatch):
    inbox = inbox_for(mailbox, imap_password="wrong")
    original = services.connection.check_imap

    def meanwhile(server, **options):
        # A person asks for a new check while this one is still logging in.
        Inbox.objects.filter(pk=inbox.pk).update(connection_status="pending")
        return original(server, **options)

    monkeypatch.setattr(services.connection, "check_imap", meanwhile)
    services.inbox_check_connection(inbox_id=inbox.pk)
    inbox.refresh_from_db()
    assert inbox.connection_status == "pending"
    assert inbox.connection_error == ""


# --- update, delete ------------------------------------------------------------------------


def test_update_changes_only_the_editable_fields(db):
    inbox = InboxFactory(connection_status="connected")
    services.inbox_update(
        inbox=inbox,
        changes={"first_name": "Kim", "connection_status": "error", "email": "x@y.com"},
    )
    inbox.refresh_from_db()
    assert inbox.first_name == "Kim"
    assert inbox.connection_status == "connected"
    assert inbox.email != "x@y.com"


def test_delete_detaches_the_inbox_and_keeps_the_campaigns(db):
    inbox = InboxFactory()
    other = InboxFactory(workspace=inbox.workspace)
    campaign = Campaign.objects.create(workspace=inbox.workspace, name="Q3 outreach")
    campaign.inboxes.add(inbox, other)

    services.inbox_delete(inbox=inbox)

    assert Campaign.objects.filter(pk=campaign.pk).exists()
    assert list(campaign.inboxes.all()) == [other]


# --- warmup stats --------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 3, 10, 23, 30, tzinfo=UTC), tick=False)
def test_warmup_stats_are_seven_zero_days_ending_today_in_utc(db):
    stats = services.inbox_warmup_stats(inbox=InboxFactory())
    assert [day["date"] for day in stats["daily"]] == [
        date(2026, 3, 4) + timedelta(days=n) for n in range(7)
    ]
    assert all(day["sent"] == 0 and day["spam_count"] == 0 for day in stats["daily"])
    assert (stats["sent"], stats["received"], stats["saved_from_spam"]) == (0, 0, 0)
    assert (stats["health_score"], stats["ramp_up_progress"]) == (100, 0)
