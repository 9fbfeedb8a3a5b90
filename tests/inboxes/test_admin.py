"""The back office: inboxes listed with their state, passwords write-only, a test action."""

import pytest
from django.db import connection

from campaigns import services as campaign_services
from inboxes.models import Inbox
from tests.campaigns.factories import CampaignFactory
from tests.inboxes.factories import InboxFactory
from tests.reachkit.admin_personas import AdminBrowser, select_options, staff_member

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


# --- Workspaces: a staff member of alice's workspace, with every permission -------------------


@pytest.fixture
def dana(alice) -> AdminBrowser:
    return AdminBrowser(staff_member(alice.workspace))


def test_a_staff_member_lists_and_finds_only_their_workspaces_inboxes(dana, alice, charlie):
    InboxFactory(workspace=alice.workspace, email="mine@acme.com")
    InboxFactory(workspace=charlie.workspace, email="theirs@acme.com")

    listed = dana.get(LIST_URL).content.decode()
    searched = dana.get(LIST_URL, {"q": "theirs"}).content.decode()

    assert "mine@acme.com" in listed
    assert "theirs@acme.com" not in listed
    assert "theirs@acme.com" not in searched


def test_a_staff_member_is_offered_only_their_workspaces_for_a_new_inbox(dana, alice, charlie):
    page = dana.get(f"{LIST_URL}add/")
    assert select_options(page, "workspace") == [str(alice.workspace.pk)]


def test_a_staff_member_cannot_add_an_inbox_to_another_workspace(
    dana, charlie, django_capture_on_commit_callbacks
):
    template = InboxFactory.build(email="kim@globex.com", workspace=charlie.workspace)
    data = form_data(template, smtp_password="Pw-1", imap_password="Pw-2")
    with django_capture_on_commit_callbacks() as callbacks:
        response = dana.post(f"{LIST_URL}add/", data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Inbox.objects.filter(email="kim@globex.com").exists()
    assert callbacks == []


def test_a_staff_member_cannot_change_another_workspaces_inbox(dana, charlie):
    theirs = InboxFactory(workspace=charlie.workspace, first_name="Sam", smtp_host="smtp.acme.com")
    data = form_data(theirs, first_name="Mallory", smtp_host="evil.example")
    response = dana.post(change_url(theirs), data, form_page=LIST_URL)
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    theirs.refresh_from_db()
    assert (theirs.first_name, theirs.smtp_host) == ("Sam", "smtp.acme.com")


def test_an_inbox_stays_in_its_workspace_when_its_page_is_saved(alice, charlie):
    # Even a member of both: attached to alice's campaigns, the inbox must stay alice's.
    both = AdminBrowser(staff_member(alice.workspace, charlie.workspace))
    inbox = InboxFactory(workspace=alice.workspace)
    page = both.get(change_url(inbox))
    assert 'name="workspace"' not in page.content.decode()

    response = both.post(change_url(inbox), form_data(inbox, workspace=str(charlie.workspace.pk)))

    assert response.status_code == 302
    inbox.refresh_from_db()
    assert inbox.workspace_id == alice.workspace.pk


def test_the_test_connection_action_skips_another_workspaces_inboxes(
    dana, alice, charlie, django_capture_on_commit_callbacks
):
    mine = InboxFactory(workspace=alice.workspace, connection_status="connected")
    theirs = InboxFactory(workspace=charlie.workspace, connection_status="connected")
    with django_capture_on_commit_callbacks() as callbacks:
        response = dana.post(
            LIST_URL,
            {"action": "test_connection", "_selected_action": [str(mine.pk), str(theirs.pk)]},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (mine.connection_status, theirs.connection_status) == ("pending", "connected")


def test_the_delete_action_deletes_only_the_members_inboxes(dana, alice, charlie):
    mine = InboxFactory(workspace=alice.workspace)
    theirs = InboxFactory(workspace=charlie.workspace)
    selected = [str(mine.pk), str(theirs.pk)]
    response = dana.post(
        LIST_URL, {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
    )
    assert response.status_code == 302
    assert list(Inbox.objects.values_list("pk", flat=True)) == [theirs.pk]


# --- One write path: inbox_create, inbox_update, inbox_connection_update, inbox_delete --------

INBOX_COLUMNS = [
    "email",
    "domain",
    "provider",
    "connection_type",
    "connection_status",
    "first_name",
    "last_name",
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "smtp_security",
    "imap_host",
    "imap_port",
    "imap_username",
    "imap_security",
]
SERVERS = {
    "smtp": {
        "host": "SMTP.Globex.com",
        "port": 587,
        "username": "kim@globex.com",
        "password": "Smtp Pw 1 ",
        "security": "starttls",
    },
    "imap": {
        "host": "imap.globex.com",
        "port": 993,
        "username": "kim@globex.com",
        "password": "Imap-Pw-2",
        "security": "ssl",
    },
}


def add_form(workspace, **overrides) -> dict:
    return {
        "workspace": str(workspace.pk),
        "email": " Kim@Globex.com ",
        "first_name": "Kim",
        "last_name": "Lee",
        "daily_campaign_limit": 42,
        "daily_warmup_limit": 10,
        **{
            f"{protocol}_{part}": value
            for protocol, server in SERVERS.items()
            for part, value in server.items()
        },
        **overrides,
    }


def test_adding_an_inbox_in_the_admin_stores_what_post_inboxes_stores(
    dana, alice, charlie, dns_zone, django_capture_on_commit_callbacks
):
    dns_zone.add_mx("globex.com", "aspmx.l.google.com")
    with django_capture_on_commit_callbacks() as callbacks:
        response = dana.post(f"{LIST_URL}add/", add_form(alice.workspace))
    created = charlie.client.post(
        "/api/v1/inboxes",
        {"email": " Kim@Globex.com ", "first_name": "Kim", "last_name": "Lee", **SERVERS},
        format="json",
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert created.status_code == 201
    by_admin = Inbox.objects.get(workspace=alice.workspace)
    by_api = Inbox.objects.get(workspace=charlie.workspace)
    assert Inbox.objects.filter(pk=by_admin.pk).values(*INBOX_COLUMNS).get() == (
        Inbox.objects.filter(pk=by_api.pk).values(*INBOX_COLUMNS).get()
    )
    assert (by_admin.provider, by_admin.connection_status) == ("google", "pending")
    assert (by_admin.smtp_password, by_admin.imap_password) == ("Smtp Pw 1 ", "Imap-Pw-2")
    assert "Imap-Pw-2" not in raw_smtp_password(by_admin)
    assert by_admin.daily_campaign_limit == 42  # the admin's other settings, by inbox_update
    assert len(callbacks) == 1  # its connection check


def test_a_new_inbox_needs_both_servers_in_the_admin_as_in_the_api(dana, alice):
    response = dana.post(
        f"{LIST_URL}add/", add_form(alice.workspace, imap_host="", imap_password="")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"imap_host", "imap_password"}
    assert not Inbox.objects.exists()


def test_a_bad_host_is_refused_in_the_admin_as_in_the_api(dana, alice):
    response = dana.post(f"{LIST_URL}add/", add_form(alice.workspace, smtp_host="smtp acme"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["smtp_host"] == [
        "Enter a host name or an IP address."
    ]
    assert not Inbox.objects.exists()


def test_an_address_already_in_the_workspace_is_a_form_error(dana, alice):
    InboxFactory(workspace=alice.workspace, email="kim@globex.com")
    response = dana.post(f"{LIST_URL}add/", add_form(alice.workspace))
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Inbox.objects.count() == 1


def test_new_servers_are_checked_anew_even_while_a_check_runs(
    dana, alice, django_capture_on_commit_callbacks
):
    # The running check logs in with the old settings: its outcome must not count.
    inbox = InboxFactory(workspace=alice.workspace, connection_status="validating")
    with django_capture_on_commit_callbacks() as callbacks:
        response = dana.post(change_url(inbox), form_data(inbox, smtp_host="smtp.globex.com"))
    assert response.status_code == 302, response.content.decode()[:3000]
    inbox.refresh_from_db()
    assert (inbox.smtp_host, inbox.connection_status) == ("smtp.globex.com", "pending")
    assert len(callbacks) == 1


def test_a_new_address_moves_the_domain_and_is_checked_anew(
    dana, alice, django_capture_on_commit_callbacks
):
    inbox = InboxFactory(workspace=alice.workspace, connection_status="connected")
    with django_capture_on_commit_callbacks() as callbacks:
        response = dana.post(change_url(inbox), form_data(inbox, email="Sam@Globex.com"))
    assert response.status_code == 302, response.content.decode()[:3000]
    inbox.refresh_from_db()
    assert (inbox.email, inbox.domain, inbox.connection_status) == (
        "sam@globex.com",
        "globex.com",
        "pending",
    )
    assert len(callbacks) == 1


def test_settings_changed_in_the_admin_leave_the_connection_alone(
    dana, alice, django_capture_on_commit_callbacks
):
    inbox = InboxFactory(workspace=alice.workspace, connection_status="connected")
    with django_capture_on_commit_callbacks() as callbacks:
        response = dana.post(
            change_url(inbox), form_data(inbox, daily_campaign_limit=77, signature="-- Sam")
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    inbox.refresh_from_db()
    assert (inbox.daily_campaign_limit, inbox.signature) == (77, "-- Sam")
    assert inbox.connection_status == "connected"
    assert callbacks == []


def test_an_inbox_deleted_in_the_admin_leaves_its_campaigns(dana, alice):
    inbox = InboxFactory(workspace=alice.workspace)
    campaign = CampaignFactory(workspace=alice.workspace)
    campaign_services.campaign_inboxes_attach(campaign=campaign, inbox_ids=[inbox.pk])
    response = dana.post(f"{LIST_URL}{inbox.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Inbox.objects.filter(pk=inbox.pk).exists()
    assert campaign_services.campaign_inboxes(campaign) == []
