"""Request bodies take only the fields their endpoint accepts.

A key no field of the body's serializer takes (a typo, a field of another endpoint, an
object nested where the endpoint wants flat fields) is a 422 naming it: silently ignoring
it would answer 200 to a request that changed nothing (`PATCH /campaigns/:id {"options":
{"daily_limit": 7}}`). This overrides design.md's "unknown fields are ignored" (issue 16).

Every serializer that reads a request body derives from `InputSerializer` (nested objects
too: `smtp`, `default_window`, a day of `days`, each lead of a bulk call), and
`tests/reachkit/test_unknown_fields.py` walks every operation of the API to prove it.
Query strings are not bodies: their serializers stay plain (`?api_key=` is a credential).
"""

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rest_framework import serializers

from reachkit.text import text_error

UNKNOWN_FIELD = "Unknown field: this endpoint does not take it."
READ_ONLY_FIELD = "Read-only: this field cannot be set here."
# A hostile body may hold thousands of keys: name this many, each shortened.
MAX_NAMED = 20
MAX_NAME_LENGTH = 64


def unknown_keys(
    data: Mapping[Any, Any],
    known: Callable[[str], bool | None],
    hints: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """`{key: [message]}` for the keys of `data` that `known` does not accept (False) or
    that are read-only (None); the first MAX_NAMED of them, each name shortened."""
    unknown: dict[str, list[str]] = {}
    for key in data:
        name = str(key)
        if text_error(name) is not None:  # no message may quote it
            unknown["non_field_errors"] = ["A field name holds a character no text may hold."]
            continue
        accepted = known(name)
        if accepted:
            continue
        if len(unknown) >= MAX_NAMED:
            break
        message = (hints or {}).get(name) or (
            READ_ONLY_FIELD if accepted is None else UNKNOWN_FIELD
        )
        shown = name if len(name) <= MAX_NAME_LENGTH else name[: MAX_NAME_LENGTH - 1] + "…"
        unknown[shown] = [message]
    return unknown


class StrictFieldsMixin:
    """Unknown keys of a body object are a validation error, reported with the others.

    `unknown_field_hints` maps a likely mistake to what to do instead (a field that lives
    at another endpoint, or at the top level)."""

    unknown_field_hints: ClassVar[dict[str, str]] = {}

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            fields = self.fields  # type: ignore[attr-defined]

            def known(name: str) -> bool | None:
                field = fields.get(name)
                return False if field is None else (None if field.read_only else True)

            unknown = unknown_keys(data, known, self.unknown_field_hints)
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**unknown, **error.detail}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class InputSerializer(StrictFieldsMixin, serializers.Serializer):
    """The base of every request body's serializer (see the module's docstring)."""
