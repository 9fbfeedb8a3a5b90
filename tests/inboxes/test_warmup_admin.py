"""The back office shows warmup per inbox (status, today's target, sent, health) and the
warmup emails, read only, of the staff member's workspaces."""

import uuid
from datetime import UTC, datetime

import pytest
import time_machine

from inboxes.models import WarmupEmail, WarmupState
from tests.inboxes.factories import InboxFactory
from tests.reachkit.admin_personas import AdminBrowser, staff_member

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LIST_URL = "/admin/inboxes/warmupemail/"


@pytest.fixture
def dana(alice) -> AdminBrowser:
    return AdminBrowser(staff_member(alice.workspace))


def email_between(sender, recipient, subject: str, **fields) -> WarmupEmail:
    row_id = uuid.uuid4()
    return WarmupEmail.objects.create(
        id=row_id,
        sender=sender,
        recipient=recipient,
        day=NOW.date(),
        seq=fields.pop("seq", 1),
        message_id=f"<{row_id.hex}@acme.com>",
        subject=subject,
        due_at=NOW,
        **fields,
    )


@time_machine.travel(NOW, tick=False)
def test_an_inboxs_page_shows_its_warmup(dana, alice):
    inbox = InboxFactory(workspace=alice.workspace, is_warming=True, connection_status="connected")
    other = InboxFactory(workspace=alice.workspace)
    WarmupState.objects.create(inbox=inbox, ramp_days=2, last_warmed_on=NOW.date())
    email_between(
        inbox, other, "Hello", status="sent", sent_at=NOW, placement="spam", saved_from_spam=True
    )
    email_between(inbox, other, "Again", seq=2, status="sent", sent_at=NOW, placement="inbox")

    page = dana.get(f"/admin/inboxes/inbox/{inbox.pk}/change/").content.decode()

    assert "Warmup (the last 7 days)" in page
    assert "4 (ramp 40 %)" in page  # day 2: 4 emails
    assert "2 / 0 / 1" in page
    assert ">50<" in page.replace(" ", "").replace("\n", "")


@time_machine.travel(NOW, tick=False)
def test_a_paused_inboxs_page_says_why(dana, alice):
    inbox = InboxFactory(workspace=alice.workspace, is_warming=True, is_active=False)
    page = dana.get(f"/admin/inboxes/inbox/{inbox.pk}/change/").content.decode()
    assert "paused: The inbox is inactive" in page


def test_warmup_emails_are_listed_read_only_and_only_the_workspaces_own(dana, alice, charlie):
    mine = InboxFactory(workspace=alice.workspace)
    partner = InboxFactory(workspace=alice.workspace)
    theirs = InboxFactory(workspace=charlie.workspace)
    own = email_between(mine, partner, "Our own note")
    foreign = email_between(theirs, theirs, "Their secret note")

    listed = dana.get(LIST_URL).content.decode()

    assert "Our own note" in listed
    assert "Their secret note" not in listed
    assert dana.get(f"{LIST_URL}{foreign.pk}/change/").status_code in (302, 404)
    assert dana.get(f"{LIST_URL}add/").status_code == 403
    response = dana.post(f"{LIST_URL}{own.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert WarmupEmail.objects.filter(pk=own.pk).exists()
