"""Leads' `is_blocklisted` follows the blocklist both ways, at once, for the whole workspace:
through the API (one entry and `emails`), the admin, and an unsubscribe."""

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from blocklist import services
from blocklist.models import BlocklistEntry
from leads.models import Lead
from tests.campaigns.factories import CampaignFactory
from tests.leads.factories import LeadFactory
from tests.reachkit.factories import UserFactory

URL = "/api/v1/blocklist"


@pytest.fixture
def leads(alice, charlie):
    """grace@hopper.example.com in two of alice's campaigns, ada (same domain) in one, bob
    elsewhere, and grace in charlie's workspace (never touched by alice's list)."""
    spring, autumn = (CampaignFactory(workspace=alice.workspace) for _ in range(2))
    theirs = CampaignFactory(workspace=charlie.workspace)
    return {
        "grace": LeadFactory(campaign=spring, email="Grace@hopper.example.com"),
        "grace_autumn": LeadFactory(campaign=autumn, email="grace@hopper.example.com"),
        "ada": LeadFactory(campaign=spring, email="ada@hopper.example.com"),
        "bob": LeadFactory(campaign=spring, email="bob@acme.example.com"),
        "grace_charlie": LeadFactory(campaign=theirs, email="grace@hopper.example.com"),
    }


def marked(leads) -> set[str]:
    ids = {lead.pk: name for name, lead in leads.items()}
    return {ids[pk] for pk in Lead.objects.filter(is_blocklisted=True).values_list("pk", flat=True)}


def shown(api, lead: Lead) -> bool:
    response = api.get(f"/api/v1/campaigns/{lead.campaign_id}/leads/{lead.pk}")
    assert response.status_code == 200
    return response.json()["data"]["is_blocklisted"]


def test_a_domain_entry_marks_existing_leads_at_once_and_diagnostics_count_them(api, leads):
    response = api.post(URL, {"email": "@hopper.example.com"}, format="json")
    assert response.status_code == 201

    assert marked(leads) == {"grace", "grace_autumn", "ada"}
    assert shown(api, leads["grace"]) is True
    assert shown(api, leads["bob"]) is False
    spring = leads["grace"].campaign_id
    stopped = api.get(f"/api/v1/campaigns/{spring}/diagnostics").json()["data"]["leads"]["stopped"]
    assert stopped["blocklisted"] == 2
    filtered = api.get(f"/api/v1/campaigns/{spring}/leads", {"is_blocklisted": "true"})
    assert {lead["email"] for lead in filtered.json()["data"]} == {
        "Grace@hopper.example.com",
        "ada@hopper.example.com",
    }


def test_deleting_the_entry_unmarks_the_leads(api, leads):
    entry = api.post(URL, {"email": "hopper.example.com"}, format="json").json()["data"]

    assert api.delete(f"{URL}/{entry['id']}").status_code == 204

    assert marked(leads) == set()
    assert shown(api, leads["ada"]) is False


def test_a_lead_covered_by_two_entries_stays_marked_until_both_are_gone(api, leads):
    domain = api.post(URL, {"email": "@hopper.example.com"}, format="json").json()["data"]
    address = api.post(URL, {"email": "GRACE@hopper.example.com"}, format="json").json()["data"]

    api.delete(f"{URL}/{domain['id']}")
    assert marked(leads) == {"grace", "grace_autumn"}  # her own entry still holds

    api.post(URL, {"email": "@hopper.example.com"}, format="json")
    api.delete(f"{URL}/{address['id']}")
    assert marked(leads) == {"grace", "grace_autumn", "ada"}  # the domain entry holds

    api.delete(f"{URL}/{BlocklistEntry.objects.get(value='hopper.example.com').pk}")
    assert marked(leads) == set()


def test_a_bulk_add_marks_addresses_and_domains(api, leads):
    response = api.post(
        URL, {"emails": ["bob@acme.example.com", "@hopper.example.com", "nobody"]}, format="json"
    )
    assert response.json()["data"]["created"] == 2
    assert marked(leads) == {"grace", "grace_autumn", "ada", "bob"}


def test_adding_an_entry_again_changes_nothing(api, leads):
    api.post(URL, {"email": "ada@hopper.example.com"}, format="json")
    again = api.post(URL, {"email": "ADA@hopper.example.com"}, format="json")
    assert again.status_code == 200
    assert marked(leads) == {"ada"}


def test_marks_cost_the_same_queries_however_many_leads(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    api.get(URL)  # the key's last_used_at: not measured

    def cost(count: int, domain: str) -> tuple[int, int]:
        for n in range(count):
            LeadFactory(campaign=campaign, email=f"u{n}@{domain}")
        with CaptureQueriesContext(connection) as added:
            entry = api.post(URL, {"email": domain}, format="json").json()["data"]
        with CaptureQueriesContext(connection) as removed:
            api.delete(f"{URL}/{entry['id']}")
        return len(added), len(removed)

    assert cost(2, "small.example.com") == cost(60, "large.example.com")
    assert not Lead.objects.filter(is_blocklisted=True).exists()


def test_the_admin_marks_and_unmarks_through_the_same_services(alice, leads):
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    added = staff.post(
        "/admin/blocklist/blocklistentry/add/",
        {"workspace": alice.workspace.pk, "entry": "@Hopper.example.com"},
    )
    assert added.status_code == 302
    assert marked(leads) == {"grace", "grace_autumn", "ada"}

    entry = BlocklistEntry.objects.get()
    deleted = staff.post(f"/admin/blocklist/blocklistentry/{entry.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert marked(leads) == set()


def test_an_unsubscribe_marks_the_address_in_every_campaign(leads):
    from campaigns.sending.services import lead_unsubscribe

    lead_unsubscribe(lead=leads["grace"])
    assert marked(leads) == {"grace", "grace_autumn"}


@pytest.mark.django_db(transaction=True)
def test_two_removals_at_once_never_leave_a_lead_marked_without_an_entry(alice, leads):
    """Each removal sees the other's entry until it commits: the workspace's blocklist lock
    makes the second wait for the first, then see both gone."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions: PostgreSQL")
    import threading

    domain, _ = services.blocklist_add(workspace=alice.workspace, raw="@hopper.example.com")
    address, _ = services.blocklist_add(workspace=alice.workspace, raw="grace@hopper.example.com")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def remove(entry: BlocklistEntry) -> None:
        try:
            barrier.wait(5)
            services.blocklist_remove(entry=entry)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=remove, args=(entry,)) for entry in (domain, address)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert not BlocklistEntry.objects.exists()
    assert marked(leads) == set()
