"""The blocklist's back office, for a staff member of alice's workspace (every permission)."""

import pytest

from blocklist.models import BlocklistEntry
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
        {"workspace": str(charlie.workspace.pk), "value": "x@acme.com", "kind": "email"},
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
