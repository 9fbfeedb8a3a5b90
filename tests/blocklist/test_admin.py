"""The blocklist's back office, for a staff member of alice's workspace (every permission)."""

import html

import pytest

from blocklist.models import BlocklistEntry
from blocklist.services import INVALID_ENTRY
from tests.blocklist.factories import BlocklistEntryFactory
from tests.reachkit.admin_personas import AdminBrowser, select_options, staff_member

LIST_URL = "/admin/blocklist/blocklistentry/"


@pytest.fixture
def dana(alice) -> AdminBrowser:
    return AdminBrowser(staff_member(alice.workspace))


def test_a_staff_member_lists_and_finds_only_their_workspaces_entries(dana, alice, charlie):
    BlocklistEntryFactory(workspace=alice.workspace, value="mine@acme.com")
    BlocklistEntryFactory(workspace=charlie.workspace, value="theirs@acme.com")

    listed = dana.get(LIST_URL).content.decode()
    searched = dana.get(LIST_URL, {"q": "theirs"}).content.decode()

    assert "mine@acme.com" in listed
    assert "theirs@acme.com" not in listed
    assert "theirs@acme.com" not in searched


def test_a_staff_member_is_offered_only_their_workspaces_for_a_new_entry(dana, alice):
    page = dana.get(f"{LIST_URL}add/")
    assert select_options(page, "workspace") == [str(alice.workspace.pk)]


def test_a_staff_member_cannot_add_an_entry_to_another_workspace(dana, charlie):
    response = dana.post(
        f"{LIST_URL}add/",
        {"workspace": str(charlie.workspace.pk), "entry": "x@acme.com"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not BlocklistEntry.objects.exists()


def test_a_staff_member_cannot_change_another_workspaces_entry(dana, charlie):
    theirs = BlocklistEntryFactory(workspace=charlie.workspace, value="theirs@acme.com")
    response = dana.post(
        f"{LIST_URL}{theirs.pk}/change/",
        {"workspace": str(charlie.workspace.pk), "value": "other@acme.com", "kind": "email"},
        form_page=LIST_URL,
    )
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    theirs.refresh_from_db()
    assert theirs.value == "theirs@acme.com"


def test_the_delete_action_deletes_only_the_members_entries(dana, alice, charlie):
    mine = BlocklistEntryFactory(workspace=alice.workspace)
    theirs = BlocklistEntryFactory(workspace=charlie.workspace)
    response = dana.post(
        LIST_URL,
        {
            "action": "delete_selected",
            "_selected_action": [str(mine.pk), str(theirs.pk)],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert list(BlocklistEntry.objects.values_list("pk", flat=True)) == [theirs.pk]


# --- One write path: blocklist_add and blocklist_remove, as the API --------------------------


def entries(workspace) -> list[tuple[str, str]]:
    return list(BlocklistEntry.objects.filter(workspace=workspace).values_list("value", "kind"))


@pytest.mark.parametrize("raw", ["  Bob@Acme.COM ", "@ACME.com", "Acme.com"])
def test_an_entry_added_in_the_admin_is_stored_as_the_api_stores_it(dana, alice, charlie, raw):
    response = dana.post(f"{LIST_URL}add/", {"workspace": str(alice.workspace.pk), "entry": raw})
    created = charlie.client.post("/api/v1/blocklist", {"email": raw}, format="json")

    assert response.status_code == 302, response.content.decode()[:3000]
    assert created.status_code == 201
    assert entries(alice.workspace) == entries(charlie.workspace)
    assert len(entries(alice.workspace)) == 1


def test_an_entry_already_blocked_is_a_form_error(dana, alice):
    BlocklistEntryFactory(workspace=alice.workspace, value="bob@acme.com", kind="email")
    for raw in ("Bob@Acme.com", "bob@acme.com"):
        response = dana.post(
            f"{LIST_URL}add/", {"workspace": str(alice.workspace.pk), "entry": raw}
        )
        assert response.status_code == 200
        assert "bob@acme.com is already blocked in this workspace." in response.content.decode()
    assert entries(alice.workspace) == [("bob@acme.com", "email")]


def test_an_entry_that_is_neither_an_address_nor_a_domain_is_a_form_error(dana, alice):
    response = dana.post(
        f"{LIST_URL}add/", {"workspace": str(alice.workspace.pk), "entry": "not an address"}
    )
    assert response.status_code == 200
    assert INVALID_ENTRY in html.unescape(response.content.decode())
    assert entries(alice.workspace) == []


def test_an_entry_is_not_edited_in_the_admin(dana, alice):
    entry = BlocklistEntryFactory(workspace=alice.workspace, value="bob@acme.com", kind="email")
    response = dana.post(
        f"{LIST_URL}{entry.pk}/change/", {"value": "evil", "kind": "domain"}, form_page=LIST_URL
    )
    assert response.status_code == 302
    assert entries(alice.workspace) == [("bob@acme.com", "email")]


def test_an_entry_deleted_in_the_admin_no_longer_blocks(dana, alice):
    entry = BlocklistEntryFactory(workspace=alice.workspace, value="acme.com", kind="domain")
    response = dana.post(f"{LIST_URL}{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    check = alice.client.get("/api/v1/blocklist/check", {"email": "bob@acme.com"})
    assert check.json()["data"]["blocked"] is False
