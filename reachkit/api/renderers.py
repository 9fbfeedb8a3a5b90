"""One renderer for every API response: `{"data": …}` on success, errors as they come."""

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer


class Envelope(dict):
    """A response body that is already in its final shape (lists with metadata, errors)."""


class EnvelopeRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code == 204:
            return b""
        if not isinstance(data, Envelope):
            data = {"data": data}
        return super().render(data, accepted_media_type, renderer_context)
