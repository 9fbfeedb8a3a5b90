"""Serializer fields with strict JSON types and clean text.

DRF coerces by default ("5" → 5, 1 → True, 5 → "5"); the API does not: a value of
the wrong JSON type is a 422 naming the field.

No string field takes a NUL or a lone surrogate (reachkit.text): refused before anything
else reads the value, so no error message echoes it (a lone surrogate cannot be written
as UTF-8: the response itself would fail) and nothing stores it. Text that can reach an
email header (`HeaderTextField`) takes no control character at all.
"""

import math
import uuid
from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from reachkit.text import body_text_error, header_text_error, plural, text_error


def refuse_bad_text(data: str) -> None:
    """A 422 for text no field takes (NUL, a lone surrogate)."""
    message = text_error(data)
    if message is not None:
        raise serializers.ValidationError(message, code="invalid_text")


# What each kind of text refuses beyond NUL and lone surrogates (reachkit.text), by name: the
# names are the document's too (reachkit.api.schema's patterns).
_CHARACTER_RULES: dict[str, Callable[[str], str | None]] = {
    "header": header_text_error,
    "body": body_text_error,
}


class StrictCharField(serializers.CharField):
    """Any text but NUL and lone surrogates. The document says which characters a field takes
    (`characters`: "text", "header" or "body") and that a required one needs more than spaces
    (reachkit.api.schema.StrictTextSchema)."""

    characters = "text"

    @property
    def refuses_spaces_only(self) -> bool:
        """Spaces alone are blank once trimmed, and blank is refused."""
        return not self.allow_blank and self.trim_whitespace

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        refuse_bad_text(data)
        value: str = super().to_internal_value(data)
        rule = _CHARACTER_RULES.get(self.characters)
        message = rule(value) if rule else None
        if message is not None:
            raise serializers.ValidationError(message, code="control_characters")
        return value


class HeaderTextField(StrictCharField):
    """Text that can end up in an email header (a name, a subject, an address): one line,
    no control characters."""

    characters = "header"


class BodyTextField(StrictCharField):
    """Text that fills an email's body: tabs and line ends, but no other control character."""

    characters = "body"


class EmailTextField(StrictCharField):
    """An email address as text: `format: email` in the document. The serializer checks and
    normalises it (each resource has its own rule: trimmed, lower-cased domain, …)."""

    format = "email"


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        refuse_bad_text(data)
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer. `993.0` is one too: JSON Schema (and so the document) cannot tell it from
    `993`, and a JavaScript client cannot write the difference; `993.5`, `"993"` and `true` are
    not."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float) and math.isfinite(data) and data.is_integer():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictUUIDField(serializers.UUIDField):
    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        refuse_bad_text(data)
        return super().to_internal_value(data)


class StrictDictField(serializers.DictField):
    """An object whose keys are clean text: checked before a child's error is filed under
    its key (a key that cannot be written as UTF-8 would break the error response)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            for key in data:
                refuse_bad_text(str(key))
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    """A choice among strings: a number or a boolean is not `"1"` or `"True"`."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        refuse_bad_text(data)
        return super().to_internal_value(data)


class StrictListField(serializers.ListField):
    """A list whose length errors read right: "Give at least 1 inbox id." where DRF says
    "Ensure this field has at least 1 elements." `noun` (and `nouns`) name the items."""

    def __init__(self, *, noun: str = "item", nouns: str | None = None, **kwargs: Any) -> None:
        # Before DRF's __init__: it builds the length validators with these messages.
        messages = dict(kwargs.pop("error_messages", None) or {})
        if kwargs.get("min_length") is not None:
            messages.setdefault(
                "min_length", f"Give at least {plural(kwargs['min_length'], noun, nouns)}."
            )
        if kwargs.get("max_length") is not None:
            messages.setdefault(
                "max_length", f"Give at most {plural(kwargs['max_length'], noun, nouns)}."
            )
        super().__init__(error_messages=messages, **kwargs)
