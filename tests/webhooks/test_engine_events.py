"""Events from the sending engine and the inboxes, each written with the change it reports."""

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.sending import services
from campaigns.sending.services import AutoReply
from inboxes import services as inbox_services
from inboxes.models import Inbox
from leads.models import Lead
from reachkit.webhooks.models import Delivery, Event, WebhookEndpoint
from reachkit.webhooks.services import endpoint_create


def _events(type=None):
    events = Event.objects.order_by("seq")
    if type:
        events = events.filter(type=type)
    return list(events)


def _sent(outreach, *emails):
    leads = outreach.add_leads(*emails)
    assert outreach.send_due()["sent"] == len(emails)
    return [Lead.objects.get(pk=lead.pk) for lead in leads]


def test_each_email_that_leaves_is_an_email_sent_event_with_what_a_crm_needs(outreach, alice):
    endpoint, _ = endpoint_create(workspace=alice.workspace, url="http://127.0.0.1:9/")
    bob, ann = _sent(outreach, "bob@acme.com", "ann@acme.com")
    events = _events("email_sent")
    assert len(events) == 2
    payload = next(event.payload for event in events if event.payload["lead_id"] == str(bob.pk))
    send = outreach.send_of(bob)
    assert payload["lead_email"] == "bob@acme.com"
    assert payload["first_name"] == "Bob"
    assert payload["campaign_id"] == str(outreach.campaign.pk)
    assert payload["campaign_name"] == outreach.campaign.name
    assert payload["step"] == 1
    assert payload["send_id"] == str(send.pk)
    assert payload["subject"] == send.subject
    assert payload["inbox_email"] == outreach.inbox.email
    assert payload["message_id"] == send.message_id
    assert {event.ordering_key for event in events} == {str(bob.pk), str(ann.pk)}
    assert Delivery.objects.filter(endpoint=endpoint).count() == 2


def test_a_hard_bounce_and_a_soft_one_are_email_bounced_events(outreach):
    bob, ann = _sent(outreach, "bob@acme.com", "ann@acme.com")
    services.lead_bounced(send=outreach.send_of(bob), hard=True, response="550 5.1.1 no user")
    services.lead_bounced(
        send=outreach.send_of(ann),
        hard=False,
        response="452 4.2.2 mailbox full",
        at=timezone.now(),
    )
    services.lead_bounced(send=outreach.send_of(bob), hard=True)  # again: ignored
    events = _events("email_bounced")
    assert [(e.payload["lead_email"], e.payload["bounce_type"]) for e in events] == [
        ("bob@acme.com", "hard"),
        ("ann@acme.com", "soft"),
    ]
    assert events[0].payload["response"] == "550 5.1.1 no user"
    assert events[0].payload["step"] == 1


def test_bounce_protection_pausing_a_campaign_is_a_campaign_paused_event(outreach, settings):
    settings.BOUNCE_PAUSE_MIN_SENDS = 2
    settings.BOUNCE_PAUSE_PERCENT = 20
    bob, _ = _sent(outreach, "bob@acme.com", "ann@acme.com")
    services.lead_bounced(send=outreach.send_of(bob), hard=True)
    (event,) = _events("campaign_paused")
    assert event.payload["paused_by"] == "bounce_protection"
    assert "1 of 2 emails bounced" in event.payload["reason"]
    assert event.payload["campaign_name"] == outreach.campaign.name


def test_pausing_by_hand_is_a_campaign_paused_event(outreach, api):
    response = api.patch(
        f"/api/v1/campaigns/{outreach.campaign.pk}", {"status": "paused"}, format="json"
    )
    assert response.status_code == 200
    (event,) = _events("campaign_paused")
    assert event.payload["paused_by"] == "user"
    api.patch(f"/api/v1/campaigns/{outreach.campaign.pk}", {"name": "Renamed"}, format="json")
    assert len(_events("campaign_paused")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_change_with_events_is_answered_when_the_broker_is_down(alice, api, broker_down):
    # The change and its events are committed; webhooks.tick delivers them (every 10 s).
    campaign = Campaign.objects.create(workspace=alice.workspace, name="Q3", status="active")
    WebhookEndpoint.objects.create(
        workspace=alice.workspace, url="https://hooks.example.com/", secret="whsec_c2VjcmV0"
    )
    response = api.patch(f"/api/v1/campaigns/{campaign.pk}", {"status": "paused"}, format="json")
    assert response.status_code == 200, response.content
    (event,) = _events("campaign_paused")
    assert Delivery.objects.filter(event=event, status="pending").count() == 1


def test_a_positive_reply_is_reply_received_lead_labeled_and_lead_interested(outreach):
    (bob,) = _sent(outreach, "bob@acme.com")
    at = timezone.now()
    services.lead_reply_received(lead=bob, received_at=at, label="interested", is_positive=True)
    assert [event.type for event in _events()][-3:] == [
        "reply_received",
        "lead_labeled",
        "lead_interested",
    ]
    reply = _events("reply_received")[0].payload
    assert reply["label"] == "interested"
    assert reply["is_positive"] is True
    assert reply["step"] == 1
    # The same reply synced again tells nothing new.
    services.lead_reply_received(lead=bob, received_at=at, label="interested", is_positive=True)
    assert len(_events("reply_received")) == 1


def test_an_override_of_the_label_is_lead_labeled_and_a_new_positive_is_interested(outreach):
    (bob,) = _sent(outreach, "bob@acme.com")
    services.lead_reply_received(
        lead=bob, received_at=timezone.now(), label="not_interested", is_positive=False
    )
    assert not _events("lead_interested")
    services.lead_relabel(lead=bob, label="meeting_requested", is_positive=True)
    labeled = _events("lead_labeled")[-1].payload
    assert labeled["source"] == "override"
    assert labeled["previous_label"] == "not_interested"
    assert labeled["label"] == "meeting_requested"
    assert len(_events("lead_interested")) == 1
    services.lead_relabel(lead=bob, label="meeting_requested", is_positive=True)  # no change
    assert len(_events("lead_labeled")) == 2


def test_an_unsubscribe_is_one_lead_unsubscribed_event(outreach):
    (bob,) = _sent(outreach, "bob@acme.com")
    services.lead_unsubscribe(lead=bob)
    services.lead_unsubscribe(lead=bob)
    (event,) = _events("lead_unsubscribed")
    assert event.payload["lead_email"] == "bob@acme.com"


def test_an_automatic_reply_is_an_auto_reply_received_event(outreach):
    (bob,) = _sent(outreach, "bob@acme.com")
    services.lead_auto_replied(
        lead=bob,
        kind=AutoReply.OUT_OF_OFFICE,
        received_at=timezone.now(),
        back_on=timezone.now().date(),
    )
    (event,) = _events("auto_reply_received")
    assert event.payload["kind"] == "out_of_office"
    assert event.payload["back_on"] == timezone.now().date().isoformat()


def test_a_campaign_whose_leads_are_all_done_completes_once(outreach):
    bob, ann = _sent(outreach, "bob@acme.com", "ann@acme.com")
    services.lead_unsubscribe(lead=bob)
    services.campaign_progress_refresh(campaign_id=outreach.campaign.pk, force=True)
    assert not _events("campaign_completed")
    services.lead_unsubscribe(lead=ann)
    services.campaign_progress_refresh(campaign_id=outreach.campaign.pk, force=True)
    services.campaign_progress_refresh(campaign_id=outreach.campaign.pk, force=True)
    (event,) = _events("campaign_completed")
    assert event.payload["campaign_id"] == str(outreach.campaign.pk)
    assert Campaign.objects.get(pk=outreach.campaign.pk).progress == 100


def test_an_inbox_in_error_and_back_are_inbox_error_and_inbox_recovered(outreach):
    inbox = outreach.inbox
    inbox_services.inbox_mark_error(inbox=inbox, error="SMTP login failed: bad password")
    inbox_services.inbox_mark_error(inbox=inbox, error="SMTP login failed: bad password")
    (error,) = _events("inbox_error")
    assert error.payload["inbox_email"] == inbox.email
    assert error.payload["error"] == "SMTP login failed: bad password"

    Inbox.objects.filter(pk=inbox.pk).update(connection_status=Inbox.ConnectionStatus.PENDING)
    inbox_services.inbox_check_connection(inbox_id=inbox.pk)
    assert Inbox.objects.get(pk=inbox.pk).connection_status == "connected"
    (recovered,) = _events("inbox_recovered")
    assert recovered.payload["inbox_id"] == str(inbox.pk)


def test_a_change_rolled_back_leaves_no_event(outreach):
    (bob,) = _sent(outreach, "bob@acme.com")
    before = Event.objects.count()

    class Boom(Exception):
        pass

    def unsubscribe_then_fail() -> None:
        with transaction.atomic():
            services.lead_unsubscribe(lead=bob)
            raise Boom

    with pytest.raises(Boom):
        unsubscribe_then_fail()
    assert Event.objects.count() == before
    assert not Lead.objects.get(pk=bob.pk).is_unsubscribed
