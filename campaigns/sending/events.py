"""What the sending engine tells webhooks and the event feed (reachkit/webhooks/events.py).

Each function writes its events in the caller's transaction, the one that makes the change,
and builds the payload a CRM needs: the ids, the lead's address and names, the campaign's
name, the step. One lead's events share an ordering key (the lead's id), so each endpoint
receives them in the order they happened.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from campaigns.models import Campaign, Send
from leads.models import Lead
from reachkit.webhooks.events import NewEvent, emit, emit_many
from reachkit.webhooks.models import EventType


def lead_fields(lead: Lead, campaign: Campaign) -> dict[str, Any]:
    # Ids as text here: the JSON encoder's fallback for UUIDs is most of its time.
    return {
        "lead_id": str(lead.pk),
        "lead_email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company": (lead.variables or {}).get("company"),
        "campaign_id": str(campaign.pk),
        "campaign_name": campaign.name,
    }


def _lead_event(lead: Lead, campaign: Campaign, type: EventType, **fields: Any) -> NewEvent:
    return NewEvent(
        workspace_id=campaign.workspace_id,
        type=type,
        payload={**lead_fields(lead, campaign), **fields},
        ordering_key=str(lead.pk),
    )


def _send_fields(send: Send) -> dict[str, Any]:
    return {
        "send_id": str(send.pk),
        "step": send.step,
        "subject": send.subject,
        "message_id": send.message_id,
        "inbox_id": str(send.inbox_id) if send.inbox_id else None,
        "inbox_email": send.inbox.email if send.inbox_id and send.inbox else None,
    }


def emails_sent(sends: Iterable[tuple[Send, str]], at: datetime) -> None:
    """`email_sent` for each (send, subject) that left, in one statement."""
    sent_at = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    emit_many(
        [
            _lead_event(
                send.lead,
                send.campaign,
                EventType.EMAIL_SENT,
                **{**_send_fields(send), "subject": subject, "sent_at": sent_at},
            )
            for send, subject in sends
        ]
    )


def email_bounced(
    send: Send, *, lead: Lead, campaign: Campaign, hard: bool, response: str, at: datetime
) -> None:
    emit_many(
        [
            _lead_event(
                lead,
                campaign,
                EventType.EMAIL_BOUNCED,
                **_send_fields(send),
                bounce_type="hard" if hard else "soft",
                response=response,
                bounced_at=at,
            )
        ]
    )


def reply_received(
    lead: Lead,
    campaign: Campaign,
    *,
    received_at: datetime,
    label: str | None,
    is_positive: bool,
    answered: Send | None,
    previous_label: str | None,
    was_positive: bool,
) -> None:
    """`reply_received`, and `lead_labeled` / `lead_interested` when the label changed or
    the lead became positive."""
    events = [
        _lead_event(
            lead,
            campaign,
            EventType.REPLY_RECEIVED,
            received_at=received_at,
            label=label,
            is_positive=is_positive,
            step=answered.step if answered else None,
            send_id=answered.pk if answered else None,
        )
    ]
    events += _label_events(
        lead, campaign, label, is_positive, previous_label, was_positive, source="classifier"
    )
    emit_many(events)


def lead_labeled(
    lead: Lead,
    campaign: Campaign,
    *,
    label: str | None,
    is_positive: bool,
    previous_label: str | None,
    was_positive: bool,
) -> None:
    """A person's override of a lead's label."""
    emit_many(
        _label_events(
            lead, campaign, label, is_positive, previous_label, was_positive, source="override"
        )
    )


def _label_events(
    lead: Lead,
    campaign: Campaign,
    label: str | None,
    is_positive: bool,
    previous_label: str | None,
    was_positive: bool,
    *,
    source: str,
) -> list[NewEvent]:
    events = []
    if label != previous_label or is_positive != was_positive:
        events.append(
            _lead_event(
                lead,
                campaign,
                EventType.LEAD_LABELED,
                label=label,
                previous_label=previous_label,
                is_positive=is_positive,
                source=source,
            )
        )
    if is_positive and not was_positive:
        events.append(_lead_event(lead, campaign, EventType.LEAD_INTERESTED, label=label))
    return events


def lead_unsubscribed(lead: Lead, campaign: Campaign, at: datetime) -> None:
    emit_many([_lead_event(lead, campaign, EventType.LEAD_UNSUBSCRIBED, unsubscribed_at=at)])


def auto_reply_received(
    lead: Lead,
    campaign: Campaign,
    *,
    kind: str,
    received_at: datetime,
    back_on: date | None,
) -> None:
    emit_many(
        [
            _lead_event(
                lead,
                campaign,
                EventType.AUTO_REPLY_RECEIVED,
                kind=kind,
                received_at=received_at,
                back_on=back_on,
            )
        ]
    )


def campaign_paused(campaign: Campaign, *, reason: str, by: str) -> None:
    """`by`: `bounce_protection` or `user`."""
    emit(
        workspace_id=campaign.workspace_id,
        type=EventType.CAMPAIGN_PAUSED,
        payload={
            "campaign_id": campaign.pk,
            "campaign_name": campaign.name,
            "reason": reason,
            "paused_by": by,
        },
        ordering_key=campaign.pk,
    )


def campaigns_completed(campaigns: Sequence[Campaign]) -> None:
    emit_many(
        [
            NewEvent(
                workspace_id=campaign.workspace_id,
                type=EventType.CAMPAIGN_COMPLETED,
                payload={"campaign_id": campaign.pk, "campaign_name": campaign.name},
                ordering_key=str(campaign.pk),
            )
            for campaign in campaigns
        ]
    )
