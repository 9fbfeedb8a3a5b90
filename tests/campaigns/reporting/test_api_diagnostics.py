"""GET /campaigns/:id/diagnostics: why a campaign is or is not sending right now.

Most tests drive the `outreach` campaign (active, two steps, an inbox on a real SMTP
server, open all day in Europe/London) with real sends, then ask the API.
"""

from datetime import UTC, datetime, time

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignInbox, Send, Variant
from campaigns.reporting.diagnostics import NAMED_REASONS
from campaigns.sending import services as sending
from inboxes.models import Inbox, InboxPace
from leads.models import Lead
from tests.campaigns.factories import CampaignFactory, make_ready
from tests.campaigns.outreach import ALL_DAYS, make_inbox
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory
from tests.services.mailbox import Mailbox

URL = "/api/v1/campaigns"
UNKNOWN_USER = "550 5.1.1 User unknown"
TRY_LATER = "451 4.3.0 Try again later"


def diagnose(api, campaign: Campaign) -> dict:
    response = api.get(f"{URL}/{campaign.pk}/diagnostics")
    assert response.status_code == 200
    return response.json()["data"]


def codes(reasons: list[dict]) -> list[str]:
    return [reason["code"] for reason in reasons]


def utc(instant: datetime) -> str:
    """As the API writes instants."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def reply(lead: Lead) -> None:
    lead = Lead.objects.select_related("campaign").get(pk=lead.pk)
    sending.lead_reply_received(lead=lead, received_at=timezone.now())


def second_inbox(outreach, dovecot, smtp_server_factory, **fields) -> Inbox:
    """Another real mailbox, attached to the outreach campaign."""
    email, password = dovecot.new_user("kim")
    mailbox = Mailbox(
        email=email, password=password, dovecot=dovecot, make_smtp_server=smtp_server_factory
    )
    inbox = make_inbox(outreach.campaign.workspace, mailbox, **fields)
    services.campaign_inboxes_attach(campaign=outreach.campaign, inbox_ids=[inbox.pk])
    return inbox


# --- Sending --------------------------------------------------------------------------------


def test_an_active_campaign_inside_its_window_with_due_leads_is_sending(api, outreach):
    outreach.add_leads("bob@acme.com", "ann@globex.com")

    data = diagnose(api, outreach.campaign)

    assert data["sending"] is True
    assert (data["reasons"], data["warnings"]) == ([], [])
    assert (data["status"], data["paused_reason"]) == ("active", None)
    assert data["window"] == {
        "timezone": "Europe/London",
        "is_open": True,
        "opens_at": None,
        "closes_at": "2026-01-14T23:30:00.000000Z",
    }
    assert data["daily_limit"] == {
        "limit": 500,
        "used_today": 0,
        "remaining": 500,
        "resets_at": "2026-01-15T00:00:00.000000Z",
    }
    assert data["inboxes"] == {
        "attached": 1,
        "usable_now": 1,
        "waiting_for_gap": 0,
        "at_daily_cap": 0,
        "not_connected": 0,
        "inactive": 0,
        "next_send_at": None,
        "caps_reset_at": "2026-01-15T00:00:00.000000Z",
        "items": [
            {
                "id": str(outreach.inbox.pk),
                "email": outreach.inbox.email,
                "provider": "other",
                "state": "ready",
                "used_today": 0,
                "daily_limit": 500,
                "next_send_at": None,
            }
        ],
    }
    assert data["leads"] == {
        "total": 2,
        "due_first_step": 2,
        "due_follow_ups": 0,
        "retries_due": 0,
        "awaiting_esp_detection": None,
        "waiting_on_delay": 0,
        "next_due_at": None,
        "in_flight": 0,
        "unknown_outcome": 0,
        "failed": 0,
        "finished": 0,
        "stopped": {
            "total": 0,
            "bounced": 0,
            "unsubscribed": 0,
            "blocklisted": 0,
            "replied": 0,
            "company_replied": 0,
            "inbox_detached": 0,
            "other": 0,
        },
        "empty_merge_tags": 0,
    }
    assert data["checked_at"].endswith("Z")


def test_reading_the_diagnosis_claims_and_changes_nothing(api, outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    before = Lead.objects.values().get(pk=bob.pk)

    diagnose(api, outreach.campaign)

    assert Lead.objects.values().get(pk=bob.pk) == before
    assert not Send.objects.exists()
    assert not InboxPace.objects.exists()


# --- Status ---------------------------------------------------------------------------------


def test_a_draft_says_it_is_a_draft_and_what_else_is_missing(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)  # New York, 09:00-17:00 weekdays
    # Wednesday 15:00 UTC: 10:00 in New York, inside the default window.
    with time_machine.travel(datetime(2026, 1, 14, 15, tzinfo=UTC), tick=False):
        data = diagnose(api, campaign)

    assert data["sending"] is False
    assert data["status"] == "draft"
    assert codes(data["reasons"]) == ["draft", "no_inbox", "no_leads"]
    assert data["reasons"][0]["message"] == "The campaign is a draft: launch it to start sending."
    assert data["window"]["is_open"] is True
    assert data["window"]["closes_at"] == "2026-01-14T22:00:00.000000Z"  # 17:00 in New York


def test_a_campaign_paused_by_hand_says_how_to_resume(api, outreach):
    outreach.add_leads("bob@acme.com")
    services.campaign_update(campaign=outreach.campaign, status="paused", options={})

    data = diagnose(api, outreach.campaign)

    assert data["sending"] is False
    assert (data["status"], data["paused_reason"]) == ("paused", None)
    assert data["reasons"] == [
        {"code": "paused", "message": "The campaign is paused: resume it to send again."}
    ]


def test_a_campaign_paused_by_bounce_protection_gives_its_reason(api, outreach, settings):
    settings.BOUNCE_PAUSE_MIN_SENDS = 4
    settings.BOUNCE_PAUSE_PERCENT = 20
    emails = [f"lead{n}@example{n}.com" for n in range(4)]
    outreach.add_leads(*emails)
    for email in emails[:2]:
        outreach.smtp.reply_to_rcpt(email, UNKNOWN_USER)
    outreach.send_due()

    data = diagnose(api, outreach.campaign)

    outreach.campaign.refresh_from_db()
    assert data["status"] == "paused"
    assert data["paused_reason"] == outreach.campaign.paused_reason
    assert "2 of 4 emails bounced" in data["paused_reason"]
    assert data["reasons"][0] == {"code": "paused", "message": outreach.campaign.paused_reason}
    # Resuming would not send at once either: the two others wait for their follow-up.
    assert codes(data["reasons"]) == ["paused", "nothing_due"]
    assert data["leads"]["stopped"]["bounced"] == 2


# --- Window and daily limit -----------------------------------------------------------------


def test_outside_the_window_it_says_when_the_window_opens_in_the_campaigns_timezone(api, outreach):
    outreach.add_leads("bob@acme.com")
    services.schedule_update(
        campaign=outreach.campaign,
        timezone="America/New_York",
        default_window={"start": time(9, 0), "end": time(17, 0)},
        days={day: {"enabled": day not in ("saturday", "sunday")} for day in ALL_DAYS},
    )
    # Wednesday 23:00 UTC: 18:00 in New York, after the window closed.
    outreach.advance(hours=11)

    data = diagnose(api, outreach.campaign)

    assert data["sending"] is False
    assert data["window"] == {
        "timezone": "America/New_York",
        "is_open": False,
        "opens_at": "2026-01-15T14:00:00.000000Z",
        "closes_at": None,
    }
    assert data["reasons"] == [
        {
            "code": "outside_window",
            "message": "Outside the sending window; it opens at "
            "Thu 15 Jan 09:00 America/New_York (2026-01-15T14:00:00Z).",
        }
    ]
    assert outreach.send_due()["sent"] == 0  # the scheduler agrees


def test_a_schedule_without_an_enabled_day_never_opens(api, outreach):
    outreach.add_leads("bob@acme.com")
    services.schedule_update(
        campaign=outreach.campaign, days={day: {"enabled": False} for day in ALL_DAYS}
    )

    data = diagnose(api, outreach.campaign)

    assert (data["window"]["is_open"], data["window"]["opens_at"]) == (False, None)
    assert codes(data["reasons"]) == ["no_sending_days"]


def test_the_daily_limit_counts_the_campaigns_own_day_and_says_when_it_resets(api, outreach):
    services.schedule_update(campaign=outreach.campaign, timezone="America/New_York")
    outreach.campaign.refresh_from_db()
    services.campaign_update(campaign=outreach.campaign, options={"daily_limit": 2})
    outreach.add_leads("bob@acme.com", "ann@globex.com", "cat@initech.com")
    # 03:30 UTC on Thursday: still Wednesday 22:30 in New York.
    outreach.advance(hours=15, minutes=30)
    assert outreach.send_due()["sent"] == 2

    data = diagnose(api, outreach.campaign)
    assert data["daily_limit"] == {
        "limit": 2,
        "used_today": 2,
        "remaining": 0,
        "resets_at": "2026-01-15T05:00:00.000000Z",  # midnight in New York
    }
    assert data["reasons"] == [
        {
            "code": "daily_limit_reached",
            "message": "Daily limit of 2 reached; it resets at "
            "Thu 15 Jan 00:00 America/New_York (2026-01-15T05:00:00Z).",
        }
    ]
    assert data["leads"]["due_first_step"] == 1

    # 05:30 UTC: a new day in New York (though not in UTC's terms for the inbox cap).
    outreach.advance(hours=2)
    data = diagnose(api, outreach.campaign)
    assert (data["sending"], data["daily_limit"]["used_today"]) == (True, 0)
    assert data["inboxes"]["items"][0]["used_today"] == 2  # inbox caps count the UTC day


def test_a_daily_limit_of_zero_says_to_raise_it(api, outreach):
    outreach.add_leads("bob@acme.com")
    services.campaign_update(campaign=outreach.campaign, options={"daily_limit": 0})

    data = diagnose(api, outreach.campaign)

    assert data["reasons"] == [
        {"code": "daily_limit_reached", "message": "The daily limit is 0: raise it to send."}
    ]


# --- Inboxes --------------------------------------------------------------------------------


def test_each_inbox_is_counted_by_what_keeps_it_from_sending(
    api, outreach, settings, dovecot, smtp_server_factory
):
    settings.SEND_GAP_SECONDS = (300, 300)
    kim = second_inbox(outreach, dovecot, smtp_server_factory, daily_campaign_limit=1)
    broken = InboxFactory(
        workspace=outreach.campaign.workspace,
        connection_status=Inbox.ConnectionStatus.ERROR,
        daily_campaign_limit=20,
    )
    resting = InboxFactory(
        workspace=outreach.campaign.workspace,
        connection_status=Inbox.ConnectionStatus.CONNECTED,
        is_active=False,
        daily_campaign_limit=20,
    )
    services.campaign_inboxes_attach(campaign=outreach.campaign, inbox_ids=[broken.pk, resting.pk])
    outreach.add_leads("bob@acme.com", "ann@globex.com", "cat@initech.com")

    # One email from each connected inbox: then Sam waits for its gap, Kim is at its cap.
    assert outreach.send_due()["sent"] == 2
    data = diagnose(api, outreach.campaign)

    inboxes = data["inboxes"]
    states = {item["id"]: item["state"] for item in inboxes["items"]}
    assert states == {
        str(outreach.inbox.pk): "waiting_for_gap",
        str(kim.pk): "at_daily_cap",
        str(broken.pk): "not_connected",
        str(resting.pk): "inactive",
    }
    pace = InboxPace.objects.get(inbox=outreach.inbox).next_send_at
    assert inboxes["next_send_at"] == utc(pace)
    assert [item["email"] for item in inboxes["items"]] == sorted(
        item["email"] for item in inboxes["items"]
    )
    counts = {key: value for key, value in inboxes.items() if key != "items"}
    assert counts == {
        "attached": 4,
        "usable_now": 0,
        "waiting_for_gap": 1,
        "at_daily_cap": 1,
        "not_connected": 1,
        "inactive": 1,
        "next_send_at": utc(pace),
        "caps_reset_at": "2026-01-15T00:00:00.000000Z",
    }
    # Pacing is how a campaign sends: the gap is no reason, the broken inboxes are warnings.
    assert data["sending"] is True
    assert data["warnings"] == [
        {
            "code": "inboxes_not_sending",
            "message": "Not sending from 2 of 4 inboxes: 1 not connected, 1 inactive.",
        },
        {
            "code": "inboxes_at_daily_cap",
            "message": "At their daily cap: 1 of 4 inboxes; caps reset at 2026-01-15T00:00:00Z.",
        },
    ]
    assert data["leads"]["due_first_step"] == 1


def test_no_attached_inbox_and_no_connected_inbox_block_sending(api, outreach):
    outreach.add_leads("bob@acme.com")
    Inbox.objects.filter(pk=outreach.inbox.pk).update(
        connection_status=Inbox.ConnectionStatus.ERROR
    )
    data = diagnose(api, outreach.campaign)
    assert data["reasons"] == [
        {
            "code": "no_connected_inbox",
            "message": "No connected inbox: 1 inbox attached, 1 not connected, 0 inactive.",
        }
    ]

    CampaignInbox.objects.filter(campaign=outreach.campaign).delete()
    data = diagnose(api, outreach.campaign)
    assert data["reasons"] == [{"code": "no_inbox", "message": "No inbox is attached."}]
    assert data["inboxes"]["items"] == []


def test_every_inbox_at_its_daily_cap_blocks_sending_until_the_utc_day_ends(api, outreach):
    Inbox.objects.filter(pk=outreach.inbox.pk).update(daily_campaign_limit=1)
    outreach.add_leads("bob@acme.com", "ann@globex.com")
    assert outreach.send_due()["sent"] == 1

    data = diagnose(api, outreach.campaign)

    assert data["sending"] is False
    assert data["reasons"] == [
        {
            "code": "inboxes_at_daily_cap",
            "message": "Every connected inbox reached its daily cap; "
            "caps reset at 2026-01-15T00:00:00Z.",
        }
    ]
    assert data["inboxes"]["items"][0] | {"id": None, "email": None} == {
        "id": None,
        "email": None,
        "provider": "other",
        "state": "at_daily_cap",
        "used_today": 1,
        "daily_limit": 1,
        "next_send_at": None,
    }


# --- Leads ----------------------------------------------------------------------------------


def test_each_lead_is_counted_once_in_the_state_that_holds_it(api, outreach, settings):
    settings.SEND_RETRY_DELAYS_SECONDS = (600,)  # one retry, then the email fails
    services.campaign_update(campaign=outreach.campaign, options={"stop_on_company_reply": True})
    # Wednesday 12:00.
    outreach.add_leads(
        "bob@acme.com", "hal@hooli.com", "ann@globex.com", "dan@umbrella.com", "eve@evil.com"
    )
    outreach.add_leads("fay@blocked.com", is_blocklisted=True)
    (jon,) = outreach.add_leads("jon@slow.com")
    outreach.smtp.reply_to_rcpt("dan@umbrella.com", UNKNOWN_USER)
    outreach.smtp.reply_to_rcpt("jon@slow.com", TRY_LATER)
    outreach.send_due()
    reply(Lead.objects.get(email="ann@globex.com"))
    sending.lead_unsubscribe(lead=Lead.objects.get(email="eve@evil.com"))

    # Thursday 12:00: Jon's retry fails for good; Wes gets step 1.
    outreach.advance(days=1)
    outreach.add_leads("wes@wayne.com")
    outreach.send_due()
    assert Send.objects.get(lead=jon).status == Send.Status.FAILED

    # Friday 00:00: Uma gets step 1.
    outreach.advance(hours=12)
    outreach.add_leads("uma@umbrella.org")
    outreach.send_due()

    # Friday 12:01: Bob and Hal get their last step; Gus works where Ann replied; Kit's
    # server asks to try later.
    outreach.advance(hours=12, minutes=1)
    outreach.add_leads("gus@globex.com")
    outreach.add_leads("kit@slow.org")
    outreach.smtp.reply_to_rcpt("kit@slow.org", TRY_LATER)
    outreach.send_due()

    # Saturday 12:02: Kay is new; Wes's follow-up and Kit's retry are due; Uma waits.
    outreach.add_leads("kay@kayak.com")
    outreach.advance(days=1, minutes=1)
    data = diagnose(api, outreach.campaign)

    uma = Lead.objects.get(email="uma@umbrella.org")
    assert data["leads"] == {
        "total": 12,
        "due_first_step": 1,  # kay
        "due_follow_ups": 1,  # wes
        "retries_due": 1,  # kit
        "awaiting_esp_detection": None,
        "waiting_on_delay": 1,  # uma
        "next_due_at": utc(uma.next_due_at),
        "in_flight": 1,  # kit
        "unknown_outcome": 0,
        "failed": 1,  # jon
        "finished": 2,  # bob, hal
        "stopped": {
            "total": 5,
            "bounced": 1,  # dan
            "unsubscribed": 1,  # eve
            "blocklisted": 1,  # fay
            "replied": 1,  # ann
            "company_replied": 1,  # gus
            "inbox_detached": 0,
            "other": 0,
        },
        "empty_merge_tags": 0,
    }
    assert data["sending"] is True


def test_without_stop_on_reply_a_lead_that_replied_is_not_stopped(api, outreach):
    services.campaign_update(campaign=outreach.campaign, options={"stop_on_reply": False})
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    reply(bob)

    leads = diagnose(api, outreach.campaign)["leads"]

    assert (leads["waiting_on_delay"], leads["stopped"]["total"]) == (1, 0)


def test_a_campaign_whose_leads_wait_on_a_delay_says_until_when(api, outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()

    data = diagnose(api, outreach.campaign)

    bob.refresh_from_db()
    assert data["sending"] is False
    assert data["reasons"] == [
        {
            "code": "nothing_due",
            "message": "No lead is due now; 1 lead on a follow-up delay, the next due at "
            f"Fri 16 Jan 12:00 Europe/London ({bob.next_due_at:%Y-%m-%dT%H:%M:%SZ}).",
        }
    ]
    assert data["leads"]["next_due_at"] == utc(bob.next_due_at)


def test_emails_in_flight_and_unknown_outcomes_are_explained(api, outreach):
    outreach.add_leads("bob@acme.com")
    outreach.smtp.drop_after_data()  # the server took the message, then hung up
    outreach.send_due()

    data = diagnose(api, outreach.campaign)

    assert data["reasons"] == [
        {
            "code": "nothing_due",
            "message": "No lead is due now; 1 email in flight (being sent, waiting for a "
            "retry, or being reconciled).",
        }
    ]
    assert data["warnings"] == [
        {
            "code": "unknown_outcomes",
            "message": "Outcome unknown for 1 email (the connection broke after sending): "
            "they are looked up in the inbox's Sent folder, never sent again blindly.",
        }
    ]
    assert (data["leads"]["in_flight"], data["leads"]["unknown_outcome"]) == (1, 1)


def test_a_campaign_whose_leads_are_all_done_says_so(api, outreach):
    bob, ann = outreach.add_leads("bob@acme.com", "ann@globex.com")
    outreach.send_due()
    reply(ann)
    outreach.advance(days=2, minutes=1)
    outreach.send_due()

    data = diagnose(api, outreach.campaign)

    assert data["reasons"] == [
        {
            "code": "all_leads_done",
            "message": "Every lead is done: 1 finished the sequence, 1 stopped, 0 failed.",
        }
    ]
    assert (data["leads"]["finished"], data["leads"]["stopped"]["replied"]) == (1, 1)
    assert bob.pk != ann.pk


def test_with_esp_matching_leads_wait_for_detection_and_for_an_inbox_of_their_esp(api, outreach):
    services.campaign_update(campaign=outreach.campaign, options={"esp_matching": True})
    outreach.add_leads("new@unknown.com", provider=None)
    outreach.add_leads("bob@gmail.com", "ann@gmail.com", provider="google")

    data = diagnose(api, outreach.campaign)

    assert data["sending"] is False
    assert (data["leads"]["due_first_step"], data["leads"]["awaiting_esp_detection"]) == (3, 1)
    assert data["reasons"] == [
        {
            "code": "awaiting_esp_detection",
            "message": "ESP matching is on and the email provider of 1 lead due for step 1 "
            "is not detected yet.",
        },
        {
            "code": "no_inbox_for_esp",
            "message": "ESP matching is on and no inbox on Google can send today to the "
            "2 leads due for step 1 there.",
        },
    ]
    assert outreach.send_due()["sent"] == 0  # the scheduler agrees

    # A lead the (provider "other") inbox can take: the campaign sends, the rest wait.
    outreach.add_leads("cat@initech.com", provider="other")
    data = diagnose(api, outreach.campaign)
    assert data["sending"] is True
    assert codes(data["warnings"]) == ["awaiting_esp_detection", "no_inbox_for_esp"]
    assert outreach.send_due()["sent"] == 1


# --- Cost and scope -------------------------------------------------------------------------


def count_queries(api, campaign: Campaign) -> int:
    api.get(f"{URL}/{campaign.pk}/diagnostics")  # the key's last_used_at: not measured
    with CaptureQueriesContext(connection) as captured:
        diagnose(api, campaign)
    return len(captured)


def test_the_diagnosis_costs_the_same_queries_however_many_leads_and_sends(api, outreach):
    outreach.add_leads("bob@acme.com")
    few = count_queries(api, outreach.campaign)

    emails = [f"lead{n}@example{n}.com" for n in range(12)]
    outreach.add_leads(*emails)
    outreach.add_leads("fay@blocked.com", is_blocklisted=True)
    outreach.smtp.reply_to_rcpt(emails[0], UNKNOWN_USER)
    outreach.smtp.reply_to_rcpt(emails[1], TRY_LATER)
    outreach.send_due()
    for lead in Lead.objects.filter(status=Lead.Status.CONTACTED)[:3]:
        reply(lead)
    LeadFactory.create_batch(20, campaign=outreach.campaign, next_due_at=None)
    assert Send.objects.count() > 10
    many = count_queries(api, outreach.campaign)

    # Key, campaign, its inboxes, their paces, their sends today, the campaign's sends
    # today, the enabled variants and the leads their tags leave empty, the leads by state,
    # the outbox in flight.
    assert few == many == 10


def test_another_workspaces_campaign_is_a_404_and_nothing_changes(api, alice, charlie):
    campaign = make_ready(CampaignFactory(workspace=alice.workspace))
    LeadFactory(campaign=campaign)
    before = Campaign.objects.values().get(pk=campaign.pk)

    response = charlie.client.get(f"{URL}/{campaign.pk}/diagnostics")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Campaign.objects.values().get(pk=campaign.pk) == before
    assert not InboxPace.objects.exists()
    assert api.get(f"{URL}/{campaign.pk}/diagnostics").status_code == 200


def test_an_unknown_campaign_is_a_404(api):
    response = api.get(f"{URL}/00000000-0000-4000-8000-000000000000/diagnostics")
    assert response.status_code == 404


def test_the_stopped_counts_are_named_by_skip_reasons():
    assert set(NAMED_REASONS) <= set(Send.SkipReason.values)


# --- Merge tags without a value ---------------------------------------------------------------


def test_leads_a_fallback_less_tag_would_leave_empty_are_counted_and_named(api, outreach):
    step_one = Variant.objects.get(sequence__campaign=outreach.campaign, sequence__step=1)
    services.variant_update(
        variant=step_one,
        subject="{{first_name}}, {{favourite_color}}?",
        body_html="{{company|your team}} {{shoe_size}} {{contact}} {{sender_first_name}}",
    )
    ann, bob, cat = outreach.add_leads("ann@acme.com", "bob@acme.com", "cat@acme.com")
    Lead.objects.filter(pk=ann.pk).update(
        first_name="Ann", variables={"favourite_color": "red", "shoe_size": 38}
    )
    Lead.objects.filter(pk=bob.pk).update(
        first_name="", variables={"first_name": "Bob", "favourite_color": "", "shoe_size": 0}
    )
    Lead.objects.filter(pk=cat.pk).update(first_name="", variables={"favourite_color": None})
    outreach.add_leads("dan@acme.com", is_unsubscribed=True)  # never emailed again: not counted

    data = diagnose(api, outreach.campaign)

    assert data["leads"]["empty_merge_tags"] == 2  # bob (favourite_color), cat (all three)
    (warning,) = [w for w in data["warnings"] if w["code"] == "empty_merge_tags"]
    assert warning["message"] == (
        "2 leads still to be emailed have no value for a merge tag without a fallback, which "
        "renders empty for them: {{favourite_color}} (2 leads), {{first_name}} (1 lead), "
        "{{shoe_size}} (1 lead). Add the variable to those leads, or a fallback to the tag "
        "({{name|fallback}})."
    )
    assert data["sending"] is True


def test_variables_named_like_json_lookups_are_counted_as_variables(api, outreach):
    step_one = Variant.objects.get(sequence__campaign=outreach.campaign, sequence__step=1)
    services.variant_update(variant=step_one, body_html="{{contains}} {{has_key}} {{exact}}")
    (ann,) = outreach.add_leads("ann@acme.com")
    Lead.objects.filter(pk=ann.pk).update(variables={"contains": "x", "has_key": "y"})

    data = diagnose(api, outreach.campaign)

    assert data["leads"]["empty_merge_tags"] == 1
    (warning,) = [w for w in data["warnings"] if w["code"] == "empty_merge_tags"]
    assert "{{exact}} (1 lead)." in warning["message"]
    assert "{{contains}}" not in warning["message"]
