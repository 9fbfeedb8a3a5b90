from typing import Any

from rest_framework import serializers

from reachkit.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
)
from reachkit.api.inputs import InputSerializer
from reachkit.webhooks import feed
from reachkit.webhooks.models import Delivery, Event, EventType, WebhookEndpoint
from reachkit.webhooks.transport import MAX_URL_LENGTH, url_pattern

MAX_OVERLAP_SECONDS = 7 * 86_400
_ONE_TYPE = "(?:" + "|".join(EventType.values) + ")"
# The document states the list's form, so a client (and the fuzzer) knows what is taken.
# Empty (`?types=`) is as absent: every type.
TYPES_PATTERN = rf"^(?:{_ONE_TYPE}(?:,{_ONE_TYPE})*)?$"


class WebhookUrlField(StrictCharField):
    """A webhook URL; the document states its form (transport.url_pattern), the service
    checks it and where its host resolves to."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_URL_LENGTH, **kwargs)

    @property
    def schema_override(self) -> dict[str, str]:
        return {"pattern": url_pattern()}


class WebhookSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        help_text="The event types it receives; empty: every type.",
    )
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text="After a rotation, the previous secret signs too until then.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "disabled_reason",
            "disabled_at",
            "failing_since",
            "last_success_at",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookWithSecretSerializer(WebhookSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (`whsec_…`), shown this once; stored encrypted."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, endpoint: WebhookEndpoint) -> str:
        return str(self.context["secret"])


class WebhookCreateSerializer(InputSerializer):
    url = WebhookUrlField(
        help_text="`https://…` (`http://` too with REACHKIT_DEBUG). Its host must resolve to "
        "public addresses only (`webhook_url_refused`)."
    )
    event_types = serializers.ListField(
        child=StrictChoiceField(choices=EventType.choices),
        required=False,
        max_length=len(EventType.choices),
        help_text="Event types to receive; absent or empty: every type.",
    )
    description = StrictCharField(required=False, allow_blank=True, max_length=500)
    is_active = StrictBooleanField(required=False, default=True)


class WebhookUpdateSerializer(InputSerializer):
    url = WebhookUrlField(required=False)
    event_types = serializers.ListField(
        child=StrictChoiceField(choices=EventType.choices),
        required=False,
        max_length=len(EventType.choices),
    )
    description = StrictCharField(required=False, allow_blank=True, max_length=500)
    is_active = StrictBooleanField(required=False)


class RotateSecretSerializer(InputSerializer):
    overlap_seconds = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=MAX_OVERLAP_SECONDS,
        help_text="How long the previous secret keeps signing too (default a day; 0: not at all).",
    )


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.UUIDField(source="endpoint_id")
    message_id = serializers.UUIDField(
        help_text="The `webhook-id` header: the event's id (the same on every attempt)."
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhook_id",
            "message_id",
            "event_type",
            "status",
            "attempt",
            "response_code",
            "duration_ms",
            "error",
            "last_attempt_at",
            "next_attempt_at",
            "created_at",
        ]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(choices=EventType.choices)
    timestamp = serializers.DateTimeField(source="created_at")
    workspace_id = serializers.UUIDField()
    # A field named like Serializer.data: DRF moves declared fields off the class.
    data = serializers.JSONField(  # type: ignore[assignment]
        source="payload", help_text="The event's fields (README)."
    )

    class Meta:
        model = Event
        fields = ["id", "type", "timestamp", "workspace_id", "data"]
        read_only_fields = fields


class EventQuerySerializer(serializers.Serializer):
    # A parameter given empty (`?after=`) is as absent, as everywhere in a query string.
    after = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The `next_cursor` of the previous page.",
    )
    types = serializers.RegexField(
        regex=TYPES_PATTERN,
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="Comma-separated event types; empty: every type.",
        error_messages={"invalid": "Comma-separated event types, from the catalogue."},
    )
    since = serializers.DateTimeField(required=False, help_text="Events at or after this time.")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=feed.MAX_LIMIT, default=feed.DEFAULT_LIMIT
    )

    def validate_after(self, value: str) -> feed.Cursor | None:
        if not value:
            return None
        try:
            return feed.Cursor.decode(value)
        except feed.BadCursor:
            raise serializers.ValidationError("Not a cursor this feed handed out.") from None

    def validate_types(self, value: str) -> list[str]:
        types = [part.strip() for part in value.split(",") if part.strip()]
        unknown = sorted(set(types) - set(EventType.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown event types: {', '.join(unknown)}.")
        return types

    def to_internal_value(self, data: Any) -> Any:
        for name in ("after", "types", "since", "limit"):
            if "\x00" in str(data.get(name, "")):
                raise serializers.ValidationError({name: ["Null characters are not allowed."]})
        for name in ("since", "limit"):  # not text: empty is not a time or a number
            if data.get(name) == "":
                raise serializers.ValidationError({name: ["Give a value, or leave it out."]})
        return super().to_internal_value(data)


class EventPageMetadataSerializer(serializers.Serializer):
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `after` for the next page (null: nothing yet)."
    )
    has_more = serializers.BooleanField()
    limit = serializers.IntegerField()


class EventPageSerializer(serializers.Serializer):
    data = EventSerializer(many=True)  # type: ignore[assignment]
    metadata = EventPageMetadataSerializer()
