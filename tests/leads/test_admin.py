"""The CSV import as an admin action on a campaign."""

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from campaigns.models import Campaign
from leads.admin import import_leads_csv
from leads.models import Lead
from tests.campaigns.factories import CampaignFactory
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
