"""The Conversation API's index, show and update (GET, GET :id, PATCH :id)."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Send
from campaigns.services import sequence_create
from leads.models import Lead
from tests.inboxes.factories import InboxFactory
from tests.unibox.conversation_setup import (
    CONVERSATION_FIELDS,
    MESSAGE_FIELDS,
    URL,
    _media_in_tmp,  # noqa: F401
    lead_thread,
    make_sent,
)
from tests.unibox.factories import AttachmentFactory, ConversationFactory, MessageFactory
from unibox.models import Conversation, Message


def test_a_lead_conversation_shows_the_campaign_emails_it_got_and_the_reply_oldest_first(
    api, alice
):
    thread = lead_thread(alice.workspace)
    sequence_create(campaign=thread.campaign)
    skipped = make_sent(thread.lead, thread.inbox, 2, "", timezone.now() - timedelta(days=1))
    Send.objects.filter(pk=skipped.pk).update(status=Send.Status.SKIPPED)  # never went

    response = api.get(f"{URL}/{thread.conversation.pk}")

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == CONVERSATION_FIELDS
    assert data["id"] == str(thread.conversation.pk)
    assert data["label"] == "interested"
    assert data["is_positive"] is True
    assert data["lead_id"] == str(thread.lead.pk)
    outgoing, incoming = data["messages"]
    assert set(outgoing) == MESSAGE_FIELDS
    assert outgoing["direction"] == "outgoing"
    assert outgoing["subject"] == "Hi Lee"
    assert outgoing["text_body"].startswith("Hello Lee,\na quick question.")
    assert outgoing["html_body"].startswith("Hello Lee,<br>a quick question.")
    assert outgoing["from_email"] == thread.inbox.email
    assert outgoing["to_recipients"] == [{"email": "lee@example.com", "name": "Lee Lead"}]
    assert outgoing["inbox_id"] == str(thread.inbox.pk)
    assert outgoing["is_read"] is True
    assert outgoing["attachments"] == []
    assert incoming["direction"] == "incoming"
    assert incoming["subject"] == "RE: Hi Lee"
    assert incoming["from_email"] == "lee@example.com"
    assert incoming["text_body"] == "Sounds good, tell me more."
    assert incoming["is_read"] is False
    assert incoming["cc_recipients"] == []
    assert incoming["bcc_recipients"] == []
    assert incoming["email_date"].endswith("Z")


def test_a_send_of_a_deleted_variant_shows_its_subject_and_empty_bodies(api, alice):
    thread = lead_thread(alice.workspace)
    Send.objects.filter(pk=thread.sends[0].pk).update(variant=None)

    outgoing = api.get(f"{URL}/{thread.conversation.pk}").json()["data"]["messages"][0]

    assert (outgoing["subject"], outgoing["text_body"], outgoing["html_body"]) == ("Hi Lee", "", "")


def test_incoming_html_is_shown_sanitised_whoever_stored_it(api, alice):
    message = MessageFactory(
        conversation=ConversationFactory(workspace=alice.workspace),
        html_body='<p onclick="steal()">Hi<script>alert(1)</script><img src="https://t.co/p.gif">'
        '<a href="javascript:alert(1)">x</a></p>',
    )

    [shown] = api.get(f"{URL}/{message.conversation_id}").json()["data"]["messages"]

    html = shown["html_body"]
    assert "Hi" in html
    for unsafe in ("script", "onclick", "t.co", "javascript"):
        assert unsafe not in html


def test_attachments_are_listed_with_their_message(api, alice):
    attachment = AttachmentFactory(
        message__conversation=ConversationFactory(workspace=alice.workspace),
        filename="deck.pdf",
        content_type="application/pdf",
        content=b"%PDF-1.4 tiny",
    )

    [shown] = api.get(f"{URL}/{attachment.message.conversation_id}").json()["data"]["messages"]

    assert shown["attachments"] == [
        {
            "id": str(attachment.pk),
            "filename": "deck.pdf",
            "content_type": "application/pdf",
            "size": 13,
        }
    ]


def test_an_api_conversation_has_no_lead_and_no_label(api, alice):
    conversation = ConversationFactory(workspace=alice.workspace)
    MessageFactory(conversation=conversation, direction=Message.Direction.OUTGOING, is_read=True)

    data = api.get(f"{URL}/{conversation.pk}").json()["data"]

    assert data["lead_id"] is None
    assert data["label"] is None
    assert data["is_positive"] is False
    assert [m["direction"] for m in data["messages"]] == ["outgoing"]


# --- Index ---------------------------------------------------------------------------------


def test_the_list_is_newest_activity_first_twenty_a_page(api, alice):
    now = timezone.now()
    conversations = [
        ConversationFactory(workspace=alice.workspace, last_message_at=now - timedelta(hours=i))
        for i in range(21)
    ]

    first = api.get(URL).json()
    second = api.get(URL, {"page": 2}).json()

    assert [c["id"] for c in first["data"]] == [str(c.pk) for c in conversations[:20]]
    assert first["metadata"] == {"page": 1, "page_size": 20, "total_count": 21, "total_pages": 2}
    assert [c["id"] for c in second["data"]] == [str(conversations[20].pk)]
    assert api.get(URL, {"page_size": 500}).json()["metadata"]["page_size"] == 100
    assert api.get(URL, {"page": 9}).json()["data"] == []


def test_the_list_filters_by_folder(api, alice):
    primary = ConversationFactory(workspace=alice.workspace, folder="primary")
    others = ConversationFactory(workspace=alice.workspace, folder="others")

    def ids(folder: str) -> list[str]:
        return [c["id"] for c in api.get(URL, {"folder": folder}).json()["data"]]

    assert ids("primary") == [str(primary.pk)]
    assert ids("others") == [str(others.pk)]


@pytest.mark.parametrize("folder", ["", "inbox", "PRIMARY", "x" * 300, "\x00"])
def test_an_unknown_folder_is_a_422(api, alice, folder):
    response = api.get(URL, {"folder": folder})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert "folder" in response.json()["details"]


def test_search_finds_subjects_addresses_and_text(api, alice):
    thread = lead_thread(alice.workspace, email="zed@zork.example")
    by_text = MessageFactory(
        conversation=ConversationFactory(workspace=alice.workspace, subject="Pricing"),
        text_body="Could you send the PDF brochure?",
        from_email="ann@acme.example",
        to_recipients=[{"email": "ops@target.example", "name": "Ops"}],
    ).conversation
    ConversationFactory(workspace=alice.workspace, subject="Unrelated")
    ConversationFactory(workspace=alice.workspace, subject="Hi Lee")
    # Another workspace's match is not listed.
    MessageFactory(text_body="brochure", conversation__workspace=InboxFactory().workspace)

    def found(term: str) -> set[str]:
        response = api.get(URL, {"search": term})
        assert response.status_code == 200
        return {c["id"] for c in response.json()["data"]}

    assert found("BROCHURE") == {str(by_text.pk)}
    assert found("pricing") == {str(by_text.pk)}
    assert found("ann@acme") == {str(by_text.pk)}
    assert found("target.example") == {str(by_text.pk)}
    assert found("zork.example") == {str(thread.conversation.pk)}
    assert found("nothing-like-it") == set()


@pytest.mark.parametrize("term", ["a\x00b", "x" * 201])
def test_a_bad_search_term_is_a_422(api, alice, term):
    response = api.get(URL, {"search": term})

    assert response.status_code == 422
    assert "search" in response.json()["details"]


def test_an_unknown_sort_is_a_422(api, alice):
    assert api.get(URL, {"sort_by": "subject"}).status_code == 422


def test_the_list_costs_the_same_queries_for_one_conversation_or_a_full_page(api, alice):
    def fill(count: int) -> None:
        for _i in range(count):
            thread = lead_thread(alice.workspace, email=f"lead{uuid.uuid4().hex[:8]}@example.com")
            AttachmentFactory(message=thread.reply)

    fill(1)
    with CaptureQueriesContext(connection) as one:
        assert len(api.get(URL).json()["data"]) == 1
    fill(19)
    with CaptureQueriesContext(connection) as page:
        data = api.get(URL).json()["data"]
    assert len(data) == 20
    assert all(len(c["messages"]) == 2 for c in data)
    assert all(len(c["messages"][1]["attachments"]) == 1 for c in data)
    # The full page also counts the total (a short first page is the whole list).
    assert len(page.captured_queries) <= len(one.captured_queries) + 1, [
        q["sql"] for q in page.captured_queries
    ]


# --- Show ------------------------------------------------------------------------------------


def test_another_workspaces_conversation_is_a_404(api, alice, charlie):
    theirs = lead_thread(charlie.workspace)

    response = api.get(f"{URL}/{theirs.conversation.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert api.get(f"{URL}/{uuid.uuid4()}").status_code == 404
    assert api.get(f"{URL}/not-a-uuid").status_code == 404
    assert str(theirs.conversation.pk) not in str(api.get(URL).json())


# --- Update ----------------------------------------------------------------------------------


def test_a_label_override_wins_on_the_conversation_its_lead_and_analytics(api, alice):
    thread = lead_thread(alice.workspace, label="not_interested")
    Lead.objects.filter(pk=thread.lead.pk).update(
        status=Lead.Status.REPLIED, replied_at=timezone.now(), label="not_interested"
    )
    Send.objects.filter(pk=thread.sends[0].pk).update(replied_at=timezone.now())

    response = api.patch(
        f"{URL}/{thread.conversation.pk}", {"label_override": "meeting_requested"}, format="json"
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["label"], data["is_positive"]) == ("meeting_requested", True)
    assert len(data["messages"]) == 2
    lead = Lead.objects.get(pk=thread.lead.pk)
    assert (lead.label, lead.is_positive) == ("meeting_requested", True)
    stats = api.get(f"/api/v1/campaigns/{thread.campaign.pk}/analytics").json()["data"]
    assert stats["positive_replies"] == 1

    cleared = api.patch(f"{URL}/{thread.conversation.pk}", {"label_override": None}, format="json")

    assert (cleared.json()["data"]["label"], cleared.json()["data"]["is_positive"]) == (
        "not_interested",
        False,
    )
    lead.refresh_from_db()
    assert (lead.label, lead.is_positive) == ("not_interested", False)
    assert Conversation.objects.get(pk=thread.conversation.pk).label == "not_interested"
    stats = api.get(f"/api/v1/campaigns/{thread.campaign.pk}/analytics").json()["data"]
    assert stats["positive_replies"] == 0


def test_is_read_marks_every_message_of_the_conversation(api, alice):
    thread = lead_thread(alice.workspace)
    MessageFactory(conversation=thread.conversation, is_read=True)

    unread = api.patch(f"{URL}/{thread.conversation.pk}", {"is_read": False}, format="json")

    assert [m["is_read"] for m in unread.json()["data"]["messages"]] == [False, False, False]
    assert not Message.objects.filter(conversation=thread.conversation, is_read=True).exists()

    read = api.patch(f"{URL}/{thread.conversation.pk}", {"is_read": True}, format="json")

    assert [m["is_read"] for m in read.json()["data"]["messages"]] == [True, True, True]
    assert read.json()["data"]["label"] == "interested"  # omitted: unchanged


def test_an_empty_update_changes_nothing(api, alice):
    thread = lead_thread(alice.workspace)

    response = api.patch(f"{URL}/{thread.conversation.pk}", {}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["label"] == "interested"
    assert Conversation.objects.get(pk=thread.conversation.pk).label_override is None


@pytest.mark.parametrize(
    "body",
    [
        {"label_override": "spam"},
        {"label_override": ""},
        {"label_override": 3},
        {"label_override": ["interested"]},
        {"label_override": "interested\x00"},
        {"label_override": "x" * 100_000},
        {"is_read": "true"},
        {"is_read": 1},
        {"is_read": None},
    ],
)
def test_a_bad_update_is_a_422_and_changes_nothing(api, alice, body):
    thread = lead_thread(alice.workspace)

    response = api.patch(f"{URL}/{thread.conversation.pk}", body, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["details"]) == set(body)
    conversation = Conversation.objects.get(pk=thread.conversation.pk)
    assert conversation.label_override is None
    assert Message.objects.get(pk=thread.reply.pk).is_read is False


def test_a_body_that_is_not_json_is_refused_in_the_envelope(api, alice):
    thread = lead_thread(alice.workspace)

    response = api.patch(
        f"{URL}/{thread.conversation.pk}", b"\xff\xfe{", content_type="application/json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"error", "code", "details"}


def test_another_workspaces_conversation_cannot_be_updated(api, alice, charlie):
    theirs = lead_thread(charlie.workspace)

    response = api.patch(
        f"{URL}/{theirs.conversation.pk}",
        {"label_override": "interested", "is_read": True},
        format="json",
    )

    assert response.status_code == 404
    conversation = Conversation.objects.get(pk=theirs.conversation.pk)
    assert conversation.label_override is None
    assert conversation.campaign_emails_read is True
    assert Message.objects.get(pk=theirs.reply.pk).is_read is False
    assert Lead.objects.get(pk=theirs.lead.pk).label is None


def test_the_endpoints_need_a_key(client, alice):
    thread = lead_thread(alice.workspace)

    assert client.get(URL).status_code == 401
    assert client.get(f"{URL}/{thread.conversation.pk}").status_code == 401
    assert client.patch(f"{URL}/{thread.conversation.pk}", {}).status_code == 401


def test_an_api_conversation_takes_a_label_without_a_lead(api, alice):
    conversation = ConversationFactory(workspace=alice.workspace)

    response = api.patch(
        f"{URL}/{conversation.pk}", {"label_override": "interested"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["data"]["label"], response.json()["data"]["is_positive"]) == (
        "interested",
        True,
    )


def test_an_edit_of_the_variant_or_the_lead_shows_in_the_campaign_emails_next_time(api, alice):
    thread = lead_thread(alice.workspace)
    url = f"{URL}/{thread.conversation.pk}"
    assert api.get(url).json()["data"]["messages"][0]["text_body"].startswith("Hello Lee,")

    variant = thread.sends[0].variant
    variant.set_body("Good morning {{first_name}}.")
    variant.save()
    assert api.get(url).json()["data"]["messages"][0]["text_body"].startswith("Good morning Lee.")

    Lead.objects.filter(pk=thread.lead.pk).update(first_name="Leona")
    assert api.get(url).json()["data"]["messages"][0]["text_body"].startswith("Good morning Leona.")
