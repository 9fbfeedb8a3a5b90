"""API keys: created by the command and the admin, shown once, stored hashed, revocable."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from reachkit.models import ApiKey, Workspace
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
