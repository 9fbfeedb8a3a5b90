"""`search`, `sort_by`/`sort_order` and the strict boolean filter, shared by every list."""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

SORT_ORDERS = ("asc", "desc")
MAX_SEARCH_LENGTH = 200


class _StrictFilterForm(forms.Form):
    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        for name, field in self.fields.items():
            if isinstance(field, forms.ChoiceField) and self.data.get(name) == "":
                self.add_error(name, "Select a valid choice; an empty value is not one.")
        return cleaned


class StrictFilterSet(django_filters.FilterSet):
    """Every list's filters: a filter with choices given empty (`?status=`) is a 422, like any
    value not among its choices, instead of being dropped without a word."""

    class Meta:
        form = _StrictFilterForm


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`; anything else is a 422 (django-filter's own BooleanFilter ignores it).

    A boolean in the schema: the query string carries it as `true`/`false`.
    """

    def __init__(self, **kwargs: Any) -> None:
        choices = [("true", "true"), ("false", "false")]
        super().__init__(choices=choices, coerce=lambda value: value == "true", **kwargs)


class SearchFilter(filters.SearchFilter):
    """DRF's search over the view's `search_fields`, with a bounded term."""

    search_param = "search"

    def get_search_terms(self, request: Request) -> list[str]:
        raw = request.query_params.get(self.search_param, "")
        if len(raw) > MAX_SEARCH_LENGTH:
            raise ValidationError({self.search_param: [f"At most {MAX_SEARCH_LENGTH} characters."]})
        if "\x00" in raw:  # PostgreSQL refuses NUL in a text value
            raise ValidationError({self.search_param: ["Null characters are not allowed."]})
        return super().get_search_terms(request)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] |= {"maxLength": MAX_SEARCH_LENGTH, "pattern": "^[^\\x00]*$"}
        return parameters


class SortFilter(BaseFilterBackend):
    """Orders by an allowlisted field.

    A view declares `sort_fields` (API name → model field) and `default_sort`
    (an API name, optionally prefixed with "-"). Unknown values are 422. The primary
    key breaks ties so pages never overlap.
    """

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        sort_fields: dict[str, str] = getattr(view, "sort_fields", {})
        default_sort: str = getattr(view, "default_sort", "-created_at")
        default_name = default_sort.lstrip("-")
        default_order = "desc" if default_sort.startswith("-") else "asc"

        sort_by = request.query_params.get("sort_by", default_name)
        sort_order = request.query_params.get("sort_order", default_order)
        if sort_by not in sort_fields:
            raise ValidationError({"sort_by": [f"Must be one of: {', '.join(sort_fields)}."]})
        if sort_order not in SORT_ORDERS:
            raise ValidationError({"sort_order": ["Must be one of: asc, desc."]})

        sign = "-" if sort_order == "desc" else ""
        return queryset.order_by(f"{sign}{sort_fields[sort_by]}", f"{sign}pk")

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        sort_fields = list(getattr(view, "sort_fields", {}))
        if not sort_fields:
            return []
        return [
            {
                "name": "sort_by",
                "in": "query",
                "required": False,
                "description": "Field to sort by.",
                "schema": {"type": "string", "enum": sort_fields},
            },
            {
                "name": "sort_order",
                "in": "query",
                "required": False,
                "description": "Sort direction.",
                "schema": {"type": "string", "enum": list(SORT_ORDERS)},
            },
        ]
