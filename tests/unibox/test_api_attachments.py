"""Attachment download: the stored bytes, their type, a safe file name, and no other
workspace's or conversation's file."""

import uuid
from urllib.parse import quote

import pytest

from tests.unibox.conversation_setup import URL, _media_in_tmp  # noqa: F401
from tests.unibox.factories import AttachmentFactory, ConversationFactory, MessageFactory

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def url_of(attachment) -> str:
    return f"{URL}/{attachment.message.conversation_id}/attachments/{attachment.pk}"


@pytest.fixture
def conversation(alice):
    return ConversationFactory(workspace=alice.workspace)


def test_an_attachment_downloads_byte_for_byte_with_its_type_and_name(api, conversation):
    attachment = AttachmentFactory(
        message__conversation=conversation,
        filename="Q3 deck.pdf",
        content_type="application/pdf",
        content=PDF,
    )

    response = api.get(url_of(attachment))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Q3 deck.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("accept", ["application/pdf", "image/*", "*/*", "text/html"])
def test_any_accept_header_gets_the_file(api, conversation, accept):
    attachment = AttachmentFactory(message__conversation=conversation, content=PDF)

    response = api.get(url_of(attachment), HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF


@pytest.mark.parametrize(
    ("stored", "ascii_name", "utf8_name"),
    [
        ("Prüfbericht – März.pdf", "Pr_fbericht _ M_rz.pdf", "Prüfbericht – März.pdf"),
        ("报价单.xlsx", "___.xlsx", "报价单.xlsx"),
        ('evil"; filename=x.exe', "evil_; filename=x.exe", None),
        ("a\r\nSet-Cookie: x=1.txt", "a__Set-Cookie: x=1.txt", None),
        ("../../etc/passwd", "_.._etc_passwd", None),
        ("", "attachment", None),
    ],
)
def test_the_file_name_is_encoded_safely(api, conversation, stored, ascii_name, utf8_name):
    attachment = AttachmentFactory(message__conversation=conversation, filename=stored)

    response = api.get(url_of(attachment))

    assert response.status_code == 200
    expected = f'attachment; filename="{ascii_name}"'
    if utf8_name is not None:
        expected += f"; filename*=UTF-8''{quote(utf8_name, safe='')}"
    assert response["Content-Disposition"] == expected


@pytest.mark.parametrize(
    ("stored", "served"),
    [
        ("image/PNG", "image/png"),
        ("text/html", "text/html"),
        ("text/html\r\nSet-Cookie: a=b", "application/octet-stream"),
        ("", "application/octet-stream"),
        ("nonsense", "application/octet-stream"),
    ],
)
def test_the_content_type_is_the_senders_when_well_formed(api, conversation, stored, served):
    attachment = AttachmentFactory(message__conversation=conversation, content_type=stored)

    response = api.get(url_of(attachment))

    assert response["Content-Type"] == served
    # Never shown as a page of the API's origin, whatever its type.
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]


def test_another_workspaces_attachment_is_a_404(api, charlie):
    theirs = AttachmentFactory(
        message__conversation=ConversationFactory(workspace=charlie.workspace)
    )

    response = api.get(url_of(theirs))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert charlie.client.get(url_of(theirs)).status_code == 200


def test_an_attachment_is_found_only_under_its_own_conversation(api, alice, conversation):
    attachment = AttachmentFactory(message__conversation=conversation)
    other = ConversationFactory(workspace=alice.workspace)

    wrong = api.get(f"{URL}/{other.pk}/attachments/{attachment.pk}")

    assert wrong.status_code == 404
    assert api.get(f"{URL}/{conversation.pk}/attachments/{uuid.uuid4()}").status_code == 404
    assert api.get(f"{URL}/{conversation.pk}/attachments/nope").status_code == 404


def test_a_missing_file_is_a_404_in_the_envelope(api, conversation):
    attachment = AttachmentFactory(message__conversation=conversation)
    attachment.file.storage.delete(attachment.file.name)

    response = api.get(url_of(attachment), HTTP_ACCEPT="application/pdf")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_a_download_needs_a_key(client, conversation):
    attachment = AttachmentFactory(message=MessageFactory(conversation=conversation))

    assert client.get(url_of(attachment)).status_code == 401
