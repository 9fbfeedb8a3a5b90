"""Conversations, messages and attachments as the IMAP sync stores them, for API tests.

The sync itself is tested against Dovecot; these seed the tables directly.
"""

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.reachkit.factories import WorkspaceFactory
from unibox.models import Attachment, Conversation, Message


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    workspace = factory.SubFactory(WorkspaceFactory)
    subject = factory.Sequence(lambda n: f"Quick question {n}")
    folder = Conversation.Folder.PRIMARY
    last_message_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    """An incoming reply unless told otherwise."""

    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    workspace = factory.SelfAttribute("conversation.workspace")
    inbox = factory.SelfAttribute("conversation.inbox")
    direction = Message.Direction.INCOMING
    message_id = factory.Sequence(lambda n: f"<reply{n}@example.com>")
    subject = factory.LazyAttribute(lambda message: f"Re: {message.conversation.subject}")
    from_email = "lead@example.com"
    from_name = "Lee Lead"
    to_recipients = factory.LazyFunction(lambda: [{"email": "sam@acme.com", "name": "Sam"}])
    text_body = "Sounds good, tell me more."
    html_body = "<p>Sounds good, tell me more.</p>"
    email_date = factory.LazyFunction(timezone.now)


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    message = factory.SubFactory(MessageFactory)
    workspace = factory.SelfAttribute("message.workspace")
    filename = "notes.txt"
    content_type = "text/plain"
    size = factory.LazyAttribute(lambda attachment: len(attachment.content))
    file = factory.LazyAttribute(lambda attachment: ContentFile(attachment.content, name="x"))

    class Params:
        content = b"hello, world\n"
