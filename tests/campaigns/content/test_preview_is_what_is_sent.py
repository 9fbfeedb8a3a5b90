"""A lead's preview is byte for byte the email the sender hands to SMTP, hostile values included.

Both go through `rendering.render_variant` (values filled, HTML sanitised again, signature
added); these tests hold them to it against the real SMTP sink.
"""

import html
import re

from campaigns import services
from campaigns.content.html_body import ALLOWED_TAGS, URL_SCHEMES
from tests.campaigns.outreach import decoded_parts

HOSTILE = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "&#106;avascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    '" onmouseover="alert(1)',
    "x' onerror='alert(1)",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    '<b>bold</b><a href="javascript:alert(1)">click</a>',
    'https://ok.test/" onclick="alert(1)',
    "https://ok.test/{{first_name}}",
    "line one\r\nline two\rthree\n",
    "Smith & Co <sales@acme.test>",
]

SUBJECT = "About {{website}}"
BODY = (
    "Hi {{first_name}},<br>"
    '<a href="{{website}}">site</a> '
    '<a href="https://search.test/?q={{website}}">search</a> '
    '<img src="{{website}}" alt="{{website}}"> '
    "{{LOOM|website|no video}}<br>"
    "{{website}}"
)
SIGNATURE = 'Sam <a href="javascript:alert(1)">Sender</a>\n<img src="data:x" onerror="alert(1)">'

_TAG = re.compile(r"<([a-z0-9]+)([^>]*)>")
_ATTRIBUTE = re.compile(r'\s([a-z-]+)="([^"]*)"')


def assert_inert(body_html: str) -> None:
    """Only allowed tags; no event handlers; every URL of an allowed scheme, or relative."""
    for name, attributes in _TAG.findall(body_html):
        assert name in ALLOWED_TAGS | {"br"}, name
        for attribute, value in _ATTRIBUTE.findall(attributes):
            assert not attribute.startswith("on"), attribute
            if attribute in ("href", "src"):
                scheme = re.match(r"\s*([a-z][a-z0-9+.-]*):", html.unescape(value), re.I)
                assert scheme is None or scheme.group(1).lower() in URL_SCHEMES, value


def test_previews_of_hostile_values_are_exactly_the_emails_sent(outreach, api):
    services.campaign_update(campaign=outreach.campaign, options={"unsubscribe_option": True})
    variant = outreach.step_one
    services.variant_update(variant=variant, subject=SUBJECT, body_html=BODY)
    outreach.inbox.signature = SIGNATURE
    outreach.inbox.save()
    leads = [
        outreach.add_leads(f"lead{n}@acme.com", variables={"website": value})[0]
        for n, value in enumerate(HOSTILE)
    ]
    url = f"/api/v1/campaigns/{outreach.campaign.pk}/variants/{variant.pk}/preview"
    previews = {}
    for lead in leads:
        payload = {"lead_id": str(lead.pk), "inbox_id": str(outreach.inbox.pk)}
        response = api.post(url, payload, format="json")
        assert response.status_code == 200
        previews[lead.email] = response.json()["data"]

    assert outreach.send_due() == {"sent": len(HOSTILE), "failed": 0, "deferred": 0}

    for lead in leads:
        preview = previews[lead.email]
        (message,) = outreach.received_by(lead.email)
        assert message["Subject"] == preview["subject"]
        assert decoded_parts(message) == {
            "text/plain": preview["body_text"],
            "text/html": preview["body_html"],
        }
        assert_inert(preview["body_html"])
        assert "<script" not in preview["body_html"]


def test_a_text_only_campaigns_preview_text_is_the_email_sent(outreach, api):
    services.campaign_update(campaign=outreach.campaign, options={"text_only": True})
    services.variant_update(variant=outreach.step_one, body_html=BODY)
    outreach.inbox.signature = SIGNATURE
    outreach.inbox.save()
    (lead,) = outreach.add_leads("ada@acme.com", variables={"website": HOSTILE[-2]})
    url = f"/api/v1/campaigns/{outreach.campaign.pk}/variants/{outreach.step_one.pk}/preview"
    payload = {"lead_id": str(lead.pk), "inbox_id": str(outreach.inbox.pk)}
    preview = api.post(url, payload, format="json").json()["data"]

    outreach.send_due()

    (message,) = outreach.received_by("ada@acme.com")
    # One part, the whole body: it ends with the line end that ends every message.
    assert decoded_parts(message) == {"text/plain": preview["body_text"] + "\n"}
