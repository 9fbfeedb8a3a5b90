"""Who gets what, when, from where: windows, caps, gaps, rotation, ESP matching, variants, stops."""

from datetime import UTC, datetime, time

import pytest

from blocklist.models import BlocklistEntry
from campaigns import services
from campaigns.models import Send
from campaigns.sending import services as sending
from leads.models import Lead
from tests.campaigns.outreach import make_campaign, make_inbox

# --- The schedule --------------------------------------------------------------------------


def window(outreach, *, timezone="Europe/London", start=time(9, 0), end=time(17, 0), days=None):
    services.schedule_update(
        campaign=outreach.campaign,
        timezone=timezone,
        default_window={"start": start, "end": end},
        days=days or {},
    )


def test_nothing_is_sent_before_the_window_opens_and_all_of_it_once_open(outreach):
    window(outreach, start=time(13, 0), end=time(17, 0))  # START is 12:00 in London
    outreach.add_leads("bob@acme.com")

    assert outreach.send_due()["sent"] == 0
    outreach.advance(hours=1, minutes=1)
    assert outreach.send_due()["sent"] == 1


def test_nothing_is_sent_after_the_window_closes(outreach):
    window(outreach, start=time(9, 0), end=time(12, 0))  # closed at 12:00 sharp
    outreach.add_leads("bob@acme.com")
    assert outreach.send_due()["sent"] == 0
    assert outreach.received() == []


def test_a_disabled_day_sends_nothing_whatever_its_window(outreach):
    window(outreach, days={"wednesday": {"enabled": False}})  # START is a Wednesday
    outreach.add_leads("bob@acme.com")
    assert outreach.send_due()["sent"] == 0
    outreach.advance(days=1)  # Thursday, 12:00
    assert outreach.send_due()["sent"] == 1


def test_a_days_own_hours_override_the_default_window(outreach):
    window(outreach, start=time(9, 0), end=time(11, 0), days={"wednesday": {"end": time(13, 0)}})
    outreach.add_leads("bob@acme.com")
    assert outreach.send_due()["sent"] == 1


def test_the_window_is_in_the_campaigns_timezone(outreach):
    # 12:00 UTC is 07:00 in New York (EST): before a 09:00 to 17:00 window there.
    window(outreach, timezone="America/New_York")
    outreach.add_leads("bob@acme.com")
    assert outreach.send_due()["sent"] == 0
    outreach.advance(hours=2, minutes=1)  # 09:01 in New York
    assert outreach.send_due()["sent"] == 1


def test_the_window_follows_a_daylight_saving_change(outreach):
    """09:00 to 10:00 in New York is 14:00 UTC in winter and 13:00 UTC after the March change."""
    window(outreach, timezone="America/New_York", start=time(9, 0), end=time(10, 0))
    outreach.add_leads("bob@acme.com", "ann@acme.com")

    outreach.clock.move_to(datetime(2026, 3, 6, 13, 30, tzinfo=UTC))  # Friday, EST: 08:30
    assert outreach.send_due()["sent"] == 0
    outreach.clock.move_to(datetime(2026, 3, 9, 13, 30, tzinfo=UTC))  # Monday, EDT: 09:30
    assert outreach.send_due()["sent"] == 2


def test_a_paused_or_draft_campaign_sends_nothing(outreach):
    outreach.add_leads("bob@acme.com")
    services.campaign_update(campaign=outreach.campaign, status="paused")
    assert outreach.send_due()["sent"] == 0
    services.campaign_update(campaign=outreach.campaign, status="active")
    assert outreach.send_due()["sent"] == 1


# --- Caps and pace ---------------------------------------------------------------------------


def test_the_campaign_daily_limit_counts_in_its_own_timezone(outreach):
    services.campaign_update(campaign=outreach.campaign, options={"daily_limit": 2})
    outreach.add_leads(*(f"lead{n}@acme.com" for n in range(5)))

    assert outreach.send_due()["sent"] == 2
    assert outreach.send_due()["sent"] == 0
    outreach.advance(hours=11, minutes=59)  # 23:59 in London: still today
    assert outreach.send_due()["sent"] == 0
    outreach.advance(minutes=2)  # tomorrow
    assert outreach.send_due()["sent"] == 2


def test_an_inbox_cap_holds_across_campaigns(outreach, alice):
    outreach.inbox.daily_campaign_limit = 3
    outreach.inbox.save()
    other = make_campaign(alice.workspace, [outreach.inbox])
    outreach.add_leads("a@acme.com", "b@acme.com")
    outreach.add_leads("c@acme.com", "d@acme.com", campaign=other)

    assert outreach.send_due()["sent"] == 3
    assert Send.objects.filter(inbox=outreach.inbox, status="sent").count() == 3


def test_sends_from_one_inbox_are_spaced_by_a_random_gap(outreach, settings):
    settings.SEND_GAP_SECONDS = (180, 420)
    outreach.add_leads(*(f"lead{n}@acme.com" for n in range(3)))

    assert outreach.send_due()["sent"] == 1
    outreach.advance(minutes=2)
    assert outreach.send_due()["sent"] == 0  # no burst: under the 3-minute minimum
    outreach.advance(minutes=5, seconds=1)
    assert outreach.send_due()["sent"] == 1  # over the 7-minute maximum


def test_step_one_rotates_over_inboxes_by_capacity_left(outreach, alice, mailbox):
    second = make_inbox(alice.workspace, mailbox, email="second@mail.test", domain="mail.test")
    services.campaign_inboxes_attach(campaign=outreach.campaign, inbox_ids=[second.pk])
    leads = outreach.add_leads(*(f"lead{n}@acme.com" for n in range(6)))

    outreach.send_due()

    used = [outreach.send_of(lead).inbox_id for lead in leads]
    assert used.count(outreach.inbox.pk) == 3
    assert used.count(second.pk) == 3


def test_follow_ups_stay_on_the_inbox_of_step_one(outreach, alice, mailbox):
    leads = outreach.add_leads("a@acme.com", "b@acme.com")
    outreach.send_due()
    second = make_inbox(
        alice.workspace,
        mailbox,
        email="second@mail.test",
        domain="mail.test",
        daily_campaign_limit=1,
    )
    services.campaign_inboxes_attach(campaign=outreach.campaign, inbox_ids=[second.pk])
    outreach.inbox.daily_campaign_limit = 500
    outreach.inbox.save()

    outreach.advance(days=2, minutes=1)
    outreach.send_due()

    for lead in leads:
        assert outreach.send_of(lead, 2).inbox_id == outreach.send_of(lead, 1).inbox_id


def test_a_follow_up_whose_inbox_was_detached_is_skipped_not_sent_from_another(
    outreach, alice, mailbox
):
    (lead,) = outreach.add_leads("a@acme.com")
    outreach.send_due()
    other = make_inbox(alice.workspace, mailbox, email="other@mail.test", domain="mail.test")
    services.campaign_inboxes_attach(campaign=outreach.campaign, inbox_ids=[other.pk])
    services.campaign_inboxes_detach(campaign=outreach.campaign, inbox_ids=[outreach.inbox.pk])

    outreach.advance(days=2, minutes=1)
    outreach.send_due()

    follow_up = outreach.send_of(lead, 2)
    assert follow_up.status == Send.Status.SKIPPED
    assert follow_up.skip_reason == "inbox_detached"
    assert len(outreach.received()) == 1


@pytest.mark.parametrize(
    ("change", "value"),
    [("is_active", False), ("connection_status", "error"), ("connection_status", "pending")],
)
def test_only_active_connected_inboxes_send(outreach, change, value):
    setattr(outreach.inbox, change, value)
    outreach.inbox.save()
    outreach.add_leads("bob@acme.com")
    assert outreach.send_due()["sent"] == 0
    assert Lead.objects.get().next_due_at is not None  # still waiting, not dropped


def test_esp_matching_sends_each_lead_from_an_inbox_of_its_provider(outreach, alice, mailbox):
    google = make_inbox(
        alice.workspace, mailbox, email="g@mail.test", domain="mail.test", provider="google"
    )
    services.campaign_inboxes_attach(campaign=outreach.campaign, inbox_ids=[google.pk])
    services.campaign_update(campaign=outreach.campaign, options={"esp_matching": True})
    (gmail_lead,) = outreach.add_leads("g@gmail.example", provider="google")
    (other_lead,) = outreach.add_leads("o@acme.com", provider="zoho")
    (ms_lead,) = outreach.add_leads("m@contoso.example", provider="microsoft")
    (unknown,) = outreach.add_leads("u@pending.example", provider=None)

    outreach.send_due()

    assert outreach.send_of(gmail_lead).inbox_id == google.pk
    assert outreach.send_of(other_lead).inbox_id == outreach.inbox.pk  # zoho → an "other" inbox
    assert not Send.objects.filter(lead__in=[ms_lead, unknown]).exists()  # no match: they wait
    ms_lead.refresh_from_db()
    assert ms_lead.next_due_at is not None


# --- Variants --------------------------------------------------------------------------------


def test_leads_are_split_evenly_over_enabled_variants(outreach):
    sequence = outreach.step_one.sequence
    variant_b = services.variant_create(
        sequence=sequence, subject="Other {{first_name}}", body_html="B"
    )
    disabled = services.variant_create(
        sequence=sequence, subject="Off", body_html="C", enabled=False
    )
    leads = outreach.add_leads(*(f"lead{n}@acme.com" for n in range(10)))

    outreach.send_due()

    got = [outreach.send_of(lead).variant_id for lead in leads]
    assert got.count(outreach.step_one.pk) == 5
    assert got.count(variant_b.pk) == 5
    assert disabled.pk not in got


# --- Stop rules ------------------------------------------------------------------------------


def test_blocklisted_leads_are_skipped_with_the_reason(outreach, alice):
    bob, ann = outreach.add_leads("bob@acme.com", "ann@globex.com")
    BlocklistEntry.objects.create(workspace=alice.workspace, value="globex.com", kind="domain")

    outreach.send_due()

    assert outreach.send_of(bob).status == Send.Status.SENT
    skipped = outreach.send_of(ann)
    assert (skipped.status, skipped.skip_reason) == (Send.Status.SKIPPED, "blocklisted")
    assert outreach.received_by("ann@globex.com") == []
    ann.refresh_from_db()
    assert ann.next_due_at is None


@pytest.mark.parametrize(
    ("flags", "reason"),
    [({"is_bounced": True}, "bounced"), ({"is_unsubscribed": True}, "unsubscribed")],
)
def test_bounced_and_unsubscribed_leads_are_never_sent_to(outreach, flags, reason):
    (lead,) = outreach.add_leads("bob@acme.com", **flags)
    outreach.send_due()
    assert outreach.send_of(lead).skip_reason == reason
    assert outreach.received() == []


def test_a_reply_stops_the_sequence(outreach):
    bob, ann = outreach.add_leads("bob@acme.com", "ann@acme.com")
    outreach.send_due()
    sending.lead_reply_received(lead=bob, received_at=outreach.send_of(bob).sent_at)

    outreach.advance(days=2, minutes=1)
    outreach.send_due()

    assert not Send.objects.filter(lead=bob, step=2).exists()
    assert outreach.send_of(ann, 2).status == Send.Status.SENT
    bob.refresh_from_db()
    assert bob.status == Lead.Status.REPLIED


def test_without_stop_on_reply_the_sequence_goes_on(outreach):
    services.campaign_update(campaign=outreach.campaign, options={"stop_on_reply": False})
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    sending.lead_reply_received(lead=bob, received_at=outreach.send_of(bob).sent_at)
    outreach.advance(days=2, minutes=1)
    outreach.send_due()
    assert outreach.send_of(bob, 2).status == Send.Status.SENT


def test_a_reply_from_a_colleague_stops_the_company_with_stop_on_company_reply(outreach):
    services.campaign_update(campaign=outreach.campaign, options={"stop_on_company_reply": True})
    bob, ann, zed = outreach.add_leads("bob@acme.com", "ann@acme.com", "zed@globex.com")
    outreach.send_due()
    sending.lead_reply_received(lead=bob, received_at=outreach.send_of(bob).sent_at)

    outreach.advance(days=2, minutes=1)
    outreach.send_due()

    assert outreach.send_of(ann, 2).skip_reason == "company_replied"
    assert outreach.send_of(zed, 2).status == Send.Status.SENT


def test_a_lead_added_to_a_paused_campaign_waits_and_then_goes(outreach):
    services.campaign_update(campaign=outreach.campaign, status="paused")
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    services.campaign_update(campaign=outreach.campaign, status="active")
    outreach.send_due()
    assert outreach.send_of(bob).status == Send.Status.SENT


# --- Steps edited while the campaign runs ------------------------------------------------------


def test_a_changed_delay_applies_to_leads_already_waiting(outreach):
    outreach.add_leads("bob@acme.com")
    outreach.send_due()
    services.sequence_update(sequence=outreach.step_one.sequence, delay_days=5)

    outreach.advance(days=2, minutes=1)
    assert outreach.send_due()["sent"] == 0
    outreach.advance(days=3)
    assert outreach.send_due()["sent"] == 1


def test_a_step_added_after_the_last_one_reaches_leads_who_had_finished(outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    outreach.advance(days=2, minutes=1)
    outreach.send_due()  # step 2, the last: bob is done
    bob.refresh_from_db()
    assert bob.next_due_at is None

    step_three = services.sequence_create(campaign=outreach.campaign)
    services.variant_update(variant=step_three.variants.get(), body_html="One last note.")
    outreach.advance(days=3, minutes=1)  # step 2's delay, counted from bob's last email

    assert outreach.send_due()["sent"] == 1
    assert outreach.send_of(bob, 3).status == Send.Status.SENT


def test_deleting_an_earlier_step_moves_leads_and_history_with_their_steps(outreach):
    step_three = services.sequence_create(campaign=outreach.campaign)
    services.variant_update(variant=step_three.variants.get(), body_html="Third.")
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    outreach.advance(days=2, minutes=1)
    outreach.send_due()  # bob got steps 1 and 2; step 3 is next

    services.sequence_delete(sequence=outreach.step_two)  # "Third." is now step 2

    bob.refresh_from_db()
    assert bob.next_step == 2
    outreach.advance(days=3, minutes=1)
    assert outreach.send_due()["sent"] == 1
    assert "Third." in outreach.received_by("bob@acme.com")[-1].get_body(("plain",)).get_content()
    assert sorted(Send.objects.filter(lead=bob).values_list("step", flat=True)) == [1, 2, 2]


def test_a_backlog_on_one_inbox_does_not_hold_up_another_inboxes_follow_ups(
    outreach, alice, mailbox, settings
):
    settings.SEND_GAP_SECONDS = (180, 420)
    older = outreach.add_leads(*(f"old{n}@acme.com" for n in range(3)))
    for _ in older:  # all from the first inbox, a gap apart
        outreach.send_due()
        outreach.advance(minutes=8)
    second = make_inbox(alice.workspace, mailbox, email="second@mail.test", domain="mail.test")
    services.campaign_inboxes_attach(campaign=outreach.campaign, inbox_ids=[second.pk])
    services.campaign_inboxes_detach(campaign=outreach.campaign, inbox_ids=[outreach.inbox.pk])
    (newer,) = outreach.add_leads("new@acme.com")
    outreach.send_due()
    services.campaign_inboxes_attach(campaign=outreach.campaign, inbox_ids=[outreach.inbox.pk])
    assert outreach.send_of(newer).inbox_id == second.pk

    outreach.advance(
        days=2, minutes=10
    )  # three older follow-ups due on the first inbox, one on the second
    outreach.send_due()  # each inbox may send one email now

    sent = Send.objects.filter(step=2, status="sent")
    assert sorted(sent.values_list("inbox_id", flat=True)) == sorted([outreach.inbox.pk, second.pk])


def test_esp_matching_leads_no_inbox_can_serve_do_not_block_the_queue(outreach):
    services.campaign_update(campaign=outreach.campaign, options={"esp_matching": True})
    outreach.add_leads(*(f"m{n}@contoso.example" for n in range(5)), provider="microsoft")
    (other,) = outreach.add_leads("o@acme.com", provider="other")
    services.campaign_update(campaign=outreach.campaign, options={"daily_limit": 1})
    outreach.send_due()
    assert outreach.send_of(other).status == Send.Status.SENT
