"""A lead's campaign emails in its conversation are the emails it got: sent for real by the
engine (aiosmtpd), then shown through the API, spintax and all."""

import pytest

from campaigns import services as campaign_services
from campaigns.models import Send
from campaigns.sending.services import send_rendered
from tests.campaigns.outreach import decoded_parts, running_outreach
from tests.unibox.conversation_setup import URL, _media_in_tmp  # noqa: F401
from tests.unibox.factories import ConversationFactory, MessageFactory

SPUN_SUBJECT = "{{SPINTAX|Hi|Hello|Hey|Greetings}} {{first_name}}"
SPUN_BODY = (
    "{{SPINTAX|Hello|Hi there|Good morning}} {{first_name}},<br>"
    "a {{SPINTAX|quick|short|brief}} question about {{company|your team}}."
)


@pytest.fixture
def outreach(alice, mailbox, settings):
    settings.SEND_GAP_SECONDS = (0, 0)
    with running_outreach(alice.workspace, mailbox) as outreach:
        yield outreach


def test_the_conversation_shows_each_campaign_email_as_the_lead_got_it(api, alice, outreach):
    campaign_services.variant_update(
        variant=outreach.step_one, subject=SPUN_SUBJECT, body_html=SPUN_BODY
    )
    leads = outreach.add_leads(*(f"person{i}@example.com" for i in range(6)), variables={})
    assert outreach.send_due()["sent"] == 6
    outreach.advance(days=3)
    assert outreach.send_due()["sent"] == 6  # the follow-ups, "Re: " the first subject

    for lead in leads:
        conversation = ConversationFactory(
            workspace=alice.workspace, lead=lead, inbox=outreach.inbox
        )
        MessageFactory(conversation=conversation, from_email=lead.email)
        got = outreach.received_by(lead.email)
        assert len(got) == 2

        shown = api.get(f"{URL}/{conversation.pk}").json()["data"]["messages"]

        assert [m["direction"] for m in shown] == ["outgoing", "outgoing", "incoming"]
        for wire, message in zip(got, shown[:2], strict=True):
            parts = decoded_parts(wire)
            assert message["subject"] == wire["Subject"]
            assert message["text_body"] == parts["text/plain"].rstrip("\n")
            assert message["html_body"] == parts["text/html"].rstrip("\n")
            assert message["from_email"] == outreach.inbox.email
            assert message["to_recipients"][0]["email"] == lead.email
        assert shown[1]["subject"] == f"Re: {shown[0]['subject']}"


def test_send_rendered_is_the_same_every_time(alice, outreach):
    campaign_services.variant_update(
        variant=outreach.step_one, subject=SPUN_SUBJECT, body_html=SPUN_BODY
    )
    [lead] = outreach.add_leads("person@example.com")
    outreach.send_due()
    send = Send.objects.select_related("lead").get(lead=lead)

    first = send_rendered(send=send)

    assert [send_rendered(send=send) for _ in range(5)] == [first] * 5
    assert (
        decoded_parts(outreach.received_by(lead.email)[0])["text/plain"].rstrip("\n") == first.text
    )
