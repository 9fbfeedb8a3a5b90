"""The engine's public surface, as the unified inbox will call it: replies, unsubscribes,
bounces (hard, and soft: retried once the next day) and automatic replies, through real
passes over the test SMTP server."""

import inspect
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from campaigns import services as authoring
from campaigns.models import Campaign, Send
from campaigns.reporting.analytics import campaign_stats
from campaigns.sending import services
from campaigns.sending.services import AutoReply, BounceEffect
from leads.models import Lead

PUBLIC = (
    services.lead_reply_received,
    services.lead_unsubscribe,
    services.lead_bounced,
    services.lead_auto_replied,
    services.campaign_progress_refresh,
    services.campaign_progress,
    services.send_pass_run,
    services.sends_deliver,
)


@pytest.mark.parametrize("service", PUBLIC, ids=lambda service: service.__name__)
def test_the_public_services_take_keyword_arguments_only(service):
    parameters = inspect.signature(service).parameters.values()
    assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in parameters)


def sent_step_one(outreach, *emails):
    leads = outreach.add_leads(*emails)
    assert outreach.send_due()["sent"] == len(emails)
    return [Lead.objects.get(pk=lead.pk) for lead in leads]


# --- Bounces -------------------------------------------------------------------------------------


def test_a_hard_bounce_marks_the_send_bounced_and_stops_the_lead_once(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)

    effect = services.lead_bounced(send=send, hard=True, response="550 5.1.1 no such user")

    assert effect == BounceEffect.BOUNCED
    send.refresh_from_db()
    bob.refresh_from_db()
    assert send.status == Send.Status.BOUNCED
    assert send.smtp_response == "550 5.1.1 no such user"
    assert bob.is_bounced
    assert bob.next_due_at is None
    assert services.lead_bounced(send=send, hard=True) == BounceEffect.IGNORED
    stats = campaign_stats([outreach.campaign], breakdown=False)[outreach.campaign.pk]
    assert (stats.sent, stats.bounced) == (1, 1)
    outreach.advance(days=3)
    assert outreach.send_due()["sent"] == 0


def test_a_hard_bounce_weighs_the_campaigns_bounces_again(outreach, settings):
    settings.BOUNCE_PAUSE_MIN_SENDS = 2
    settings.BOUNCE_PAUSE_PERCENT = 20
    bob, _ = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")

    services.lead_bounced(send=outreach.send_of(bob), hard=True)

    campaign = Campaign.objects.get(pk=outreach.campaign.pk)
    assert campaign.status == Campaign.Status.PAUSED
    assert "1 of 2 emails bounced" in campaign.paused_reason


def test_a_soft_bounce_sends_the_step_again_the_next_day_then_counts_as_bounced(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    first_report = timezone.now() + timedelta(minutes=30)

    effect = services.lead_bounced(send=send, hard=False, at=first_report, response="452 full")

    assert effect == BounceEffect.RETRY_SCHEDULED
    send.refresh_from_db()
    bob.refresh_from_db()
    assert send.status == Send.Status.SCHEDULED
    assert send.due_at == datetime(2026, 1, 15, tzinfo=UTC)  # midnight in London
    assert (bob.next_step, bob.next_due_at, bob.is_bounced) == (1, None, False)
    assert services.lead_bounced(send=send, hard=False, at=first_report) == BounceEffect.IGNORED
    assert outreach.send_due()["sent"] == 0  # not today

    outreach.advance(hours=12, minutes=5)  # 00:05 the next day
    assert outreach.send_due()["sent"] == 1

    again = outreach.received_by("bob@acme.com")
    assert len(again) == 2
    assert again[0]["Message-ID"] == again[1]["Message-ID"] == send.message_id
    send.refresh_from_db()
    bob.refresh_from_db()
    assert send.status == Send.Status.SENT
    assert bob.next_step == 2
    assert bob.next_due_at is not None
    # The first report, read again after the second try, is still about the first.
    assert services.lead_bounced(send=send, hard=False, at=first_report) == BounceEffect.IGNORED

    effect = services.lead_bounced(send=send, hard=False, at=timezone.now() + timedelta(hours=1))

    assert effect == BounceEffect.BOUNCED
    send.refresh_from_db()
    bob.refresh_from_db()
    assert send.status == Send.Status.BOUNCED
    assert bob.is_bounced
    assert bob.next_due_at is None


def test_a_soft_bounce_after_the_follow_up_went_is_only_recorded(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    outreach.advance(days=2, minutes=1)
    assert outreach.send_due()["sent"] == 1
    first = outreach.send_of(bob)

    effect = services.lead_bounced(send=first, hard=False)

    assert effect == BounceEffect.RECORDED
    first.refresh_from_db()
    assert first.status == Send.Status.SENT
    assert first.soft_bounced_at is not None
    assert services.lead_bounced(send=first, hard=False) == BounceEffect.IGNORED


def test_a_bounce_for_an_email_that_never_left_changes_nothing(outreach):
    outreach.smtp.reply_to_rcpt("bob@acme.com", "451 try later")
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    send = outreach.send_of(bob)
    assert send.status == Send.Status.SCHEDULED

    assert services.lead_bounced(send=send, hard=True) == BounceEffect.IGNORED
    bob.refresh_from_db()
    assert not bob.is_bounced


# --- Automatic replies ---------------------------------------------------------------------------


def test_out_of_office_pauses_the_lead_until_the_day_after_it_is_back(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")

    resume = services.lead_auto_replied(
        lead=bob,
        kind=AutoReply.OUT_OF_OFFICE,
        received_at=timezone.now(),
        back_on=date(2026, 1, 19),
    )

    assert resume == datetime(2026, 1, 20, tzinfo=UTC)
    bob.refresh_from_db()
    assert bob.next_due_at == resume
    assert bob.next_step == 2
    outreach.advance(days=3)
    assert outreach.send_due()["sent"] == 0
    outreach.advance(days=2, hours=12, minutes=5)  # 00:05 on the 20th
    assert outreach.send_due()["sent"] == 1
    bob.refresh_from_db()
    assert bob.status == Lead.Status.CONTACTED
    assert bob.replied_at is None
    stats = campaign_stats([outreach.campaign], breakdown=False)[outreach.campaign.pk]
    assert stats.replies == 0


def test_out_of_office_without_a_date_pauses_a_week_and_never_brings_an_email_forward(
    outreach,
):
    bob, ann = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")
    later = timezone.now() + timedelta(days=30)
    Lead.objects.filter(pk=ann.pk).update(next_due_at=later)

    resume = services.lead_auto_replied(
        lead=bob, kind=AutoReply.OUT_OF_OFFICE, received_at=timezone.now()
    )
    services.lead_auto_replied(lead=ann, kind=AutoReply.OUT_OF_OFFICE, received_at=timezone.now())

    assert resume == datetime(2026, 1, 21, tzinfo=UTC)
    assert Lead.objects.get(pk=ann.pk).next_due_at == later


def test_out_of_office_of_a_lead_with_nothing_due_changes_nothing(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    outreach.advance(days=2, minutes=1)
    outreach.send_due()  # the last step: nothing more is due

    assert (
        services.lead_auto_replied(
            lead=bob, kind=AutoReply.OUT_OF_OFFICE, received_at=timezone.now()
        )
        is None
    )
    assert Lead.objects.get(pk=bob.pk).next_due_at is None


def test_a_lead_that_left_the_company_stops_even_when_a_step_is_added(outreach, api):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    outreach.advance(days=2, minutes=1)
    outreach.send_due()  # got both steps

    services.lead_auto_replied(lead=bob, kind=AutoReply.LEFT_COMPANY, received_at=timezone.now())
    authoring.sequence_create(campaign=outreach.campaign)

    bob.refresh_from_db()
    assert bob.left_company_at is not None
    assert bob.next_due_at is None
    assert bob.replied_at is None
    url = f"/api/v1/campaigns/{outreach.campaign.pk}/diagnostics"
    assert api.get(url).json()["data"]["leads"]["stopped"]["other"] == 1


def test_other_automatic_mail_changes_nothing(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    due = bob.next_due_at
    assert (
        services.lead_auto_replied(lead=bob, kind=AutoReply.OTHER, received_at=timezone.now())
        is None
    )
    assert Lead.objects.get(pk=bob.pk).next_due_at == due


# --- Replies and unsubscribes ---------------------------------------------------------------------


def test_a_reply_counts_for_the_email_it_answers_and_holds_the_company(outreach):
    authoring.campaign_update(campaign=outreach.campaign, options={"stop_on_company_reply": True})
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    outreach.advance(days=2, minutes=1)
    outreach.send_due()
    first = outreach.send_of(bob)
    (colleague,) = outreach.add_leads("ann@acme.com")
    (stranger,) = outreach.add_leads("eve@globex.com")

    services.lead_reply_received(
        lead=bob, received_at=timezone.now(), send=first, label="interested", is_positive=True
    )
    replied_at = Lead.objects.get(pk=bob.pk).replied_at
    services.lead_reply_received(  # the same message, synced again
        lead=bob, received_at=replied_at, send=first, label="interested", is_positive=True
    )

    bob.refresh_from_db()
    assert bob.status == Lead.Status.REPLIED
    assert bob.replied_at == replied_at
    assert Send.objects.get(pk=first.pk).replied_at == replied_at
    assert Send.objects.get(lead=bob, step=2).replied_at is None
    outreach.send_due()
    assert outreach.send_of(colleague).skip_reason == Send.SkipReason.COMPANY_REPLIED
    assert outreach.send_of(stranger).status == Send.Status.SENT


def test_a_reply_naming_another_leads_email_is_refused(outreach):
    bob, ann = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")
    with pytest.raises(ValueError, match="not one of this lead's"):
        services.lead_reply_received(
            lead=bob, received_at=timezone.now(), send=outreach.send_of(ann)
        )


def test_unsubscribing_stops_the_lead_and_skips_its_retry(outreach):
    outreach.smtp.reply_to_rcpt("bob@acme.com", "451 try later")
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()

    services.lead_unsubscribe(lead=bob)
    services.lead_unsubscribe(lead=bob)

    send = outreach.send_of(bob)
    assert (send.status, send.skip_reason) == (Send.Status.SKIPPED, Send.SkipReason.UNSUBSCRIBED)
    bob.refresh_from_db()
    assert bob.is_unsubscribed
    assert bob.next_due_at is None


def test_progress_is_recounted_on_demand_or_at_most_every_few_minutes(outreach):
    sent_step_one(outreach, "bob@acme.com")
    outreach.advance(days=2, minutes=1)
    outreach.send_due()

    services.campaign_progress_refresh(campaign_id=outreach.campaign.pk)
    assert Campaign.objects.get(pk=outreach.campaign.pk).progress == 100
    outreach.add_leads("ann@acme.com")
    services.campaign_progress_refresh(campaign_id=outreach.campaign.pk)
    assert Campaign.objects.get(pk=outreach.campaign.pk).progress == 100  # not yet
    services.campaign_progress_refresh(campaign_id=outreach.campaign.pk, force=True)
    assert Campaign.objects.get(pk=outreach.campaign.pk).progress == 50
