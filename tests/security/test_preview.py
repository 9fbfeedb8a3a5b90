"""A preview shows exactly what is sent, hostile values included (issue 9, finding 8)."""

from campaigns import services
from tests.campaigns.outreach import decoded_parts, running_outreach


def test_a_javascript_link_from_a_lead_value_is_stripped_from_the_preview_as_when_sent(
    alice, mailbox, settings
):
    settings.SEND_GAP_SECONDS = (0, 0)
    with running_outreach(alice.workspace, mailbox) as outreach:
        variant = outreach.step_one
        services.variant_update(variant=variant, body_html='See <a href="{{website}}">our site</a>')
        (lead,) = outreach.add_leads("ada@acme.com", variables={"website": "javascript:alert(1)"})
        url = f"/api/v1/campaigns/{outreach.campaign.pk}/variants/{variant.pk}/preview"
        payload = {"lead_id": str(lead.pk), "inbox_id": str(outreach.inbox.pk)}

        preview = alice.client.post(url, payload, format="json").json()["data"]
        outreach.send_due()

        assert "javascript:" not in preview["body_html"]
        (message,) = outreach.received_by("ada@acme.com")
        assert decoded_parts(message) == {
            "text/plain": preview["body_text"],
            "text/html": preview["body_html"],
        }
