"""Issue 9, finding 1: email header injection through names and merge-tag values.

Each test tries one way in, then sends for real (send_due, the in-process aiosmtpd server)
and reads what the server received: the raw bytes, parsed back with the standard library,
hold exactly the headers Reachkit writes, for exactly the intended recipient.
"""

import io
import json
from email import message_from_bytes, policy

from django.core.management import call_command

from campaigns.models import Send, Variant
from inboxes.models import Inbox
from leads.models import Lead
from tests.campaigns import conftest as campaigns
from tests.services.smtp_server import ReceivedMessage

# The sending tests' active campaign on real SMTP and IMAP servers (tests/campaigns/outreach.py).
outreach = campaigns.outreach

ATTACK = "Eve\r\nBcc: spy@evil.test"
# What a step-1 email of the outreach campaign carries, in order.
HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]


def send_json(client, method: str, url: str, payload: object):
    return client.generic(method, url, json.dumps(payload), content_type="application/json")


def assert_exactly_our_headers(received: ReceivedMessage, recipient: str) -> None:
    message = message_from_bytes(received.raw, policy=policy.default)
    assert message.keys() == HEADERS
    assert received.rcpt_tos == [recipient]
    assert b"evil.test" not in received.raw
    assert message.get_content_type() == "multipart/alternative"


def test_lead_name_with_crlf_cannot_add_a_bcc_header(outreach, api, tmp_path):
    leads = f"/api/v1/campaigns/{outreach.campaign.pk}/leads"

    single = send_json(api, "POST", leads, {"email": "eve@acme.com", "first_name": ATTACK})
    assert single.status_code == 422
    assert single.json()["details"]["first_name"] == ["This field must not contain a line break."]

    bulk = send_json(
        api,
        "POST",
        f"{leads}/bulk",
        {"leads": [{"email": "bob@acme.com", "first_name": "Bob"},
                   {"email": "eve@acme.com", "last_name": ATTACK}]},
    )  # fmt: skip
    assert bulk.json()["data"]["created"] == 1
    assert [error["index"] for error in bulk.json()["data"]["errors"]] == [1]

    bob = Lead.objects.get(email="bob@acme.com")
    patch = send_json(api, "PATCH", f"{leads}/{bob.pk}", {"last_name": ATTACK})
    assert patch.status_code == 422

    csv = tmp_path / "leads.csv"
    csv.write_bytes(b'email,first_name\neve@acme.com,"Eve\r\nBcc: spy@evil.test"\n')
    err = io.StringIO()
    call_command("import_leads", "--campaign", str(outreach.campaign.pk), str(csv),
                 stdout=io.StringIO(), stderr=err)  # fmt: skip
    assert err.getvalue() == "line 2: first_name: This field must not contain a line break.\n"

    assert list(Lead.objects.values_list("email", "first_name", "last_name")) == [
        ("bob@acme.com", "Bob", "")
    ]
    assert outreach.send_due()["sent"] == 1
    (received,) = outreach.received()
    assert_exactly_our_headers(received, "bob@acme.com")
    assert received.message["To"] == "Bob <bob@acme.com>"


def test_inbox_name_with_crlf_cannot_add_a_bcc_header(outreach, api):
    inbox = f"/api/v1/inboxes/{outreach.inbox.pk}"
    for field in ("first_name", "last_name", "reply_to"):
        response = send_json(api, "PATCH", inbox, {field: ATTACK})
        assert response.status_code == 422, field
    created = send_json(
        api,
        "POST",
        "/api/v1/inboxes",
        {"email": "eve@acme.com", "first_name": ATTACK,
         "smtp": {"host": "smtp.acme.com", "port": 587, "username": "e", "password": "p",
                  "security": "starttls"},
         "imap": {"host": "imap.acme.com", "port": 993, "username": "e", "password": "p",
                  "security": "ssl"}},
    )  # fmt: skip
    assert created.status_code == 422
    assert Inbox.objects.count() == 1
    outreach.add_leads("bob@acme.com")

    assert outreach.send_due()["sent"] == 1
    (received,) = outreach.received()
    assert_exactly_our_headers(received, "bob@acme.com")
    assert received.message["From"] == f"Sam Sender <{outreach.inbox.email}>"


def test_merge_tag_value_with_crlf_cannot_reach_the_subject_header(outreach, api):
    Variant.objects.filter(pk=outreach.step_one.pk).update(
        subject="Hi {{first_name}} from {{company}}"
    )
    response = send_json(
        api,
        "POST",
        f"/api/v1/campaigns/{outreach.campaign.pk}/leads",
        {"email": "bob@acme.com", "first_name": "Bob",
         "variables": {"company": "Acme\r\n\r\nBcc: spy@evil.test\u2028X-Evil: 1\t!"}},
    )  # fmt: skip
    assert response.status_code == 201  # a value may hold line breaks: it can fill a body

    assert outreach.send_due()["sent"] == 1
    (received,) = outreach.received()
    message = message_from_bytes(received.raw, policy=policy.default)
    assert message.keys() == HEADERS
    assert received.rcpt_tos == ["bob@acme.com"]
    assert message["Subject"] == "Hi Bob from Acme Bcc: spy@evil.test X-Evil: 1 !"


def test_names_stored_before_the_fix_cannot_inject_when_sent(outreach):
    """Rows written straight to the database, as data from before the checks could be: the
    message is refused where it is built, the send fails with its reason, the rest go."""
    eve, _ = outreach.add_leads("eve@acme.com", "bob@acme.com")
    Lead.objects.filter(pk=eve.pk).update(first_name="Eve\r\n\r\nBcc: spy@evil.test")

    assert outreach.send_due() == {"sent": 1, "failed": 1, "deferred": 0}
    (received,) = outreach.received()
    assert_exactly_our_headers(received, "bob@acme.com")
    assert outreach.send_of(eve).status == Send.Status.FAILED
    assert outreach.send_of(eve).smtp_response == (
        "could not build the message: The recipient's name (To) must not contain a line break."
    )

    ann = outreach.add_leads("ann@acme.com")[0]
    Inbox.objects.filter(pk=outreach.inbox.pk).update(last_name="Sender\nBcc: spy@evil.test")
    assert outreach.send_due() == {"sent": 0, "failed": 1, "deferred": 0}
    assert len(outreach.received()) == 1
    assert "The sender's name (From) must not contain" in outreach.send_of(ann).smtp_response
