"""Output serializers generated from dataclasses.

A read-only answer computed by a service (analytics, diagnostics) is a frozen dataclass;
its serializer is generated from it, so the fields are listed once, with their types, and
cannot drift apart. The serializer adds only what the API document needs: the class name
(the OpenAPI component), a description, and help texts.
"""

import dataclasses
import sys
import types
import typing
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from rest_framework import serializers

SCALARS: dict[Any, type[serializers.Field]] = {
    bool: serializers.BooleanField,
    int: serializers.IntegerField,
    float: serializers.FloatField,
    str: serializers.CharField,
    datetime: serializers.DateTimeField,
    date: serializers.DateField,
    uuid.UUID: serializers.UUIDField,
}


def dataclass_serializer(
    source: type,
    *,
    name: str,
    doc: str | None = None,
    exclude: Iterable[str] = (),
    nested: Mapping[type, type[serializers.Serializer]] | None = None,
    help_texts: Mapping[str, str] | None = None,
) -> type[serializers.Serializer]:
    """A serializer class named `name` with a field per field of the dataclass `source`, in
    its order (less `exclude`). Field types follow the annotations: scalars, `X | None`
    (nullable), enums (their values as choices), and dataclasses, alone or in a `list`, by
    their own serializer in `nested`."""
    if not dataclasses.is_dataclass(source):
        raise TypeError(f"{source!r} is not a dataclass")
    hints = typing.get_type_hints(source)
    skipped = set(exclude)
    # The caller's module: the class is defined there, as if written out.
    attrs: dict[str, Any] = {"__doc__": doc, "__module__": sys._getframe(1).f_globals["__name__"]}
    for item in dataclasses.fields(source):
        if item.name in skipped:
            continue
        help_text = (help_texts or {}).get(item.name)
        attrs[item.name] = _field(hints[item.name], nested or {}, help_text, allow_null=False)
    unknown = (set(help_texts or {}) | skipped) - {item.name for item in dataclasses.fields(source)}
    if unknown:
        raise TypeError(f"{source.__name__} has no field {', '.join(sorted(unknown))}")
    return type(name, (serializers.Serializer,), attrs)


def _field(
    hint: Any,
    nested: Mapping[type, type[serializers.Serializer]],
    help_text: str | None,
    *,
    allow_null: bool,
) -> serializers.Field:
    options: dict[str, Any] = {"help_text": help_text} if help_text else {}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _field(inner, nested, help_text, allow_null=True)
    if allow_null:
        options["allow_null"] = True
    if origin is list:
        (item,) = args
        return nested[item](many=True, **options)
    if hint in nested:
        return nested[hint](**options)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return serializers.ChoiceField(choices=[member.value for member in hint], **options)
    if hint in SCALARS:
        return SCALARS[hint](**options)
    raise TypeError(f"no serializer field for {hint!r}")
