"""Mailbox passwords at rest, in answers and in logs: encrypted, never shown, never logged."""

import base64
import logging

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from inboxes.models import Inbox
from tests.inboxes.factories import InboxFactory

URL = "/api/v1/inboxes"


def raw_passwords() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT smtp_password, imap_password FROM inboxes_inbox")
        return cursor.fetchall()


def test_the_database_column_never_holds_the_plaintext(api):
    body = {
        "email": "sam@acme.com",
        "smtp": {
            "host": "127.0.0.1",
            "port": 2525,
            "username": "sam",
            "password": "Smtp-Pw-1",
            "security": "none",
        },
        "imap": {
            "host": "127.0.0.1",
            "port": 1143,
            "username": "sam",
            "password": "Imap-Pw-1",
            "security": "none",
        },
    }
    assert api.post(URL, body, format="json").status_code == 201
    inbox = Inbox.objects.get()
    inbox.smtp_password = "Smtp-Pw-2"
    inbox.save()

    [(smtp_raw, imap_raw)] = raw_passwords()
    newest = Fernet(settings.ENCRYPTION_KEYS[0])
    # Not a substring check on a fragment: base64 ciphertext contains any two letters by chance.
    assert "Smtp-Pw-2" not in smtp_raw
    assert "Imap-Pw-1" not in imap_raw
    assert newest.decrypt(smtp_raw.encode()) == b"Smtp-Pw-2"
    assert newest.decrypt(imap_raw.encode()) == b"Imap-Pw-1"
    assert Inbox.objects.get().imap_password == "Imap-Pw-1"


def test_encryption_is_randomised_so_equal_passwords_differ_at_rest(db):
    InboxFactory(smtp_password="same", imap_password="same")
    [(smtp_raw, imap_raw)] = raw_passwords()
    assert smtp_raw != imap_raw


@pytest.fixture
def debug_logging():
    """Everything, DEBUG included, through the configured handlers."""
    loggers = [logging.getLogger(), logging.getLogger("django"), logging.getLogger("celery")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.mark.parametrize("password", [None, "Pässwörd-Ünïcode-7"])
def test_passwords_never_reach_a_log_line(
    api, mailbox, log_output, debug_logging, django_capture_on_commit_callbacks, password
):
    if password:  # non-ASCII credentials take another path: AUTH(ENTICATE) PLAIN
        mailbox.password = password
        mailbox.dovecot.add_user(mailbox.email, password)
    wrong = "Wrong-But-Secret-9"
    body = mailbox.payload(smtp_security="starttls")
    with django_capture_on_commit_callbacks(execute=True):
        inbox_id = api.post(URL, body, format="json").json()["data"]["id"]
    Inbox.objects.filter(pk=inbox_id).update(smtp_password=wrong, imap_password=wrong)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"{URL}/{inbox_id}/test")
    api.post(URL, {**body, "smtp": {**body["smtp"], "port": "x"}}, format="json")  # a 422

    output = log_output.getvalue()
    assert "task finished" in output
    assert 'msg="inbox connection checked"' in output
    assert "connection_status=connected" in output  # the right password was used, and worked
    assert "connection_status=error" in output  # and then the wrong one
    assert "logger=imapclient.imaplib" in output  # protocol-level DEBUG lines were on
    for secret in (mailbox.password, wrong):
        assert secret not in output
        assert base64.b64encode(f"\0{mailbox.email}\0{secret}".encode()).decode() not in output
