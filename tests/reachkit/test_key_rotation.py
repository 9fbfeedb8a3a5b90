"""`manage.py rotate_encryption_keys`: every encrypted column, re-encrypted under the newest key."""

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from inboxes.models import Inbox
from reachkit.key_rotation import encrypted_columns
from tests.inboxes.factories import InboxFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_rows() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT smtp_password, imap_password FROM inboxes_inbox ORDER BY email")
        return cursor.fetchall()


def rotate(**options) -> dict:
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out, **options)
    return json.loads(out.getvalue())


def test_the_secrets_columns_are_found_through_the_app_registry():
    labels = {f"{model._meta.label}.{field.name}" for model, field in encrypted_columns()}
    assert {"inboxes.Inbox.smtp_password", "inboxes.Inbox.imap_password"} <= labels


def test_values_under_an_old_key_still_read_after_rotation_and_the_old_key_is_dropped(db, settings):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    for n in range(5):
        InboxFactory(email=f"s{n}@acme.com", smtp_password=f"smtp-{n}", imap_password=f"imap-{n}")
    InboxFactory(email="z@acme.com", smtp_password="", imap_password="only-imap")
    for smtp_raw, _ in raw_rows()[:5]:
        assert Fernet(OLD_KEY).decrypt(smtp_raw.encode()).startswith(b"smtp-")

    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    report = rotate(batch_size=2)

    assert report["reencrypted"] == 11
    assert report["current"] == 0
    assert report["columns"]["inboxes.Inbox.smtp_password"] == {
        "reencrypted": 5,
        "current": 0,
        "unreadable": 0,
    }
    assert report["columns"]["inboxes.Inbox.imap_password"]["reencrypted"] == 6

    settings.ENCRYPTION_KEYS = [NEW_KEY]
    for n in range(5):
        inbox = Inbox.objects.get(email=f"s{n}@acme.com")
        assert (inbox.smtp_password, inbox.imap_password) == (f"smtp-{n}", f"imap-{n}")
    assert Inbox.objects.get(email="z@acme.com").smtp_password == ""
    for smtp_raw, imap_raw in raw_rows():
        for raw in (smtp_raw, imap_raw):
            if raw:
                assert "smtp-" not in raw
                assert "imap-" not in raw
                Fernet(NEW_KEY).decrypt(raw.encode())
                with pytest.raises(InvalidToken):
                    Fernet(OLD_KEY).decrypt(raw.encode())


def test_a_second_run_finds_everything_current(db, settings):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    InboxFactory()
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    rotate()
    before = raw_rows()

    report = rotate()

    assert (report["reencrypted"], report["current"]) == (0, 2)
    assert raw_rows() == before


def test_a_value_no_key_can_read_is_reported_and_the_rest_rotated(db, settings):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    InboxFactory(email="a@acme.com")
    lost_key = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [lost_key]
    InboxFactory(email="b@acme.com")

    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()
    with pytest.raises(CommandError, match="2 value"):
        call_command("rotate_encryption_keys", stdout=out)

    report = json.loads(out.getvalue())
    assert (report["reencrypted"], report["unreadable"]) == (2, 2)
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    assert Inbox.objects.get(email="a@acme.com").smtp_password == "smtp-secret-1"


def test_a_batch_size_below_one_is_refused(db):
    with pytest.raises(CommandError):
        call_command("rotate_encryption_keys", batch_size=0, stdout=StringIO())
