"""What `OPTIONS` on an API URL answers: the methods it takes and where they are described.

DRF's own metadata describes a view's `serializer_class` field by field. Our views read input
through their own serializers (a create, an update and an action each have one), so its
answer was wrong: `OPTIONS /campaigns` listed `name` as read-only and not required. The
OpenAPI document is the one description of the inputs; `OPTIONS` points to it.
"""

from typing import TYPE_CHECKING, Any

from django.urls import reverse
from rest_framework.metadata import BaseMetadata
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views imports this module while it loads
    from rest_framework.views import APIView


class MethodsMetadata(BaseMetadata):
    def determine_metadata(self, request: Request, view: "APIView") -> dict[str, Any]:
        return {
            "methods": list(view.allowed_methods),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "schema": request.build_absolute_uri(reverse("schema")),
            "docs": request.build_absolute_uri(reverse("docs")),
        }
