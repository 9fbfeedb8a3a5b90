"""Shared set-up of the Conversation API tests: a lead that got campaign emails and replied."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Send, Variant
from inboxes.models import Inbox
from leads.models import Lead
from reachkit.models import Workspace
from tests.campaigns.factories import CampaignFactory
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory
from tests.unibox.factories import ConversationFactory, MessageFactory
from unibox.models import Conversation, Message

URL = "/api/v1/unibox/conversations"

CONVERSATION_FIELDS = {
    "id",
    "label",
    "is_positive",
    "lead_id",
    "messages",
    "created_at",
    "updated_at",
}
MESSAGE_FIELDS = {
    "direction",
    "inbox_id",
    "subject",
    "text_body",
    "html_body",
    "from_email",
    "to_recipients",
    "cc_recipients",
    "bcc_recipients",
    "email_date",
    "is_read",
    "attachments",
}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@dataclass
class LeadThread:
    """A lead that got step 1 (and maybe step 2) and answered: its conversation."""

    campaign: Campaign
    inbox: Inbox
    lead: Lead
    sends: list[Send]
    conversation: Conversation
    reply: Message


def make_sent(lead: Lead, inbox: Inbox, step: int, subject: str, sent_at: datetime) -> Send:
    variant = Variant.objects.get(sequence__campaign=lead.campaign, sequence__step=step)
    return Send.objects.create(
        campaign=lead.campaign,
        lead=lead,
        step=step,
        sequence=variant.sequence,
        variant=variant,
        inbox=inbox,
        from_email=inbox.email,
        to_email=lead.email,
        status=Send.Status.SENT,
        sent_at=sent_at,
        message_id=f"<step{step}.{lead.pk.hex}@acme.com>",
        subject=subject,
    )


def lead_thread(
    workspace: Workspace,
    *,
    campaign: Campaign | None = None,
    inbox: Inbox | None = None,
    email: str = "lee@example.com",
    label: str | None = "interested",
    at: datetime | None = None,
) -> LeadThread:
    """Step 1 sent two days before `at`, the lead's reply at `at` (now by default)."""
    at = at or timezone.now()
    inbox = inbox or InboxFactory(
        workspace=workspace, connection_status=Inbox.ConnectionStatus.CONNECTED
    )
    if campaign is None:
        campaign = CampaignFactory(workspace=workspace)
        variant = Variant.objects.get(sequence__campaign=campaign, sequence__step=1)
        variant.subject = "Hi {{first_name}}"
        variant.set_body("Hello {{first_name}},<br>a quick question.")
        variant.save()
    lead = LeadFactory(campaign=campaign, email=email, first_name="Lee", last_name="Lead")
    send = make_sent(lead, inbox, 1, "Hi Lee", at - timedelta(days=2))
    conversation = ConversationFactory(
        workspace=workspace,
        lead=lead,
        inbox=inbox,
        subject="Hi Lee",
        label=label,
        last_message_at=at,
    )
    reply = MessageFactory(
        conversation=conversation,
        subject="RE: Hi Lee",
        from_email=lead.email,
        from_name="Lee Lead",
        to_recipients=[{"email": inbox.email, "name": "Sam Sender"}],
        in_reply_to=send.message_id,
        references=send.message_id,
        email_date=at,
        label=label,
    )
    return LeadThread(campaign, inbox, lead, [send], conversation, reply)
