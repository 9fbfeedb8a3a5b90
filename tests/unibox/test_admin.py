"""The unified inbox's back office: conversations with their messages, filtered by label and
folder; a person's label set here goes through the API's service (it reaches the lead)."""

import pytest

from leads.models import Lead
from tests.reachkit.admin_personas import AdminBrowser, staff_member
from tests.unibox.conversation_setup import _media_in_tmp, lead_thread  # noqa: F401
from tests.unibox.factories import AttachmentFactory, ConversationFactory, MessageFactory
from unibox.models import Attachment, Conversation, Message

ADMIN = "/admin/unibox/conversation/"


@pytest.fixture
def dana(alice) -> AdminBrowser:
    return AdminBrowser(staff_member(alice.workspace))


def test_the_list_filters_by_label_and_folder(dana, alice):
    ConversationFactory(workspace=alice.workspace, subject="Keen one", label="interested")
    ConversationFactory(
        workspace=alice.workspace, subject="Away one", label="out_of_office", folder="others"
    )
    ConversationFactory(
        workspace=alice.workspace, subject="Overridden one", label_override="interested"
    )

    def shown(**query: str) -> set[str]:
        page = dana.get(ADMIN, query).content.decode()
        return {s for s in ("Keen one", "Away one", "Overridden one") if s in page}

    assert shown() == {"Keen one", "Away one", "Overridden one"}
    assert shown(label__exact="interested") == {"Keen one"}
    assert shown(label_override__exact="interested") == {"Overridden one"}
    assert shown(folder__exact="others") == {"Away one"}
    assert shown(folder__exact="primary") == {"Keen one", "Overridden one"}


def test_the_change_page_shows_the_messages_and_campaign_emails(dana, alice):
    thread = lead_thread(alice.workspace)
    AttachmentFactory(message=thread.reply, filename="brochure.pdf")

    response = dana.get(f"{ADMIN}{thread.conversation.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "RE: Hi Lee" in page  # the reply
    assert "Sounds good, tell me more." in page
    assert "brochure.pdf" in page
    assert "step 1 · Hi Lee" in page  # the campaign email it answers
    # Messages are read only: no form fields for them.
    assert 'name="messages-0-subject"' not in page


def test_a_label_set_in_the_admin_reaches_the_lead(dana, alice):
    thread = lead_thread(alice.workspace, label="neutral")
    url = f"{ADMIN}{thread.conversation.pk}/change/"

    response = dana.post(
        url,
        {
            "label_override": "meeting_requested",
            "messages-TOTAL_FORMS": 1,
            "messages-INITIAL_FORMS": 1,
            "messages-MIN_NUM_FORMS": 0,
            "messages-MAX_NUM_FORMS": 1000,
            "messages-0-id": str(thread.reply.pk),
            "messages-0-conversation": str(thread.conversation.pk),
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    conversation = Conversation.objects.get(pk=thread.conversation.pk)
    assert conversation.label_override == "meeting_requested"
    lead = Lead.objects.get(pk=thread.lead.pk)
    assert (lead.label, lead.is_positive) == ("meeting_requested", True)
    # The messages were not written from the form.
    assert Message.objects.get(pk=thread.reply.pk).subject == "RE: Hi Lee"


def test_an_unknown_label_is_refused_on_the_form(dana, alice):
    thread = lead_thread(alice.workspace)

    response = dana.post(
        f"{ADMIN}{thread.conversation.pk}/change/",
        {
            "label_override": "spam",
            "messages-TOTAL_FORMS": 0,
            "messages-INITIAL_FORMS": 0,
            "messages-MIN_NUM_FORMS": 0,
            "messages-MAX_NUM_FORMS": 1000,
        },
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Conversation.objects.get(pk=thread.conversation.pk).label_override is None


def test_mark_unread_and_read_act_on_every_message(dana, alice):
    thread = lead_thread(alice.workspace)
    MessageFactory(conversation=thread.conversation, is_read=True)

    dana.post(ADMIN, {"action": "mark_unread", "_selected_action": [str(thread.conversation.pk)]})

    assert not Message.objects.filter(is_read=True).exists()
    assert Conversation.objects.get(pk=thread.conversation.pk).campaign_emails_read is False

    dana.post(ADMIN, {"action": "mark_read", "_selected_action": [str(thread.conversation.pk)]})

    assert not Message.objects.filter(is_read=False).exists()


def test_deleting_a_conversation_removes_its_messages_and_files(
    dana, alice, django_capture_on_commit_callbacks
):
    thread = lead_thread(alice.workspace)
    attachment = AttachmentFactory(message=thread.reply)
    storage, name = attachment.file.storage, attachment.file.name
    assert storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        response = dana.post(f"{ADMIN}{thread.conversation.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()
    assert not storage.exists(name)
    assert Lead.objects.filter(pk=thread.lead.pk).exists()


def test_another_workspaces_conversation_is_not_found(dana, charlie):
    theirs = lead_thread(charlie.workspace)

    assert f"{ADMIN}{theirs.conversation.pk}/change/" not in dana.get(ADMIN).content.decode()
    assert dana.get(f"{ADMIN}{theirs.conversation.pk}/change/").status_code == 302
