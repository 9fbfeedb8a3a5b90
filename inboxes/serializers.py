from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from inboxes.connection import INVALID_HOST, ServerSettings, is_valid_host
from inboxes.models import Inbox
from inboxes.warmup import WarmupStatus
from reachkit.api.fields import (
    EmailTextField,
    HeaderTextField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
)
from reachkit.api.inputs import InputSerializer
from reachkit.api.schema import HOST_SCHEMA
from reachkit.emails import is_valid_email

INVALID_EMAIL = "Enter a valid email address."


def _flatten(detail: Any, prefix: str = "") -> Any:
    """`{"smtp": {"port": [..]}}` → `{"smtp.port": [..]}`: one clear key per field.

    An object's own errors ("expected a dictionary") stay under the object's name.
    """
    if not isinstance(detail, dict):
        return {prefix: detail} if prefix else detail
    flat: dict[str, Any] = {}
    for key, value in detail.items():
        if prefix and key == api_settings.NON_FIELD_ERRORS_KEY:
            name = prefix
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = value
    return flat


# --- output --------------------------------------------------------------------------------

INBOX_FIELDS = [
    "id",
    "email",
    "domain",
    "provider",
    "connection_type",
    "connection_status",
    "connection_error",
    "first_name",
    "last_name",
    "reply_to",
    "signature",
    "is_active",
    "is_warming",
    "daily_campaign_limit",
    "daily_warmup_limit",
]


class InboxSerializer(serializers.ModelSerializer):
    """An inbox as lists show it. Credentials never leave the server."""

    connection_error = serializers.CharField(
        read_only=True,
        help_text='Why the last connection check failed; "" unless `connection_status` is error.',
    )

    class Meta:
        model = Inbox
        fields = [*INBOX_FIELDS, "created_at", "updated_at"]
        read_only_fields = fields


class InboxCampaignSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.CharField(help_text="draft, active or paused")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class InboxDetailSerializer(InboxSerializer):
    """One inbox, with the campaigns that send from it (newest first)."""

    campaigns = serializers.SerializerMethodField()

    class Meta(InboxSerializer.Meta):
        fields = [*INBOX_FIELDS, "campaigns", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(InboxCampaignSerializer(many=True))
    def get_campaigns(self, inbox: Inbox) -> list[dict[str, Any]]:
        # Sorted here, from the prefetched rows, so a page of campaigns costs no query.
        campaigns = sorted(
            inbox.campaigns.all(), key=lambda campaign: campaign.created_at, reverse=True
        )
        return InboxCampaignSerializer(campaigns, many=True).data  # type: ignore[return-value]


class WarmupDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    sent = serializers.IntegerField()
    spam_count = serializers.IntegerField()


class WarmupStatsSerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Warmup emails sent in the last 7 days.")
    received = serializers.IntegerField(help_text="Warmup emails received.")
    saved_from_spam = serializers.IntegerField(help_text="Emails moved out of the spam folder.")
    health_score = serializers.IntegerField(help_text="0 to 100, from the spam rate.")
    ramp_up_progress = serializers.IntegerField(help_text="0 to 100, progress of the warmup ramp.")
    status = serializers.ChoiceField(
        choices=[str(choice) for choice in WarmupStatus],
        help_text="off (warmup is off), active, or paused (`paused_reason` says why).",
    )
    paused_reason = serializers.CharField(help_text="Why warmup is paused; empty otherwise.")
    today_target = serializers.IntegerField(
        help_text="New warmup emails the ramp plans today (0 unless active)."
    )
    daily = WarmupDaySerializer(many=True, help_text="7 days, oldest first, ending today (UTC).")


# --- input ---------------------------------------------------------------------------------


class _HostField(StrictCharField):
    schema_override = HOST_SCHEMA


class _ReplyToField(HeaderTextField):
    format = "email"


class ServerSettingsSerializer(InputSerializer):
    host = _HostField(max_length=253, help_text="smtp.example.com, or an IP address")
    port = StrictIntegerField(min_value=1, max_value=65535)
    username = StrictCharField(max_length=254)
    password = StrictCharField(
        max_length=1024, trim_whitespace=False, write_only=True, help_text="Stored encrypted."
    )
    security = StrictChoiceField(choices=Inbox.Security.choices, help_text="ssl, starttls or none")

    def validate_host(self, value: str) -> str:
        host = value.strip().lower()
        if not is_valid_host(host):
            raise serializers.ValidationError(INVALID_HOST)
        return host


class InboxCreateSerializer(InputSerializer):
    email = EmailTextField(max_length=254)
    first_name = HeaderTextField(max_length=150, required=False, allow_blank=True, default="")
    last_name = HeaderTextField(max_length=150, required=False, allow_blank=True, default="")
    smtp = ServerSettingsSerializer(help_text="The server that sends.")
    imap = ServerSettingsSerializer(help_text="The server that holds the mailbox.")

    def validate_email(self, value: str) -> str:
        email = value.strip().lower()
        if not is_valid_email(email):
            raise serializers.ValidationError(INVALID_EMAIL)
        return email

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError(_flatten(error.detail)) from None

    def server_settings(self, name: str) -> ServerSettings:
        return ServerSettings(**self.validated_data[name])


class InboxUpdateSerializer(InputSerializer):
    """PATCH /inboxes/:id: any of these; omitted ones stay; all-or-nothing on errors."""

    is_active = StrictBooleanField(required=False, help_text="Pause or resume campaign sending.")
    is_warming = StrictBooleanField(required=False, help_text="Toggle warmup.")
    first_name = HeaderTextField(max_length=150, required=False, allow_blank=True)
    last_name = HeaderTextField(max_length=150, required=False, allow_blank=True)
    reply_to = _ReplyToField(
        max_length=254, required=False, allow_blank=True, help_text='"" clears it.'
    )
    signature = StrictCharField(
        max_length=10_000,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Appended to the bottom of every outgoing email.",
    )
    daily_campaign_limit = StrictIntegerField(required=False, min_value=1, max_value=500)
    daily_warmup_limit = StrictIntegerField(required=False, min_value=1, max_value=100)

    def validate_reply_to(self, value: str) -> str:
        if value == "":
            return ""
        if not is_valid_email(value):
            raise serializers.ValidationError(INVALID_EMAIL)
        return value
