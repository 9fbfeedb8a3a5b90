"""The campaign back office: inlines, read-only stats, search, filter, and the API's rules."""

import json

import pytest

from campaigns.models import Campaign, CampaignInbox, Schedule, Sequence, Variant
from tests.campaigns.factories import CampaignFactory, make_ready
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory
from tests.reachkit.factories import UserFactory

ADMIN = "/admin/campaigns/campaign/"


@pytest.fixture
def staff_client(db, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def test_the_list_searches_names_and_filters_by_status(staff_client, alice):
    CampaignFactory(workspace=alice.workspace, name="Berlin founders")
    CampaignFactory(workspace=alice.workspace, name="Paris CFOs", status="paused")

    searched = staff_client.get(ADMIN, {"q": "berlin"}).content.decode()
    assert "Berlin founders" in searched
    assert "Paris CFOs" not in searched
    filtered = staff_client.get(ADMIN, {"status__exact": "paused"}).content.decode()
    assert "Paris CFOs" in filtered
    assert "Berlin founders" not in filtered


def test_the_change_page_shows_schedule_steps_variants_inboxes_and_stats(staff_client, alice):
    inbox = InboxFactory(workspace=alice.workspace, email="sender@outreach.example")
    campaign = make_ready(CampaignFactory(workspace=alice.workspace), inbox=inbox)
    LeadFactory.create_batch(3, campaign=campaign)

    response = staff_client.get(f"{ADMIN}{campaign.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "America/New_York" in page
    assert "Quick question" in page  # step 1, variant A's subject
    assert "3 leads · 1 steps · 0 sent" in page
    assert 'name="campaigninbox_set-0-inbox"' in page
    assert 'name="stats"' not in page  # read-only: no input
    sequence = Sequence.objects.get(campaign=campaign)
    step_page = staff_client.get(f"/admin/campaigns/sequence/{sequence.pk}/change/")
    assert step_page.status_code == 200
    assert 'name="variants-0-subject"' in step_page.content.decode()


def test_adding_a_campaign_gives_it_a_schedule_and_a_first_step(staff_client, alice):
    response = staff_client.post(
        f"{ADMIN}add/", {"workspace": alice.workspace.pk, "name": "From the admin"}
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="From the admin")
    assert Schedule.objects.filter(campaign=campaign).exists()
    assert Variant.objects.filter(sequence__campaign=campaign, letter="A").exists()


def test_the_launch_action_checks_readiness(staff_client, alice):
    not_ready = CampaignFactory(workspace=alice.workspace, name="not ready")
    ready = make_ready(CampaignFactory(workspace=alice.workspace, name="ready"))

    response = staff_client.post(
        ADMIN,
        {"action": "launch_or_resume", "_selected_action": [not_ready.pk, ready.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "Attach at least one inbox." in page
    not_ready.refresh_from_db()
    ready.refresh_from_db()
    assert (not_ready.status, ready.status) == ("draft", "active")


def change_campaign(staff_client, campaign, **overrides):
    schedule = Schedule.objects.get(campaign=campaign)
    step = Sequence.objects.get(campaign=campaign, step=1)
    data = {
        "name": campaign.name,
        "daily_limit": campaign.daily_limit,
        "stop_on_reply": "on",
        **management("schedule", 1, 1),
        "schedule-0-id": schedule.pk,
        "schedule-0-campaign": campaign.pk,
        "schedule-0-timezone": schedule.timezone,
        "schedule-0-start_time": "09:00",
        "schedule-0-end_time": "17:00",
        "schedule-0-days": json.dumps(schedule.days),
        **management("sequences", 1, 1),
        "sequences-0-id": step.pk,
        "sequences-0-campaign": campaign.pk,
        "sequences-0-delay_days": step.delay_days,
        **management("campaigninbox_set", 0, 0),
        **overrides,
    }
    return staff_client.post(f"{ADMIN}{campaign.pk}/change/", data)


def test_turning_unsubscribe_on_in_the_admin_adds_the_link_to_variants(staff_client, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    response = change_campaign(staff_client, campaign, unsubscribe_option="on")
    assert response.status_code == 302
    variant = Variant.objects.get(sequence__campaign=campaign)
    assert 'href="{{unsubscribe_url}}"' in variant.body_html


def test_the_admin_refuses_a_window_that_ends_before_it_starts(staff_client, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    response = change_campaign(
        staff_client, campaign, **{"schedule-0-start_time": "18:00", "schedule-0-end_time": "09:00"}
    )
    assert response.status_code == 200  # the form again, with the error
    assert "end before they start" in response.content.decode()
    assert str(Schedule.objects.get(campaign=campaign).start_time) == "09:00:00"


def test_the_admin_snaps_schedule_times_to_the_grid(staff_client, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    response = change_campaign(staff_client, campaign, **{"schedule-0-start_time": "09:15"})
    assert response.status_code == 302
    assert str(Schedule.objects.get(campaign=campaign).start_time) == "09:30:00"


def test_the_admin_will_not_attach_another_workspaces_inbox(staff_client, alice, charlie):
    campaign = CampaignFactory(workspace=alice.workspace)
    foreign = InboxFactory(workspace=charlie.workspace)
    response = change_campaign(
        staff_client,
        campaign,
        **management("campaigninbox_set", 1, 0),
        **{"campaigninbox_set-0-inbox": foreign.pk, "campaigninbox_set-0-campaign": campaign.pk},
    )
    assert response.status_code == 200
    assert "belongs to another workspace" in response.content.decode()
    assert not CampaignInbox.objects.filter(campaign=campaign).exists()


def variant_post(staff_client, variant, **fields):
    step = variant.sequence
    data = {
        "delay_days": step.delay_days,
        **management("variants", 1, 1),
        "variants-0-id": variant.pk,
        "variants-0-sequence": step.pk,
        "variants-0-subject": variant.subject or "",
        "variants-0-body_html": variant.body_html or "",
        "variants-0-enabled": "on",
        **{f"variants-0-{key}": value for key, value in fields.items()},
    }
    if fields.get("enabled") is False:
        del data["variants-0-enabled"]
    return staff_client.post(f"/admin/campaigns/sequence/{step.pk}/change/", data)


def test_variant_content_edited_in_the_admin_is_validated_and_normalised(staff_client, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    variant = Variant.objects.get(sequence__campaign=campaign)

    bad = variant_post(staff_client, variant, subject="Hi {{first_name")
    assert bad.status_code == 200
    assert "Unclosed merge tag" in bad.content.decode()

    good = variant_post(
        staff_client, variant, subject="Hi", body_html="<p>Hello <script>x()</script>you</p>"
    )
    assert good.status_code == 302
    variant.refresh_from_db()
    assert "<p>" not in variant.body_html
    assert "script" not in variant.body_html
    assert "Hello" in variant.body_text


def test_the_admin_refuses_a_body_whose_template_alone_passes_the_rendered_cap(staff_client, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    variant = Variant.objects.get(sequence__campaign=campaign)
    before = (variant.body_html, variant.body_text)
    response = variant_post(staff_client, variant, subject="Hi", body_html="&" * 50_000)
    assert response.status_code == 200
    assert "longer than 200,000 characters" in response.content.decode()
    variant.refresh_from_db()
    assert (variant.body_html, variant.body_text) == before


def test_the_admin_keeps_one_enabled_variant_per_step(staff_client, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    variant = Variant.objects.get(sequence__campaign=campaign)
    response = variant_post(staff_client, variant, enabled=False)
    assert response.status_code == 200
    assert "at least one enabled variant" in response.content.decode()
    variant.refresh_from_db()
    assert variant.enabled
