"""The campaign back office: inlines, read-only stats, search, filter, and the API's rules."""

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from campaigns import services
from campaigns.models import Campaign, CampaignInbox, Schedule, Sequence, Variant
from tests.campaigns.factories import CampaignFactory, make_ready
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory
from tests.reachkit.admin_personas import AdminBrowser, select_options, staff_member
from tests.reachkit.factories import UserFactory

ADMIN = "/admin/campaigns/campaign/"
OTHER_WORKSPACES_INBOX = "Choose an inbox of the campaign's workspace."


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
    assert response.status_code == 200  # the form again, with schedule_update's error
    assert "The end must be after the start." in response.content.decode()
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
    assert OTHER_WORKSPACES_INBOX in html.unescape(response.content.decode())
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


# --- Workspaces: a staff member of alice's workspace, with every permission -------------------


@pytest.fixture
def dana(alice) -> AdminBrowser:
    return AdminBrowser(staff_member(alice.workspace))


def test_a_staff_member_lists_and_finds_only_their_workspaces_campaigns(dana, alice, charlie):
    CampaignFactory(workspace=alice.workspace, name="Mine")
    CampaignFactory(workspace=charlie.workspace, name="Theirs")
    listed = dana.get(ADMIN).content.decode()
    assert ">Mine<" in listed
    assert ">Theirs<" not in listed
    assert ">Theirs<" not in dana.get(ADMIN, {"q": "Theirs"}).content.decode()


def test_a_staff_member_is_offered_only_their_workspaces_for_a_new_campaign(dana, alice):
    page = dana.get(f"{ADMIN}add/")
    assert select_options(page, "workspace") == [str(alice.workspace.pk)]


def test_a_staff_member_cannot_add_a_campaign_to_another_workspace(dana, charlie):
    response = dana.post(f"{ADMIN}add/", {"workspace": charlie.workspace.pk, "name": "Planted"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Campaign.objects.filter(name="Planted").exists()


def test_a_staff_member_cannot_change_another_workspaces_campaign(dana, charlie):
    theirs = CampaignFactory(workspace=charlie.workspace, name="Theirs")
    response = change_campaign(dana, theirs, name="Hijacked", unsubscribe_option="on")
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    theirs.refresh_from_db()
    assert (theirs.name, theirs.unsubscribe_option) == ("Theirs", False)


def test_the_status_actions_touch_only_the_members_campaigns(dana, alice, charlie):
    mine = make_ready(CampaignFactory(workspace=alice.workspace))
    theirs = make_ready(CampaignFactory(workspace=charlie.workspace))
    selected = [str(mine.pk), str(theirs.pk)]
    dana.post(ADMIN, {"action": "launch_or_resume", "_selected_action": selected})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("active", "draft")

    Campaign.objects.filter(pk=theirs.pk).update(status="active")
    dana.post(ADMIN, {"action": "pause", "_selected_action": selected})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("paused", "active")


def test_the_inbox_look_up_lists_the_campaigns_workspaces_inboxes(dana, alice, charlie):
    campaign = CampaignFactory(workspace=alice.workspace)
    mine = InboxFactory(workspace=alice.workspace, email="mine@acme.com")
    InboxFactory(workspace=charlie.workspace, email="theirs@acme.com")

    page = dana.get(f"{ADMIN}{campaign.pk}/change/").content.decode()
    popup = re.search(
        r'href="(/admin/inboxes/inbox/\?[^"]+)"[^>]*id="lookup_id_campaigninbox_set', page
    )
    assert popup, "the raw-id look-up link"
    popup_url = html.unescape(popup.group(1))
    assert f"workspace__id__exact={alice.workspace.pk}" in popup_url
    listed = dana.get(popup_url).content.decode()
    assert "mine@acme.com" in listed
    assert "theirs@acme.com" not in listed
    # Pointing the popup at charlie's workspace lists nothing of it.
    tampered = popup_url.replace(str(alice.workspace.pk), str(charlie.workspace.pk))
    assert "theirs@acme.com" not in dana.get(tampered).content.decode()
    assert str(mine.pk) in listed


def test_a_staff_member_cannot_attach_another_workspaces_inbox(dana, alice, charlie):
    campaign = CampaignFactory(workspace=alice.workspace)
    foreign = InboxFactory(workspace=charlie.workspace, email="theirs@globex.com")
    response = change_campaign(
        dana,
        campaign,
        **management("campaigninbox_set", 1, 0),
        **{"campaigninbox_set-0-inbox": foreign.pk, "campaigninbox_set-0-campaign": campaign.pk},
    )
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert OTHER_WORKSPACES_INBOX in page
    # The raw-id input names the row its id points at: not one of another workspace.
    assert "theirs@globex.com" not in page
    assert not CampaignInbox.objects.exists()


def test_a_member_of_both_workspaces_cannot_attach_one_workspaces_inbox_to_the_other(
    alice, charlie
):
    both = AdminBrowser(staff_member(alice.workspace, charlie.workspace))
    campaign = CampaignFactory(workspace=alice.workspace)
    foreign = InboxFactory(workspace=charlie.workspace)
    response = change_campaign(
        both,
        campaign,
        **management("campaigninbox_set", 1, 0),
        **{"campaigninbox_set-0-inbox": foreign.pk, "campaigninbox_set-0-campaign": campaign.pk},
    )
    assert response.status_code == 200
    assert OTHER_WORKSPACES_INBOX in html.unescape(response.content.decode())
    assert not CampaignInbox.objects.exists()


def test_a_staff_member_attaches_their_own_inbox(dana, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    inbox = InboxFactory(workspace=alice.workspace)
    response = change_campaign(
        dana,
        campaign,
        **management("campaigninbox_set", 1, 0),
        **{"campaigninbox_set-0-inbox": inbox.pk, "campaigninbox_set-0-campaign": campaign.pk},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(campaign.inboxes.all()) == [inbox]
    assert inbox.email in dana.get(f"{ADMIN}{campaign.pk}/change/").content.decode()


def test_the_inbox_autocomplete_answers_with_the_members_inboxes(dana, alice, charlie):
    InboxFactory(workspace=alice.workspace, email="mine@acme.com")
    InboxFactory(workspace=charlie.workspace, email="theirs@acme.com")
    response = dana.get(
        "/admin/autocomplete/",
        {"app_label": "campaigns", "model_name": "campaigninbox", "field_name": "inbox"},
    )
    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["mine@acme.com"]


def test_a_staff_member_cannot_open_or_edit_another_workspaces_step(dana, charlie):
    campaign = CampaignFactory(workspace=charlie.workspace)
    variant = Variant.objects.get(sequence__campaign=campaign)
    step_url = f"/admin/campaigns/sequence/{variant.sequence_id}/change/"
    assert dana.get(step_url).status_code == 302
    response = variant_post(dana, variant, subject="Planted")
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    variant.refresh_from_db()
    assert variant.subject != "Planted"


def test_a_forged_inline_row_of_another_workspaces_campaign_is_not_saved(dana, alice, charlie):
    mine = CampaignFactory(workspace=alice.workspace)
    their_step = Sequence.objects.get(campaign=CampaignFactory(workspace=charlie.workspace))
    response = change_campaign(
        dana, mine, **{"sequences-0-id": their_step.pk, "sequences-0-delay_days": 99}
    )
    # The step formset edits the parent campaign's rows only: a foreign id is dropped.
    assert response.status_code == 302
    their_step.refresh_from_db()
    assert their_step.delay_days == 3
    assert Sequence.objects.count() == 2


# --- One write path: every admin write is the API's service call ------------------------------


def campaign_page(campaign, *, delete_steps=(), **overrides) -> dict:
    """The campaign's change form as its page posts it: every step and attached inbox."""
    schedule = Schedule.objects.get(campaign=campaign)
    steps = list(Sequence.objects.filter(campaign=campaign).order_by("step"))
    links = list(CampaignInbox.objects.filter(campaign=campaign).order_by("pk"))
    data = {
        "name": campaign.name,
        "daily_limit": campaign.daily_limit,
        **({"stop_on_reply": "on"} if campaign.stop_on_reply else {}),
        **management("schedule", 1, 1),
        "schedule-0-id": schedule.pk,
        "schedule-0-campaign": campaign.pk,
        "schedule-0-timezone": schedule.timezone,
        "schedule-0-start_time": schedule.start_time.strftime("%H:%M"),
        "schedule-0-end_time": schedule.end_time.strftime("%H:%M"),
        "schedule-0-days": json.dumps(schedule.days),
        **management("sequences", len(steps), len(steps)),
        **management("campaigninbox_set", len(links), len(links)),
    }
    for index, step in enumerate(steps):
        data[f"sequences-{index}-id"] = step.pk
        data[f"sequences-{index}-campaign"] = campaign.pk
        data[f"sequences-{index}-delay_days"] = step.delay_days
        if step.step in delete_steps:
            data[f"sequences-{index}-DELETE"] = "on"
    for index, link in enumerate(links):
        data[f"campaigninbox_set-{index}-id"] = link.pk
        data[f"campaigninbox_set-{index}-campaign"] = campaign.pk
        data[f"campaigninbox_set-{index}-inbox"] = link.inbox_id
    return {**data, **overrides}


def post_campaign(browser, campaign, **kwargs):
    return browser.post(f"{ADMIN}{campaign.pk}/change/", campaign_page(campaign, **kwargs))


def waiting_for_step_2(campaign, sent_at):
    """A lead that got step 1 at `sent_at` and waits for step 2."""
    step_1 = Sequence.objects.get(campaign=campaign, step=1)
    return LeadFactory(
        campaign=campaign,
        last_sent_at=sent_at,
        next_step=2,
        next_due_at=sent_at + timedelta(days=step_1.delay_days),
    )


def two_step_campaign(workspace):
    campaign = CampaignFactory(workspace=workspace)
    services.sequence_create(campaign=campaign)
    return campaign


SENT_AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("page", ["campaign", "step"])
def test_changing_a_delay_in_the_admin_moves_waiting_leads_as_the_api_does(dana, alice, page):
    by_admin, by_api = (two_step_campaign(alice.workspace) for _ in range(2))
    admin_lead = waiting_for_step_2(by_admin, SENT_AT)
    api_lead = waiting_for_step_2(by_api, SENT_AT)

    step = Sequence.objects.get(campaign=by_admin, step=1)
    if page == "campaign":
        response = post_campaign(dana, by_admin, **{"sequences-0-delay_days": 7})
    else:
        response = dana.post(
            f"/admin/campaigns/sequence/{step.pk}/change/",
            {"delay_days": 7, **management("variants", 0, 0)},
        )
    api_step = Sequence.objects.get(campaign=by_api, step=1)
    patched = alice.client.patch(
        f"/api/v1/campaigns/{by_api.pk}/sequences/{api_step.pk}", {"delay_days": 7}, format="json"
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert patched.status_code == 200
    admin_lead.refresh_from_db()
    api_lead.refresh_from_db()
    assert admin_lead.next_due_at == SENT_AT + timedelta(days=7)
    assert admin_lead.next_due_at == api_lead.next_due_at


def schedule_fields(campaign) -> dict:
    schedule = Schedule.objects.get(campaign=campaign)
    return {
        "timezone": schedule.timezone,
        "start_time": schedule.start_time,
        "end_time": schedule.end_time,
        "days": schedule.days,
    }


def with_monday(days: dict, **monday) -> str:
    return json.dumps({**days, "monday": {**days["monday"], **monday}})


def test_the_admin_schedule_snaps_to_the_grid_exactly_like_patch_schedule(dana, alice):
    by_admin, by_api = (CampaignFactory(workspace=alice.workspace) for _ in range(2))
    days = Schedule.objects.get(campaign=by_admin).days

    response = post_campaign(
        dana,
        by_admin,
        **{
            "schedule-0-timezone": "Europe/Paris",
            "schedule-0-start_time": "08:15",
            "schedule-0-end_time": "16:40",
            "schedule-0-days": with_monday(days, start="10:10", end=None),
        },
    )
    patched = alice.client.patch(
        f"/api/v1/campaigns/{by_api.pk}/schedule",
        {
            "timezone": "Europe/Paris",
            "default_window": {"start": "08:15", "end": "16:40"},
            "days": {"monday": {"start": "10:10", "end": None}},
        },
        format="json",
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert patched.status_code == 200
    assert schedule_fields(by_admin) == schedule_fields(by_api)
    assert schedule_fields(by_admin)["days"]["monday"]["start"] == "10:00"


@pytest.mark.parametrize(
    ("posted", "sent"),
    [
        (
            {"schedule-0-start_time": "18:00", "schedule-0-end_time": "09:00"},
            {"default_window": {"start": "18:00", "end": "09:00"}},
        ),
        (  # both ends round to 23:30: an empty window
            {"schedule-0-start_time": "23:40", "schedule-0-end_time": "23:50"},
            {"default_window": {"start": "23:40", "end": "23:50"}},
        ),
        ({"monday": {"start": "18:00"}}, {"days": {"monday": {"start": "18:00"}}}),
    ],
)
def test_the_admin_refuses_an_inverted_window_exactly_like_patch_schedule(
    dana, alice, posted, sent
):
    campaign = CampaignFactory(workspace=alice.workspace)
    before = schedule_fields(campaign)
    if "monday" in posted:
        posted = {"schedule-0-days": with_monday(before["days"], **posted["monday"])}

    response = post_campaign(dana, campaign, **posted)
    refused = alice.client.patch(f"/api/v1/campaigns/{campaign.pk}/schedule", sent, format="json")

    assert response.status_code == 200  # the form again, with schedule_update's error
    assert refused.status_code == 422
    page = html.unescape(response.content.decode())
    details = refused.json()["details"]
    expected = [*details.get("default_window", {}).get("end", [])] + [
        f"{day}.end: {message}"
        for day, errors in details.get("days", {}).items()
        for message in errors["end"]
    ]
    assert expected
    for message in expected:
        assert message in page
    assert schedule_fields(campaign) == before


def step_page(sequence, rows: list[dict]) -> dict:
    """The step's change form: `rows` are its variants' fields, in letter order."""
    variants = list(Variant.objects.filter(sequence=sequence).order_by("letter"))
    data = {
        "delay_days": sequence.delay_days,
        **management("variants", len(variants), len(variants)),
    }
    for index, (variant, row) in enumerate(zip(variants, rows, strict=True)):
        fields = {
            "id": variant.pk,
            "sequence": sequence.pk,
            "subject": variant.subject or "",
            "body_html": variant.body_html or "",
            **({"enabled": "on"} if variant.enabled else {}),
            **row,
        }
        if fields.get("enabled") is False:
            del fields["enabled"]
        data.update({f"variants-{index}-{key}": value for key, value in fields.items()})
    return data


def post_step(browser, sequence, *rows: dict):
    return browser.post(
        f"/admin/campaigns/sequence/{sequence.pk}/change/", step_page(sequence, list(rows))
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        # Passes as typed; normalising joins the braces: "{{first_name" does not close.
        ("{<b></b>{first_name", "Unclosed merge tag (at character 0)."),
        # The HTML parses; its text version ("{{x") does not.
        ('{<img src="https://acme.com/a.png">{x', "(in the plain-text version)"),
    ],
)
def test_a_variant_whose_normalised_content_breaks_a_merge_tag_is_refused(dana, alice, body, error):
    campaign = CampaignFactory(workspace=alice.workspace)
    variant = Variant.objects.get(sequence__campaign=campaign)
    before = (variant.body_html, variant.body_text)

    response = post_step(dana, variant.sequence, {"subject": "Hi", "body_html": body})
    refused = alice.client.patch(
        f"/api/v1/campaigns/{campaign.pk}/variants/{variant.pk}", {"body_html": body}, format="json"
    )

    assert response.status_code == 200
    assert refused.status_code == 422
    assert error in html.unescape(response.content.decode())
    variant.refresh_from_db()
    assert (variant.body_html, variant.body_text) == before


def second_variant(sequence, *, enabled: bool) -> Variant:
    return services.variant_create(sequence=sequence, subject="Other", enabled=enabled)


def test_the_admin_will_not_delete_a_steps_last_enabled_variant(dana, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    step = Sequence.objects.get(campaign=campaign)
    second_variant(step, enabled=False)

    response = post_step(dana, step, {"DELETE": "on"}, {})

    assert response.status_code == 200
    assert "Variant A: A step needs at least one enabled variant" in response.content.decode()
    assert sorted(Variant.objects.filter(sequence=step).values_list("letter", flat=True)) == [
        "A",
        "B",
    ]


def test_the_admin_deletes_a_variant_when_another_is_enabled_in_the_same_save(dana, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    step = Sequence.objects.get(campaign=campaign)
    second_variant(step, enabled=False)

    response = post_step(dana, step, {"DELETE": "on"}, {"enabled": "on"})

    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(Variant.objects.filter(sequence=step).values_list("letter", "enabled")) == [
        ("B", True)
    ]


def test_the_admin_swaps_the_enabled_variant_in_one_save(dana, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    step = Sequence.objects.get(campaign=campaign)
    second_variant(step, enabled=False)

    response = post_step(dana, step, {"enabled": False}, {"enabled": "on"})

    assert response.status_code == 302, response.content.decode()[:3000]
    enabled = dict(Variant.objects.filter(sequence=step).values_list("letter", "enabled"))
    assert enabled == {"A": False, "B": True}


def test_deleting_a_step_in_the_admin_moves_the_later_steps_and_their_leads_up(dana, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    step_2 = services.sequence_create(campaign=campaign, delay_days=2)
    step_3 = services.sequence_create(campaign=campaign, delay_days=4)
    lead = LeadFactory(campaign=campaign, next_step=3, last_sent_at=SENT_AT)

    response = post_campaign(dana, campaign, delete_steps=[2])

    assert response.status_code == 302, response.content.decode()[:3000]
    steps = Sequence.objects.filter(campaign=campaign).order_by("step")
    assert [(row.step, row.delay_days) for row in steps] == [(1, 3), (2, 4)]
    assert not Sequence.objects.filter(pk=step_2.pk).exists()
    assert steps[1].pk == step_3.pk
    lead.refresh_from_db()
    assert lead.next_step == 2


def test_detaching_an_inbox_in_the_admin_goes_through_the_service(dana, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    kept, dropped = InboxFactory(workspace=alice.workspace), InboxFactory(workspace=alice.workspace)
    services.campaign_inboxes_attach(campaign=campaign, inbox_ids=[kept.pk, dropped.pk])
    index = list(
        CampaignInbox.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("inbox_id", flat=True)
    ).index(dropped.pk)

    response = post_campaign(dana, campaign, **{f"campaigninbox_set-{index}-DELETE": "on"})

    assert response.status_code == 302, response.content.decode()[:3000]
    assert services.campaign_inboxes(campaign) == [kept]


def test_a_refused_save_changes_nothing_else_on_the_page(dana, alice):
    campaign = CampaignFactory(workspace=alice.workspace, name="Before")
    lead = waiting_for_step_2(two_step_campaign(alice.workspace), SENT_AT)

    response = post_campaign(
        dana,
        campaign,
        name="After",
        **{"schedule-0-start_time": "18:00", "schedule-0-end_time": "09:00"},
    )

    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.name == "Before"  # saved before the schedule was refused: rolled back
    lead.refresh_from_db()
    assert lead.next_due_at == SENT_AT + timedelta(days=3)
