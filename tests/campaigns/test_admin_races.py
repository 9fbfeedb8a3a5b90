"""Admin writes that race another write take the service's locks, as the API's do: they wait,
then answer with a form error or "not found", never a 500 (PostgreSQL: row locks decide)."""

import html

import pytest
from django.db import connection

from campaigns import services
from campaigns.models import Campaign, CampaignInbox, Sequence
from inboxes import services as inbox_services
from inboxes.models import Inbox
from tests.campaigns.test_admin import campaign_page, management
from tests.inboxes.factories import InboxFactory
from tests.reachkit.admin_personas import AdminBrowser, staff_member
from tests.reachkit.factories import WorkspaceFactory
from tests.services.races import HeldDeletion, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def on_postgresql(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the races are decided by PostgreSQL's row locks")


@pytest.fixture
def workspace():
    return WorkspaceFactory()


@pytest.fixture
def dana(workspace) -> AdminBrowser:
    return AdminBrowser(staff_member(workspace))


def test_an_inbox_attached_in_the_admin_while_it_is_deleted_is_a_form_error(dana, workspace):
    campaign = services.campaign_create(workspace=workspace, name="Race")
    inbox = InboxFactory(workspace=workspace)
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    token = dana.token(url)
    data = campaign_page(
        campaign,
        **management("campaigninbox_set", 1, 0),
        **{"campaigninbox_set-0-inbox": inbox.pk, "campaigninbox_set-0-campaign": campaign.pk},
    )
    deletion = HeldDeletion(
        lambda: inbox_services.inbox_delete(inbox=Inbox.objects.get(pk=inbox.pk))
    )

    # campaign_inboxes_attach locks the inbox: the save waits, then finds it gone.
    response = race(deletion, lambda: dana.client.post(url, {**data, "csrfmiddlewaretoken": token}))

    assert response.status_code == 200
    assert f"Unknown inbox: {inbox.pk}" in html.unescape(response.content.decode())
    assert not Inbox.objects.filter(pk=inbox.pk).exists()
    assert not CampaignInbox.objects.exists()


def test_a_campaign_deleted_in_the_admin_while_a_step_is_added_goes_whole(dana, workspace):
    campaign = services.campaign_create(workspace=workspace, name="Race")
    url = f"/admin/campaigns/campaign/{campaign.pk}/delete/"
    token = dana.token(url)
    adding = HeldDeletion(  # holds the campaign's lock while it appends a step
        lambda: services.sequence_create(campaign=Campaign.objects.get(pk=campaign.pk))
    )

    # campaign_delete locks the campaign first: it waits for the step, then deletes it too.
    response = race(
        adding, lambda: dana.client.post(url, {"post": "yes", "csrfmiddlewaretoken": token})
    )

    assert (response.status_code, response["Location"]) == (302, "/admin/campaigns/campaign/")
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not Sequence.objects.exists()
