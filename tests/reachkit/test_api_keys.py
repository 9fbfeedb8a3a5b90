"""API keys: created by the command and the admin, shown once, stored hashed, revocable."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from reachkit.models import ApiKey, Membership, Workspace
from tests.reachkit.admin_personas import AdminBrowser, select_options, staff_member
from tests.reachkit.factories import UserFactory

KEY_PATTERN = re.compile(r"rk_([0-9a-f]{8})_[A-Za-z0-9_\-]{32}")


def run_create_api_key(workspace: str, name: str) -> str:
    out = StringIO()
    call_command("create_api_key", "--workspace", workspace, "--name", name, stdout=out)
    return out.getvalue()


def raw_row(api_key: ApiKey) -> str:
    """Every column of the key's row, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiKey._meta.db_table} WHERE prefix = %s", [api_key.prefix])
        row = cursor.fetchone()
    return " ".join(str(value) for value in row)


@pytest.mark.django_db
def test_create_api_key_prints_only_the_key_and_creates_the_workspace():
    output = run_create_api_key("Acme", "zapier")

    raw_key = output.strip()
    assert output == raw_key + "\n"
    match = KEY_PATTERN.fullmatch(raw_key)
    assert match
    api_key = ApiKey.objects.get(prefix=match.group(1))
    assert api_key.name == "zapier"
    assert api_key.workspace.name == "Acme"
    response = APIClient().get("/api/v1/blocklist", HTTP_X_API_KEY=raw_key)
    assert response.status_code == 200


@pytest.mark.django_db
def test_create_api_key_reuses_an_existing_workspace():
    run_create_api_key("Acme", "one")
    run_create_api_key("Acme", "two")
    assert Workspace.objects.filter(name="Acme").count() == 1
    assert ApiKey.objects.filter(workspace__name="Acme").count() == 2


@pytest.mark.django_db
def test_the_database_holds_the_prefix_and_a_hash_never_the_key():
    raw_key = run_create_api_key("Acme", "zapier").strip()
    api_key = ApiKey.objects.get()

    stored = raw_row(api_key)
    secret = raw_key.split("_", 2)[2]
    assert secret not in stored
    assert raw_key not in stored
    assert api_key.prefix in stored
    assert len(api_key.key_hash) == 64


@pytest.fixture
def staff_client(db, client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_admin_shows_a_new_key_once_and_stores_it_hashed(staff_client, alice):
    response = staff_client.post(
        "/admin/reachkit/apikey/add/",
        {"workspace": alice.workspace.pk, "name": "from the admin"},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    match = KEY_PATTERN.search(page)
    assert match, "the new key is shown on the page after saving"
    api_key = ApiKey.objects.get(name="from the admin")
    assert api_key.prefix == match.group(1)
    assert match.group(0) not in raw_row(api_key)

    later = staff_client.get(f"/admin/reachkit/apikey/{api_key.pk}/change/").content.decode()
    assert match.group(0) not in later, "never shown again"
    assert f"rk_{api_key.prefix}_" in later
    assert APIClient().get("/api/v1/blocklist", HTTP_X_API_KEY=match.group(0)).status_code == 200


def test_admin_revoke_action_turns_the_key_away(staff_client, alice):
    response = staff_client.post(
        "/admin/reachkit/apikey/",
        {"action": "revoke", "_selected_action": [str(alice.api_key.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    alice.api_key.refresh_from_db()
    assert alice.api_key.revoked_at is not None
    assert alice.client.get("/api/v1/blocklist").status_code == 401


def test_admin_lists_workspaces_and_keys(staff_client, alice):
    assert staff_client.get("/admin/reachkit/workspace/").status_code == 200
    page = staff_client.get(f"/admin/reachkit/workspace/{alice.workspace.pk}/change/")
    assert page.status_code == 200
    assert f"rk_{alice.api_key.prefix}_" in page.content.decode()


# --- Workspaces: a staff member of alice's workspace, with every permission -------------------


@pytest.fixture
def dana(alice) -> AdminBrowser:
    return AdminBrowser(staff_member(alice.workspace))


def test_a_staff_member_is_offered_only_their_workspaces_for_a_new_key(dana, alice, charlie):
    page = dana.get("/admin/reachkit/apikey/add/")
    assert select_options(page, "workspace") == [str(alice.workspace.pk)]


def test_a_staff_member_creates_a_key_for_their_own_workspace(dana, alice):
    response = dana.post(
        "/admin/reachkit/apikey/add/",
        {"workspace": str(alice.workspace.pk), "name": "mine"},
        follow=True,
    )
    assert KEY_PATTERN.search(response.content.decode())
    assert ApiKey.objects.get(name="mine").workspace == alice.workspace


def test_a_staff_member_cannot_create_a_key_for_another_workspace(dana, charlie):
    response = dana.post(
        "/admin/reachkit/apikey/add/", {"workspace": str(charlie.workspace.pk), "name": "stolen"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Select a valid choice" in page
    assert not KEY_PATTERN.search(page)
    assert not ApiKey.objects.filter(name="stolen").exists()
    assert list(ApiKey.objects.filter(workspace=charlie.workspace)) == [charlie.api_key]


def test_a_staff_member_cannot_rename_another_workspaces_key(dana, charlie):
    response = dana.post(
        f"/admin/reachkit/apikey/{charlie.api_key.pk}/change/",
        {"name": "renamed"},
        form_page="/admin/reachkit/apikey/",
    )
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    charlie.api_key.refresh_from_db()
    assert charlie.api_key.name == "charlie's key"


def test_a_staff_member_renames_their_key_and_it_keeps_working(dana, alice):
    before = ApiKey.objects.values("prefix", "key_hash").get(pk=alice.api_key.pk)
    response = dana.post(f"/admin/reachkit/apikey/{alice.api_key.pk}/change/", {"name": "zapier"})
    assert response.status_code == 302
    assert ApiKey.objects.values("prefix", "key_hash").get(pk=alice.api_key.pk) == before
    assert ApiKey.objects.get(pk=alice.api_key.pk).name == "zapier"
    assert alice.client.get("/api/v1/blocklist").status_code == 200


def test_a_key_deleted_in_the_admin_is_turned_away(dana, alice, charlie):
    url = f"/admin/reachkit/apikey/{alice.api_key.pk}/delete/"
    response = dana.post(url, {"post": "yes"})
    assert (response.status_code, response["Location"]) == (302, "/admin/reachkit/apikey/")
    assert not ApiKey.objects.filter(pk=alice.api_key.pk).exists()
    assert alice.client.get("/api/v1/blocklist").status_code == 401
    assert charlie.client.get("/api/v1/blocklist").status_code == 200


def test_the_revoke_action_revokes_only_the_members_keys(dana, alice, charlie):
    response = dana.post(
        "/admin/reachkit/apikey/",
        {"action": "revoke", "_selected_action": [str(alice.api_key.pk), str(charlie.api_key.pk)]},
    )
    assert response.status_code == 302
    alice.api_key.refresh_from_db()
    charlie.api_key.refresh_from_db()
    assert alice.api_key.revoked_at is not None
    assert charlie.api_key.revoked_at is None
    assert charlie.client.get("/api/v1/blocklist").status_code == 200


def test_a_staff_member_sees_their_workspace_read_only(dana, alice, charlie):
    listed = dana.get("/admin/reachkit/workspace/").content.decode()
    assert alice.workspace.name in listed
    assert charlie.workspace.name not in listed

    page = dana.get(f"/admin/reachkit/workspace/{alice.workspace.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="name"' not in html  # read-only
    assert f"rk_{alice.api_key.prefix}_" in html
    assert "membership_set" not in html  # seats are granted by superusers


def test_a_staff_member_cannot_create_or_rename_a_workspace(dana, alice):
    assert dana.get("/admin/reachkit/workspace/add/").status_code == 403
    created = dana.post("/admin/reachkit/workspace/add/", {"name": "Mine now"}, form_page="/admin/")
    assert created.status_code == 403
    assert not Workspace.objects.filter(name="Mine now").exists()

    renamed = dana.post(
        f"/admin/reachkit/workspace/{alice.workspace.pk}/change/",
        {"name": "Renamed", **management("membership_set"), **management("api_keys")},
    )
    assert renamed.status_code == 403
    alice.workspace.refresh_from_db()
    assert alice.workspace.name == "Workspace of alice"


def seat(browser: AdminBrowser, workspace: Workspace, user) -> None:
    browser.post(
        f"/admin/reachkit/workspace/{workspace.pk}/change/",
        {
            "name": workspace.name,
            **management("membership_set", total=1),
            "membership_set-0-user": str(user.pk),
            "membership_set-0-role": "owner",
            **management("api_keys"),
        },
        form_page="/admin/",
    )


def test_a_staff_member_cannot_seat_anyone_in_a_workspace(dana, alice, charlie):
    mallory = UserFactory(username="mallory")
    for workspace in (alice.workspace, charlie.workspace):
        seat(dana, workspace, mallory)
        seat(dana, workspace, dana.user)
    assert not Membership.objects.filter(user=mallory).exists()
    assert not Membership.objects.filter(user=dana.user, workspace=charlie.workspace).exists()


def test_a_superuser_seats_members(alice):
    superuser = AdminBrowser(UserFactory(is_staff=True, is_superuser=True))
    mallory = UserFactory(username="mallory")
    seat(superuser, alice.workspace, mallory)
    assert Membership.objects.get(user=mallory).workspace == alice.workspace


def management(prefix: str, total: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": 0,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
