"""The CSV import as an admin action on a campaign."""

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from campaigns.models import Campaign
from leads.admin import import_leads_csv
from leads.models import DomainProvider, Lead
from tests.campaigns.factories import CampaignFactory
from tests.leads.factories import LeadFactory
from tests.reachkit.admin_personas import AdminBrowser, staff_member
from tests.reachkit.factories import UserFactory

CHANGELIST = "/admin/campaigns/campaign/"


@pytest.fixture
def staff(db) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace, name="Spring")


def test_the_campaign_admin_offers_the_import(staff, campaign):
    assert import_leads_csv in admin.site.get_model_admin(Campaign).actions
    page = staff.get(CHANGELIST)
    assert page.status_code == 200
    assert b"import_leads_csv" in page.content


def test_choosing_the_action_shows_an_upload_form(staff, campaign):
    page = staff.post(CHANGELIST, {"action": "import_leads_csv", "_selected_action": [campaign.pk]})
    assert page.status_code == 200
    assert b'type="file"' in page.content
    assert b"Import leads into Spring" in page.content
    assert not Lead.objects.exists()


def test_uploading_a_csv_imports_it_and_reports_bad_rows(staff, campaign):
    upload = SimpleUploadedFile(
        "leads.csv", b"Email;First Name;Company\nann@x.com;Ann;Initech\nnope;B;C\n"
    )
    response = staff.post(
        CHANGELIST,
        {
            "action": "import_leads_csv",
            "_selected_action": [campaign.pk],
            "upload": "1",
            "if_exists": "fail",
            "file": upload,
        },
        follow=True,
    )

    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.campaign, lead.email, lead.variables) == (
        campaign,
        "ann@x.com",
        {"company": "Initech"},
    )
    shown = [str(message) for message in response.context["messages"]]
    assert shown == [
        '"Spring": 2 rows, 1 created, 0 updated, 0 skipped, 1 failed.',
        "line 3: email: Enter a valid email address.",
    ]


def test_a_file_without_an_email_column_is_refused_on_the_form(staff, campaign):
    upload = SimpleUploadedFile("leads.csv", b"name\nAnn\n")
    page = staff.post(
        CHANGELIST,
        {
            "action": "import_leads_csv",
            "_selected_action": [campaign.pk],
            "upload": "1",
            "if_exists": "fail",
            "file": upload,
        },
    )
    assert page.status_code == 200
    assert b"No email column" in page.content
    assert not Lead.objects.exists()


def test_the_import_needs_exactly_one_campaign(staff, alice, campaign):
    other = CampaignFactory(workspace=alice.workspace)
    response = staff.post(
        CHANGELIST,
        {"action": "import_leads_csv", "_selected_action": [campaign.pk, other.pk]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == ["Select exactly one campaign."]


# --- Workspaces: a staff member of alice's workspace, with every permission -------------------


@pytest.fixture
def dana(alice) -> AdminBrowser:
    return AdminBrowser(staff_member(alice.workspace))


def csv_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("leads.csv", b"Email;First Name\nann@x.com;Ann\n")


def test_a_staff_member_cannot_import_into_another_workspaces_campaign(dana, charlie):
    theirs = CampaignFactory(workspace=charlie.workspace, name="Theirs")
    form = dana.post(CHANGELIST, {"action": "import_leads_csv", "_selected_action": [theirs.pk]})
    assert b"Import leads into Theirs" not in form.content
    response = dana.post(
        CHANGELIST,
        {
            "action": "import_leads_csv",
            "_selected_action": [theirs.pk],
            "upload": "1",
            "if_exists": "fail",
            "file": csv_upload(),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert not Lead.objects.exists()


def test_a_staff_member_imports_into_their_own_campaign(dana, campaign):
    page = dana.post(CHANGELIST, {"action": "import_leads_csv", "_selected_action": [campaign.pk]})
    assert b"Import leads into Spring" in page.content
    dana.post(
        CHANGELIST,
        {
            "action": "import_leads_csv",
            "_selected_action": [campaign.pk],
            "upload": "1",
            "if_exists": "fail",
            "file": csv_upload(),
        },
    )
    assert Lead.objects.get().campaign == campaign


def test_a_staff_member_lists_only_their_workspaces_leads(dana, campaign, charlie):
    LeadFactory(campaign=campaign, email="mine@x.com")
    LeadFactory(campaign=CampaignFactory(workspace=charlie.workspace), email="theirs@x.com")
    listed = dana.get("/admin/leads/lead/").content.decode()
    assert "mine@x.com" in listed
    assert "theirs@x.com" not in listed
    assert "theirs@x.com" not in dana.get("/admin/leads/lead/", {"q": "theirs"}).content.decode()


def test_the_shared_mx_cache_is_for_superusers_only(dana, admin_client):
    DomainProvider.objects.create(domain="acme.com", provider="google")
    assert dana.get("/admin/leads/domainprovider/").status_code == 403
    assert dana.get("/admin/leads/domainprovider/acme.com/change/").status_code == 403
    assert b"acme.com" in admin_client.get("/admin/leads/domainprovider/").content


def test_a_staff_member_deletes_their_lead_and_only_theirs(dana, campaign, charlie):
    mine = LeadFactory(campaign=campaign)
    theirs = LeadFactory(campaign=CampaignFactory(workspace=charlie.workspace))
    response = dana.post(
        "/admin/leads/lead/",
        {"action": "delete_selected", "_selected_action": [mine.pk, theirs.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert list(Lead.objects.values_list("pk", flat=True)) == [theirs.pk]
    alone = LeadFactory(campaign=campaign)
    assert dana.post(f"/admin/leads/lead/{alone.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Lead.objects.filter(pk=alone.pk).exists()
