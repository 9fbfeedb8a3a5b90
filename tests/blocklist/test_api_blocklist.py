"""The blocklist endpoints, exactly as the spec says, plus domains and bulk adds."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blocklist.models import BlocklistEntry
from tests.blocklist.factories import BlocklistEntryFactory

URL = "/api/v1/blocklist"


def test_create_normalises_and_returns_201(api, alice):
    response = api.post(URL, {"email": "  Bob.Smith@ACME.com "}, format="json")

    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == {"id", "email", "type", "created_at"}
    assert data["email"] == "bob.smith@acme.com"
    assert data["type"] == "email"
    assert data["created_at"].endswith("Z")
    entry = BlocklistEntry.objects.get(pk=data["id"])
    assert entry.workspace == alice.workspace


def test_creating_a_blocked_address_again_returns_the_entry_with_200(api):
    first = api.post(URL, {"email": "bob@acme.com"}, format="json").json()["data"]
    again = api.post(URL, {"email": "BOB@acme.com"}, format="json")

    assert again.status_code == 200
    assert again.json()["data"] == first
    assert BlocklistEntry.objects.count() == 1


@pytest.mark.parametrize(
    "bad", ["", "   ", "bob", "bob@", "@", "bob@@acme.com", "bob@acme", "a b@acme.com", "x" * 300]
)
def test_an_invalid_address_is_422_and_stores_nothing(api, bad):
    response = api.post(URL, {"email": bad}, format="json")
    assert response.status_code == 422
    assert "email" in response.json()["details"]
    assert not BlocklistEntry.objects.exists()


@pytest.mark.parametrize("raw", ["acme.com", "@acme.com", " @ACME.com "])
def test_a_domain_entry_blocks_every_address_there(api, raw):
    created = api.post(URL, {"email": raw}, format="json")
    assert created.status_code == 201
    assert created.json()["data"]["email"] == "acme.com"
    assert created.json()["data"]["type"] == "domain"

    check = api.get(f"{URL}/check", {"email": "anyone@acme.com"}).json()["data"]
    assert check["blocked"] is True
    assert check["entry"]["type"] == "domain"
    assert api.get(f"{URL}/check", {"email": "anyone@acme.co"}).json()["data"]["blocked"] is False
    assert api.get(f"{URL}/check", {"email": "x@sub.acme.com"}).json()["data"]["blocked"] is False


def test_check_says_whether_an_address_is_blocked(api, alice):
    entry = BlocklistEntryFactory(workspace=alice.workspace, value="bob@acme.com")

    blocked = api.get(f"{URL}/check", {"email": " Bob@Acme.com"})
    assert blocked.status_code == 200
    assert blocked.json()["data"]["blocked"] is True
    assert blocked.json()["data"]["entry"]["id"] == str(entry.pk)

    free = api.get(f"{URL}/check", {"email": "alice@acme.com"})
    assert free.json() == {"data": {"blocked": False, "entry": None}}


def test_check_prefers_the_address_entry_over_its_domain(api, alice):
    BlocklistEntryFactory(workspace=alice.workspace, value="acme.com", kind="domain")
    own = BlocklistEntryFactory(workspace=alice.workspace, value="bob@acme.com")
    entry = api.get(f"{URL}/check", {"email": "bob@acme.com"}).json()["data"]["entry"]
    assert entry["id"] == str(own.pk)


@pytest.mark.parametrize(
    "query", [{}, {"email": ""}, {"email": "not-an-email"}, {"email": "acme.com"}]
)
def test_check_without_a_valid_address_is_422(api, query):
    response = api.get(f"{URL}/check", query)
    assert response.status_code == 422
    assert "email" in response.json()["details"]


def test_delete_removes_the_entry(api, alice):
    entry = BlocklistEntryFactory(workspace=alice.workspace)

    response = api.delete(f"{URL}/{entry.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not BlocklistEntry.objects.filter(pk=entry.pk).exists()
    assert api.delete(f"{URL}/{entry.pk}").status_code == 404


def test_bulk_add_reports_created_existing_and_invalid(api, alice):
    BlocklistEntryFactory(workspace=alice.workspace, value="old@acme.com")

    response = api.post(
        URL,
        {"emails": ["new@acme.com", "OLD@acme.com", "nope", "globex.com", "new@acme.com", 'x"@y']},
        format="json",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["created"], data["existing"], data["invalid"]) == (2, 2, 2)
    assert [error["index"] for error in data["errors"]] == [2, 5]
    assert set(BlocklistEntry.objects.values_list("value", flat=True)) == {
        "old@acme.com",
        "new@acme.com",
        "globex.com",
    }


def test_bulk_add_takes_up_to_1000_entries(api):
    response = api.post(URL, {"emails": [f"u{n}@acme.com" for n in range(1000)]}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["created"] == 1000
    assert BlocklistEntry.objects.count() == 1000


@pytest.mark.parametrize(
    "payload",
    [
        {"emails": [f"u{n}@acme.com" for n in range(1001)]},
        {"emails": []},
        {"email": "a@acme.com", "emails": ["b@acme.com"]},
        {},
        {"address": "a@acme.com"},
    ],
)
def test_bulk_add_rejects_bad_shapes_and_stores_nothing(api, payload):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert not BlocklistEntry.objects.exists()


def test_fields_a_client_may_not_set_are_refused_by_name(api, charlie):
    response = api.post(
        URL,
        {"email": "a@acme.com", "id": str(uuid.uuid4()), "workspace": str(charlie.workspace.pk)},
        format="json",
    )
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"id", "workspace"}
    assert not BlocklistEntry.objects.exists()


def test_list_filters_by_type(api, alice):
    BlocklistEntryFactory(workspace=alice.workspace, value="a@acme.com")
    BlocklistEntryFactory(workspace=alice.workspace, value="globex.com", kind="domain")
    data = api.get(URL, {"type": "domain"}).json()["data"]
    assert [row["email"] for row in data] == ["globex.com"]
    assert api.get(URL, {"type": "ip"}).status_code == 422


# --- isolation: charlie must never see or change alice's blocklist ----------------------------


def test_another_workspaces_entries_are_invisible(alice, charlie):
    BlocklistEntryFactory(workspace=alice.workspace, value="secret@acme.com")
    assert charlie.client.get(URL).json()["metadata"]["total_count"] == 0
    assert charlie.client.get(URL, {"search": "secret"}).json()["data"] == []


def test_another_workspaces_entry_cannot_be_deleted(alice, charlie):
    entry = BlocklistEntryFactory(workspace=alice.workspace)
    response = charlie.client.delete(f"{URL}/{entry.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert BlocklistEntry.objects.filter(pk=entry.pk).exists()


def test_another_workspaces_entry_does_not_block_for_you(alice, charlie):
    BlocklistEntryFactory(workspace=alice.workspace, value="bob@acme.com")
    check = charlie.client.get(f"{URL}/check", {"email": "bob@acme.com"}).json()["data"]
    assert check == {"blocked": False, "entry": None}


def test_the_same_address_is_blocked_separately_in_each_workspace(alice, charlie):
    BlocklistEntryFactory(workspace=alice.workspace, value="bob@acme.com")
    response = charlie.client.post(URL, {"email": "bob@acme.com"}, format="json")
    assert response.status_code == 201
    assert BlocklistEntry.objects.count() == 2


def test_bulk_add_counts_only_your_own_entries_as_existing(alice, charlie):
    BlocklistEntryFactory(workspace=alice.workspace, value="bob@acme.com")
    data = charlie.client.post(URL, {"emails": ["bob@acme.com"]}, format="json").json()["data"]
    assert (data["created"], data["existing"]) == (1, 0)


def test_list_query_count_does_not_grow_with_page_size(api, alice):
    for n in range(40):
        BlocklistEntryFactory(workspace=alice.workspace, value=f"u{n}@acme.com")
    api.get(URL)

    counts = []
    for page_size in (3, 40):
        with CaptureQueriesContext(connection) as captured:
            api.get(URL, {"page_size": page_size})
        counts.append(len(captured))
    assert counts[0] == counts[1]
