"""The Conversation API's input and output (I/O only: the rules are in unibox/services.py)."""

from typing import Any

from rest_framework import serializers

from reachkit.api.fields import (
    BodyTextField,
    HeaderTextField,
    StrictBooleanField,
    StrictChoiceField,
    StrictUUIDField,
)
from reachkit.api.inputs import InputSerializer
from reachkit.emails import MAX_EMAIL_LENGTH, is_valid_email
from unibox.models import Conversation

MAX_SUBJECT_LENGTH = 500
MAX_CONTENT_LENGTH = 100_000
MAX_RECIPIENTS = 50
MAX_NAME_LENGTH = 200

# --- Out ---------------------------------------------------------------------------------------


class AttachmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()


class RecipientSerializer(serializers.Serializer):
    email = serializers.CharField()
    name = serializers.CharField(help_text='"" when the address came without a name.')


class MessageSerializer(serializers.Serializer):
    """One message of a conversation (a `unibox.threads.Entry`)."""

    direction = serializers.ChoiceField(choices=["outgoing", "incoming"])
    inbox_id = serializers.UUIDField(
        allow_null=True, help_text="The inbox the message went through (null once deleted)."
    )
    subject = serializers.CharField()
    text_body = serializers.CharField()
    html_body = serializers.CharField(
        help_text="Incoming HTML is sanitised: no script, event handlers or remote images."
    )
    from_email = serializers.CharField()
    to_recipients = RecipientSerializer(many=True)
    cc_recipients = RecipientSerializer(many=True)
    bcc_recipients = RecipientSerializer(many=True)
    email_date = serializers.DateTimeField()
    is_read = serializers.BooleanField()
    attachments = AttachmentSerializer(many=True)


class ConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.ChoiceField(  # type: ignore[assignment]
        source="effective_label",
        choices=Conversation.Label.choices,
        allow_null=True,
        help_text="The effective label: the override when set, else the classifier's.",
    )
    is_positive = serializers.BooleanField()
    lead_id = serializers.UUIDField(
        allow_null=True, help_text="null for a conversation started through the API."
    )
    messages = MessageSerializer(source="thread", many=True, help_text="Oldest first.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# --- In ----------------------------------------------------------------------------------------


class ContentField(BodyTextField):
    """An email's HTML, kept as written (not trimmed), but not spaces alone."""

    refuses_spaces_only = True  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_CONTENT_LENGTH, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.", code="blank")
        return value


class AddressField(HeaderTextField):
    """An address an email can go to: valid, ASCII (international addresses are not sent)."""

    format = "email"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_EMAIL_LENGTH, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).strip()
        if not value.isascii() or not is_valid_email(value):
            raise serializers.ValidationError("Enter a valid email address.", code="invalid")
        return value


class RecipientInputSerializer(InputSerializer):
    email = AddressField()
    name = HeaderTextField(
        max_length=MAX_NAME_LENGTH, required=False, allow_null=True, allow_blank=True
    )


class ConversationUpdateSerializer(InputSerializer):
    label_override = StrictChoiceField(
        choices=Conversation.Label.choices,
        required=False,
        allow_null=True,
        help_text="null clears the override: the classifier's label again.",
    )
    is_read = StrictBooleanField(
        required=False, help_text="Marks every message of the conversation read or unread."
    )


class ReplySerializer(InputSerializer):
    content = ContentField(help_text="HTML content of the reply.")


class ConversationCreateSerializer(InputSerializer):
    inbox_id = StrictUUIDField(
        required=False,
        allow_null=True,
        help_text="The inbox to send from; omitted: the workspace's first active inbox.",
    )
    to = serializers.ListField(
        child=RecipientInputSerializer(), min_length=1, max_length=MAX_RECIPIENTS
    )
    subject = HeaderTextField(max_length=MAX_SUBJECT_LENGTH)
    content = ContentField(help_text="HTML content of the email.")
