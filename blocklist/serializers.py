from typing import Any

from rest_framework import serializers

from blocklist.models import BlocklistEntry
from blocklist.services import MAX_BULK_ENTRIES
from reachkit.api.fields import EmailTextField, StrictCharField, StrictListField
from reachkit.api.inputs import InputSerializer
from reachkit.api.schema import DOMAIN_PATTERN, exactly_one_of
from reachkit.emails import is_valid_email


class BlocklistEntrySerializer(serializers.ModelSerializer):
    email = serializers.CharField(source="value", help_text="The blocked address or domain.")
    type = serializers.ChoiceField(
        source="kind", choices=BlocklistEntry.Kind.choices, help_text="email or domain"
    )

    class Meta:
        model = BlocklistEntry
        fields = ["id", "email", "type", "created_at"]
        read_only_fields = fields


class _AddressOrDomainField(StrictCharField):
    schema_override = {"anyOf": [{"format": "email"}, {"pattern": DOMAIN_PATTERN}]}


@exactly_one_of("email", "emails")
class BlocklistCreateSerializer(InputSerializer):
    email = _AddressOrDomainField(
        required=False, max_length=320, help_text="An address, or a domain (acme.com, @acme.com)."
    )
    emails = StrictListField(
        noun="address or domain",
        nouns="addresses or domains",
        # Each is checked on its own: one that is neither an address nor a domain is reported
        # by its index in the answer's `errors`, the others are blocked.
        child=StrictCharField(max_length=320),
        required=False,
        min_length=1,
        max_length=MAX_BULK_ENTRIES,
        help_text=f"Up to {MAX_BULK_ENTRIES} addresses or domains at once; one that is neither "
        "is reported in the answer's `errors` (by its index), the others are blocked.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("email" in attrs) == ("emails" in attrs):
            raise serializers.ValidationError(
                {"email": ["Provide either `email` or `emails`, not both or neither."]}
            )
        return attrs


class BlocklistBulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    invalid = serializers.IntegerField()
    # A field named like Serializer.errors: DRF moves declared fields off the class, so the
    # property is untouched; the name is the API's.
    errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]


class BlocklistCheckQuerySerializer(serializers.Serializer):
    email = EmailTextField(max_length=320, help_text="The address to check.")

    def validate_email(self, value: str) -> str:
        email = value.strip().lower()
        if not is_valid_email(email):
            raise serializers.ValidationError("Enter a valid email address.")
        return email


class BlocklistCheckSerializer(serializers.Serializer):
    blocked = serializers.BooleanField()
    entry = BlocklistEntrySerializer(allow_null=True, help_text="The entry that blocks it.")
