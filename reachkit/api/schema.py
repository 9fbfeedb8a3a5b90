"""OpenAPI: the API-key security schemes and the response envelopes."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from reachkit.api.inputs import StrictFieldsMixin

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "code", "details"],
    "properties": {
        "error": {"type": "string", "description": "A human-readable message."},
        "code": {"type": "string", "description": "A machine-readable code."},
        "details": {
            "type": "object",
            "description": "Field name → list of messages (validation errors).",
            "additionalProperties": True,
        },
    },
}

_ERROR_RESPONSES = {
    "400": "The body is not well-formed JSON.",
    "401": "Missing, malformed, unknown or revoked API key.",
    "404": "Unknown id, or an id of another workspace.",
    "413": "The body is larger than the server accepts.",
    "415": "The body is not `application/json`.",
    "422": "Validation failed; `details` names the fields.",
    "429": "Throttled; retry after the `Retry-After` header's seconds.",
}


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


class AutoSchema(SpectacularAutoSchema):
    """Only a viewset's `list` filters, sorts and pages (WorkspaceViewSet, PagePagination).

    drf-spectacular gives any action that answers a list (attach, detach) the list's query
    parameters and a paginated body; ours answer the whole list, in `{"data": [...]}`.
    """

    def _is_the_list(self) -> bool:
        return getattr(self.view, "action", None) == "list"

    def get_filter_backends(self) -> list[Any]:
        return super().get_filter_backends() if self._is_the_list() else []

    def _get_paginator(self) -> Any:
        return super()._get_paginator() if self._is_the_list() else None

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        """A request body takes no key beyond its fields (reachkit.api.inputs: a 422)."""
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictFieldsMixin):
            schema["additionalProperties"] = False
        return schema


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "reachkit.api.authentication.ApiKeyAuthentication"
    name = ["BearerAuth", "ApiKeyHeader", "ApiKeyQuery"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "rk_…"},
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {"type": "apiKey", "in": "query", "name": "api_key"},
        ]


def _is_enveloped(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Paginated lists are enveloped already (`data` + `metadata`), inline or as a component."""
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return "data" in schema.get("properties", {})


def _error_codes(path: str, operation: dict[str, Any]) -> list[str]:
    """The errors the plumbing can answer for an operation, whatever its view does."""
    codes = []
    if operation.get("security"):
        codes += ["401", "429"]
    if "{" in path:
        codes.append("404")
    if "requestBody" in operation:
        # The JSON parser's errors: what any body can get before a view sees it.
        codes += ["400", "413", "415"]
    query_params = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    if "requestBody" in operation or query_params:
        codes.append("422")
    return codes


def _any_of_schemes(security: list[dict[str, list[str]]]) -> list[dict[str, list[str]]]:
    """drf-spectacular lists our three schemes as one requirement (all three); any one will do."""
    return [{name: scopes} for requirement in security for name, scopes in requirement.items()]


def wrap_in_envelopes(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Wrap every success body in `{"data": …}` and document the error envelope."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    # Routes tolerate a trailing slash; the documented paths are the spec's, without one.
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    for path, methods in result["paths"].items():
        for operation in methods.values():
            if operation.get("security"):
                operation["security"] = _any_of_schemes(operation["security"])
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if not status.startswith("2"):
                    # An error a view declares (a 409, say) has the envelope's body too.
                    response.setdefault("content", _error_content())
                    continue
                media = response.get("content", {}).get("application/json")
                if media and "schema" in media and not _is_enveloped(media["schema"], components):
                    media["schema"] = {
                        "type": "object",
                        "required": ["data"],
                        "properties": {"data": media["schema"]},
                    }
            for code in _error_codes(path, operation):
                responses.setdefault(
                    code, {"description": _ERROR_RESPONSES[code], "content": _error_content()}
                )
    return result
