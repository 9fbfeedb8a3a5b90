"""Batch writes (COPY on PostgreSQL): exact values, ordered ids, long look-up lists."""

import threading

import pytest
from django.db import connection, connections

from leads.bulk import ordered_ids
from leads.inputs import LeadInput
from leads.models import Lead
from leads.services import lead_save_many
from tests.campaigns.factories import CampaignFactory
from tests.leads.factories import LeadFactory


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace)


def test_awkward_characters_are_stored_exactly(campaign):
    awkward = 'tab\there, new\nline, back\\slash, "quotes", \\N, émoji 🚀, \r end'
    lead_save_many(
        campaign=campaign,
        leads=[
            LeadInput(
                email='"odd\\\\one"@acme.com',
                first_name=awkward,
                last_name="\\t",
                variables={"note": awkward, "n": 1.5, "ok": False, "none": None},
            )
        ],
    )
    lead = Lead.objects.get()
    assert lead.email == '"odd\\\\one"@acme.com'
    assert (lead.first_name, lead.last_name) == (awkward, "\\t")
    assert lead.variables == {"note": awkward, "n": 1.5, "ok": False, "none": None}
    assert lead.provider is None
    assert lead.status == "uncontacted"


def test_new_ids_are_increasing_version_7_uuids():
    ids = ordered_ids(1000)
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert {(uid.version, uid.variant) for uid in ids} == {(7, "specified in RFC 4122")}


def test_a_batch_keeps_its_input_order(campaign):
    lead_save_many(campaign=campaign, leads=[LeadInput(email=f"u{n}@acme.com") for n in range(50)])
    by_creation = Lead.objects.order_by("created_at", "pk").values_list("email", flat=True)
    assert list(by_creation) == [f"u{n}@acme.com" for n in range(50)]


def test_any_of_matches_long_lists_and_values_with_newlines(campaign):
    LeadFactory(campaign=campaign, email="a@x.com")
    LeadFactory(campaign=campaign, email="b@x.com")
    wanted = [f"nobody{n}@x.com" for n in range(3000)] + ["b@x.com"]
    assert list(Lead.objects.filter(email_key__any_of=wanted).values_list("email", flat=True)) == [
        "b@x.com"
    ]
    assert Lead.objects.filter(email_key__any_of=["a@x.com\nb@x.com", "a@x.com"]).count() == 1
    assert not Lead.objects.filter(email_key__any_of=[]).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_on_one_campaign_never_duplicate_an_email(alice):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are checked on PostgreSQL")
    campaign = CampaignFactory(workspace=alice.workspace)
    emails = [f"u{n}@acme.com" for n in range(300)]
    start = threading.Barrier(4)
    results, failures = [], []

    def writer(offset: int) -> None:
        try:
            start.wait()
            batch = [LeadInput(email=email) for email in emails[offset:] + emails[:offset]]
            results.append(lead_save_many(campaign=campaign, leads=batch))
        except BaseException as error:  # reported below, on the main thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in (0, 75, 150, 225)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert Lead.objects.filter(campaign=campaign).count() == 300
    assert sum(result.count("created") for result in results) == 300
    assert sum(result.count("failed") for result in results) == 900
