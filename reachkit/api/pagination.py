"""The spec's pagination: `page` (default 1), `page_size` (default 30, max 100, clamped)."""

import math
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from reachkit.api.renderers import Envelope

# `page` and `page_size` are 64-bit integers, as the schema says; above this is a 422, not
# a clamp (a page past the end is empty, computed before any query).
MAX_PAGE_NUMBER = 2**63 - 1


def _positive_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    digits = raw.strip()
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError({name: ["Must be a whole number (digits only), from 1."]})
    # Not int() first: a thousand digits would be parsed only to be refused.
    if len(digits.lstrip("0")) > len(str(MAX_PAGE_NUMBER)) or int(digits) > MAX_PAGE_NUMBER:
        raise ValidationError({name: [f"Too large: at most {MAX_PAGE_NUMBER} (a 64-bit integer)."]})
    if int(digits) < 1:
        raise ValidationError({name: ["Must be 1 or more."]})
    return int(digits)


class PagePagination(BasePagination):
    default_page_size = 30
    max_page_size = 100

    # We only ever paginate querysets, hence the narrower argument type.
    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.page = _positive_int(request, "page", 1)
        self.page_size = min(
            _positive_int(request, "page_size", self.default_page_size), self.max_page_size
        )
        offset = (self.page - 1) * self.page_size
        if offset == 0:
            rows = list(queryset[: self.page_size])
            # A short first page is the whole list: no COUNT needed.
            self.total_count = len(rows) if len(rows) < self.page_size else queryset.count()
            return rows
        self.total_count = queryset.count()
        if offset >= self.total_count:
            return []
        return list(queryset[offset : offset + self.page_size])

    def get_paginated_response(self, data: Any) -> Response:
        return Response(Envelope(data=data, metadata=self.metadata()))

    def metadata(self) -> dict[str, int]:
        return {
            "page": self.page,
            "page_size": self.page_size,
            "total_count": self.total_count,
            "total_pages": math.ceil(self.total_count / self.page_size),
        }

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        integer = {"type": "integer"}
        return {
            "type": "object",
            "required": ["data", "metadata"],
            "properties": {
                "data": schema,
                "metadata": {
                    "type": "object",
                    "required": ["page", "page_size", "total_count", "total_pages"],
                    "properties": {
                        "page": integer,
                        "page_size": integer,
                        "total_count": integer,
                        "total_pages": integer,
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Page number, from 1; past the last page, `data` is empty.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE_NUMBER,
                    "default": 1,
                },
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": (
                    f"Rows per page, at most {self.max_page_size}. A larger value (up to a "
                    f"64-bit integer) is not refused: it is clamped to {self.max_page_size}, "
                    "and `metadata.page_size` says so."
                ),
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.default_page_size,
                },
            },
        ]
