"""Finding 5: the back office ignored workspaces. A staff user of alice's workspace, holding
every permission Django has, neither sees another workspace's rows nor writes into one, nor
raises their own rights."""

import pytest
from django.contrib.auth.models import Group, User

from reachkit.models import ApiKey
from tests.inboxes.factories import InboxFactory
from tests.reachkit.admin_personas import AdminBrowser, select_options, staff_member
from tests.reachkit.factories import UserFactory


@pytest.fixture
def dana(alice) -> AdminBrowser:
    return AdminBrowser(staff_member(alice.workspace))


def test_a_staff_member_cannot_see_another_workspaces_inboxes(dana, alice, charlie):
    InboxFactory(workspace=alice.workspace, email="mine@acme.com")
    theirs = InboxFactory(workspace=charlie.workspace, email="theirs@globex.com")

    listed = dana.get("/admin/inboxes/inbox/").content.decode()
    assert "mine@acme.com" in listed
    assert "theirs@globex.com" not in listed
    assert charlie.workspace.name not in listed  # nor in the workspace filter
    opened = dana.get(f"/admin/inboxes/inbox/{theirs.pk}/change/")
    assert (opened.status_code, opened["Location"]) == (302, "/admin/")


def test_a_staff_member_cannot_create_an_api_key_for_another_workspace(dana, alice, charlie):
    form = dana.get("/admin/reachkit/apikey/add/")
    assert select_options(form, "workspace") == [str(alice.workspace.pk)]

    response = dana.post(
        "/admin/reachkit/apikey/add/", {"workspace": str(charlie.workspace.pk), "name": "mine now"}
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert list(ApiKey.objects.filter(workspace=charlie.workspace)) == [charlie.api_key]


def test_a_staff_member_cannot_edit_users_or_make_themselves_superuser(dana):
    me = dana.user
    other = UserFactory(username="erin", is_staff=True)
    for page in ("/admin/auth/user/", "/admin/auth/user/add/", "/admin/auth/group/add/"):
        assert dana.get(page).status_code == 403, page

    escalated = dana.post(
        f"/admin/auth/user/{me.pk}/change/",
        {
            "username": me.username,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
        form_page="/admin/",
    )
    password = dana.post(
        f"/admin/auth/user/{other.pk}/password/",
        {"password1": "Taken-over-123", "password2": "Taken-over-123"},
        form_page="/admin/",
    )
    group = dana.post("/admin/auth/group/add/", {"name": "everything"}, form_page="/admin/")

    assert (escalated.status_code, password.status_code, group.status_code) == (403, 403, 403)
    me.refresh_from_db()
    other.refresh_from_db()
    assert not me.is_superuser
    assert not other.check_password("Taken-over-123")
    assert not Group.objects.exists()
    assert User.objects.filter(is_superuser=True).count() == 0
