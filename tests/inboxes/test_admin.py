"""The back office: inboxes listed with their state, passwords write-only, a test action."""

import pytest
from django.db import connection

from inboxes.models import Inbox
from tests.inboxes.factories import InboxFactory

LIST_URL = "/admin/inboxes/inbox/"


def change_url(inbox: Inbox) -> str:
    return f"{LIST_URL}{inbox.pk}/change/"


def form_data(inbox: Inbox, **overrides) -> dict:
    data = {
        "workspace": str(inbox.workspace_id),
        "email": inbox.email,
        "first_name": inbox.first_name,
        "last_name": inbox.last_name,
        "daily_campaign_limit": inbox.daily_campaign_limit,
        "daily_warmup_limit": inbox.daily_warmup_limit,
        "reply_to": inbox.reply_to,
        "signature": inbox.signature,
        "connection_type": inbox.connection_type,
        "smtp_host": inbox.smtp_host,
        "smtp_port": inbox.smtp_port,
        "smtp_username": inbox.smtp_username,
        "smtp_password": "",
        "smtp_security": inbox.smtp_security,
        "imap_host": inbox.imap_host,
        "imap_port": inbox.imap_port,
        "imap_username": inbox.imap_username,
        "imap_password": "",
        "imap_security": inbox.imap_security,
    }
    if inbox.is_active:
        data["is_active"] = "on"
    if inbox.is_warming:
        data["is_warming"] = "on"
    data.update(overrides)
    return data


def raw_smtp_password(inbox: Inbox) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT smtp_password FROM inboxes_inbox WHERE email = %s", [inbox.email])
        return cursor.fetchone()[0]


def test_the_list_shows_status_provider_limits_and_warming(admin_client):
    InboxFactory(
        email="sam@acme.com",
        connection_status="error",
        provider="microsoft",
        daily_campaign_limit=123,
        daily_warmup_limit=45,
        is_warming=True,
    )
    page = admin_client.get(LIST_URL)
    assert page.status_code == 200
    html = page.content.decode()
    for column in (
        "column-connection_status",
        "column-provider",
        "column-daily_campaign_limit",
        "column-daily_warmup_limit",
        "column-is_warming",
    ):
        assert column in html
    assert "sam@acme.com" in html
    assert ">123<" in html
    assert ">45<" in html
    assert "Microsoft" in html


def test_the_list_filters_and_searches(admin_client):
    InboxFactory(email="sam@acme.com", connection_status="error")
    InboxFactory(email="kim@globex.com", connection_status="connected")

    filtered = admin_client.get(LIST_URL, {"connection_status__exact": "error"}).content.decode()
    assert "sam@acme.com" in filtered
    assert "kim@globex.com" not in filtered
    searched = admin_client.get(LIST_URL, {"q": "globex"}).content.decode()
    assert "kim@globex.com" in searched
    assert "sam@acme.com" not in searched


def test_the_change_page_never_renders_a_password(admin_client):
    inbox = InboxFactory(smtp_password="Smtp-Secret-77", imap_password="Imap-Secret-77")
    page = admin_client.get(change_url(inbox))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Smtp-Secret-77" not in html
    assert "Imap-Secret-77" not in html
    assert raw_smtp_password(inbox) not in html
    assert 'type="password" name="smtp_password"' in html


def test_a_blank_password_keeps_the_stored_one(admin_client, django_capture_on_commit_callbacks):
    inbox = InboxFactory(smtp_password="Smtp-Secret-77", imap_password="Imap-Secret-77")
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(change_url(inbox), form_data(inbox, first_name="Kim"))
    assert response.status_code == 302, response.content.decode()[:2000]
    inbox.refresh_from_db()
    assert inbox.first_name == "Kim"
    assert (inbox.smtp_password, inbox.imap_password) == ("Smtp-Secret-77", "Imap-Secret-77")
    assert callbacks == []  # nothing about the connection changed


def test_a_new_password_is_stored_encrypted_and_rechecked(
    admin_client, django_capture_on_commit_callbacks
):
    inbox = InboxFactory(smtp_password="Smtp-Secret-77", connection_status="error")
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(change_url(inbox), form_data(inbox, smtp_password="New-Pw-88"))
    assert response.status_code == 302
    inbox.refresh_from_db()
    assert inbox.smtp_password == "New-Pw-88"
    assert "New-Pw-88" not in raw_smtp_password(inbox)
    assert inbox.connection_status == "pending"
    assert len(callbacks) == 1


def test_adding_an_inbox_in_the_admin_derives_the_domain_and_queues_a_check(
    admin_client, django_capture_on_commit_callbacks
):
    template = InboxFactory.build(email="Kim@Globex.com")
    workspace = InboxFactory().workspace
    template.workspace = workspace
    template.workspace_id = workspace.pk
    data = form_data(template, smtp_password="Pw-1", imap_password="Pw-2")
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(f"{LIST_URL}add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    inbox = Inbox.objects.get(email="kim@globex.com")
    assert inbox.domain == "globex.com"
    assert (inbox.smtp_password, inbox.imap_password) == ("Pw-1", "Pw-2")
    assert len(callbacks) == 1


@pytest.mark.parametrize("status", ["connected", "error"])
def test_the_test_connection_action_queues_a_check_per_inbox(
    admin_client, status, django_capture_on_commit_callbacks
):
    inboxes = [InboxFactory(connection_status=status) for _ in range(2)]
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            LIST_URL,
            {"action": "test_connection", "_selected_action": [str(i.pk) for i in inboxes]},
        )
    assert response.status_code == 302
    assert len(callbacks) == 2
    assert set(Inbox.objects.values_list("connection_status", flat=True)) == {"pending"}
