from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from leads.inputs import (
    BLANK,
    IF_EXISTS_CHOICES,
    MAX_NAME_LENGTH,
    MAX_VARIABLE_VALUE_LENGTH,
    MAX_VARIABLES,
    IfExists,
    RuleBroken,
    clean_name,
    clean_variables,
    normalize_email,
)
from leads.models import Lead
from leads.services import MAX_BULK_LEADS
from leads.variables import MAX_VARIABLE_NAME_LENGTH
from reachkit.api.fields import EmailTextField, StrictCharField, StrictChoiceField, StrictListField
from reachkit.api.inputs import InputSerializer
from reachkit.api.schema import variables_schema

VARIABLES_SCHEMA = variables_schema(
    max_variables=MAX_VARIABLES,
    max_name=MAX_VARIABLE_NAME_LENGTH,
    max_value=MAX_VARIABLE_VALUE_LENGTH,
    description=(
        f"Merge-tag values: strings, numbers, booleans or null, at most {MAX_VARIABLES}. A name "
        f"has at most {MAX_VARIABLE_NAME_LENGTH} characters, no control character, and a letter "
        "or a digit; it is stored in its normal form (`First Name` → `first_name`), and two "
        f"names of one normal form are refused. A text value has at most "
        f"{MAX_VARIABLE_VALUE_LENGTH:,} characters, no NUL, lone surrogate or control character "
        "but tab, CR and LF; a number is finite."
    ),
)


@extend_schema_field(VARIABLES_SCHEMA)
class VariablesField(serializers.Field):
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        try:
            return clean_variables(data)
        except RuleBroken as error:
            raise serializers.ValidationError(error.messages) from None

    def to_representation(self, value: Any) -> Any:
        return value


class LeadSerializer(serializers.ModelSerializer):
    variables = VariablesField()
    is_blocklisted = serializers.BooleanField(
        help_text="The workspace's blocklist holds the address or its domain (kept up to date "
        "as entries are added and removed): it is never sent to."
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "status",
            "is_bounced",
            "is_unsubscribed",
            "is_blocklisted",
            "provider",
            "variables",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeadNameField(StrictCharField):
    """A first or last name, checked by the rule the bulk call and CSV imports use: it goes
    into the `To:` header, so it holds no control character."""

    characters = "header"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "At most 150 characters, no control characters.")
        super().__init__(required=False, allow_blank=True, max_length=MAX_NAME_LENGTH, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return clean_name(super().to_internal_value(data))
        except RuleBroken as error:
            raise serializers.ValidationError(error.messages) from None


class LeadNamesSerializer(InputSerializer):
    first_name = LeadNameField()
    last_name = LeadNameField()
    variables = VariablesField(required=False)


class LeadInputSerializer(LeadNamesSerializer):
    email = EmailTextField(help_text="Trimmed; the domain is lower-cased.")

    def validate_email(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError(BLANK)
        try:
            return normalize_email(value)
        except RuleBroken as error:
            raise serializers.ValidationError(error.messages) from None


class IfExistsField(StrictChoiceField):
    """`if_exists`: one of IfExists' values (fail when absent), handed on as the enum."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=IF_EXISTS_CHOICES, default=IfExists.FAIL.value, **kwargs)

    def run_validation(self, data: Any = empty) -> IfExists:
        return IfExists(super().run_validation(data))


class LeadCreateSerializer(LeadInputSerializer):
    if_exists = IfExistsField(
        help_text="When the campaign has a lead with this email (any case): fail (409), "
        "skip (200, unchanged) or update (200, names replaced, variables merged).",
    )


class LeadUpdateSerializer(LeadNamesSerializer):
    """PATCH: names, and `variables`, which replaces the lead's whole object."""


# Any item is accepted: a bad lead (not an object, no email, a wrong type) is one entry of
# `errors`, never a refused call, so the schema constrains the list, not its leads.
BULK_LEADS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_BULK_LEADS,
    "items": {
        "description": (
            "A lead as a single create takes it; checked alone, and reported in `errors` "
            "by its index when it is not valid."
        ),
        "properties": {
            "email": {"description": "Required: a string, trimmed; the domain lower-cased."},
            "first_name": {"description": "A string."},
            "last_name": {"description": "A string."},
            "variables": {"description": "Merge-tag values, as in a single create."},
        },
        "example": {"email": "ada@example.com", "first_name": "Ada", "variables": {"role": "CTO"}},
    },
}


@extend_schema_field(BULK_LEADS_SCHEMA)
class _BulkLeadsField(StrictListField):
    """The list only: each lead is checked by the service, so one bad lead is one error."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("empty")
        if len(data) > MAX_BULK_LEADS:
            self.fail("max_length", max_length=MAX_BULK_LEADS)
        return data


class LeadBulkSerializer(InputSerializer):
    leads = _BulkLeadsField(
        noun="lead",
        child=LeadInputSerializer(),
        allow_empty=False,
        max_length=MAX_BULK_LEADS,
        help_text=f"1 to {MAX_BULK_LEADS:,} leads, each checked alone.",
    )
    if_exists = IfExistsField(
        help_text="Per lead, as in a single create; a duplicate under `fail` is an error.",
    )


class LeadBulkErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The position of the lead in `leads`, from 0.")
    details = serializers.DictField(help_text="Field → messages; `id` of the existing lead.")


class LeadBulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    # Named like Serializer.errors: DRF moves declared fields off the class (see blocklist).
    errors = LeadBulkErrorSerializer(many=True)  # type: ignore[assignment]
