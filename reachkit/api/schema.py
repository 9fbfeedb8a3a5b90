"""OpenAPI: the API-key security schemes and the response envelopes."""

import re
from functools import cache
from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from reachkit.api.inputs import StrictFieldsMixin
from reachkit.netguard import HOST_LABEL

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
    "404": "Unknown id (in the path or the body), or an id of another workspace.",
    "413": "The body is larger than the server accepts.",
    "414": (
        "The URL is longer than the HTTP server takes (gunicorn: a request line of 4,094 "
        "bytes): answered before the API sees it, so not in the error envelope."
    ),
    "415": "The body is not `application/json`.",
    "422": (
        "Validation failed; `details` names the fields (`code`: `validation_error`). A request "
        "this document allows can still break a rule that depends on the rows it touches, "
        "each with its own `code`: `campaign_not_ready` (launching without an inbox, or with a "
        "step that has no enabled variant with a body), `invalid_status_transition`, "
        "`cannot_disable_last_variant`, `cannot_delete_last_variant`, `too_many_variants`, "
        "`invalid_merge_tag` (`details.<field>.offset`: where the bad `{{` is), "
        "`email_too_long` (once merge tags are filled), `invalid_window` (a window that "
        "ends before it starts), `no_inbox` (no active connected inbox to send from, or the "
        "conversation's inbox was deleted), `too_many_webhooks` (a workspace's limit) and "
        "`webhook_url_refused` (the URL's host resolves to no address, or to one webhooks may "
        "not reach: loopback, private, link-local…)."
    ),
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
        if not vars(type(serializer)).get("__doc__"):
            # drf-spectacular would describe it by a base class's docstring (InputSerializer's).
            schema.pop("description", None)
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


def _takes_ids(operation: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether the body names rows by id (`inbox_id`, `inbox_ids`): an unknown one is a 404."""
    media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    for field in _component(media.get("schema", {}), components).get("properties", {}).values():
        if field.get("format") == "uuid" or field.get("items", {}).get("format") == "uuid":
            return True
    return False


def _error_codes(path: str, operation: dict[str, Any], components: dict[str, Any]) -> list[str]:
    """The errors the plumbing can answer for an operation, whatever its view does."""
    codes = []
    if operation.get("security"):
        codes += ["401", "429"]
    if "{" in path or _takes_ids(operation, components):
        codes.append("404")
    if "requestBody" in operation:
        # The JSON parser's errors: what any body can get before a view sees it.
        codes += ["400", "413", "415"]
    query_params = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    if query_params:
        codes.append("414")
    if "requestBody" in operation or query_params or _takes_idempotency_key(operation):
        codes.append("422")
    return codes


def _takes_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))


def _document_idempotency(operation: dict[str, Any]) -> None:
    """Every POST takes `Idempotency-Key` (reachkit/api/idempotency.py)."""
    operation.setdefault("parameters", []).append(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": (
                "Up to 255 printable ASCII characters. A retry with the same key and body "
                "gets the first answer again (for 24 hours, with `Idempotent-Replayed: true`)."
            ),
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
        }
    )
    responses = operation.setdefault("responses", {})
    responses.setdefault(
        "409",
        {
            "description": "Conflict, or a request with this Idempotency-Key is still running.",
            "content": _error_content(),
        },
    )


def _unprocessable(operation: dict[str, Any]) -> str:
    """The 422 of an operation: what its body, its query and its Idempotency-Key can break."""
    reasons = []
    if "requestBody" in operation:
        reasons.append(_ERROR_RESPONSES["422"])
    elif any(p.get("in") == "query" for p in operation.get("parameters", [])):
        reasons.append("A query parameter is not valid; `details` names it.")
    if _takes_idempotency_key(operation):
        reasons.append(
            "`idempotency_key_reused`: the Idempotency-Key was sent before with another request."
        )
    return " ".join(reasons)


def _any_of_schemes(security: list[dict[str, list[str]]]) -> list[dict[str, list[str]]]:
    """drf-spectacular lists our three schemes as one requirement (all three); any one will do."""
    return [{name: scopes} for requirement in security for name, scopes in requirement.items()]


def wrap_in_envelopes(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Wrap every success body in `{"data": …}` and document the error envelope."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    _exclusive_alternatives(components)
    # Routes tolerate a trailing slash; the documented paths are the spec's, without one.
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    for methods in result["paths"].values():
        if methods.get("post", {}).get("security"):
            _document_idempotency(methods["post"])
    for path, methods in result["paths"].items():
        for operation in methods.values():
            if operation.get("security"):
                operation["security"] = _any_of_schemes(operation["security"])
            _body_required(operation, components)
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
            for code in _error_codes(path, operation, components):
                description = _unprocessable(operation) if code == "422" else _ERROR_RESPONSES[code]
                error: dict[str, Any] = {"description": description}
                if code != "414":
                    error["content"] = _error_content()
                responses.setdefault(code, error)
    _one_blank_alternative(result)
    _fill_in_names(result)
    return result


# --- What a string may hold, said in the document ---------------------------------------------
# reachkit.text's rules as JSON Schema patterns (ECMA-262, as OpenAPI says): `text` refuses NUL,
# `header` every control character and the line/paragraph separators. Lone surrogates cannot be
# written in a pattern (no valid JSON text decodes to one for a validator); the descriptions say
# they are refused.
_CHARACTERS = {
    "text": "\\x00",
    "header": "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029",
    # A variable's value fills a body: TAB, CR and LF are fine.
    "body": "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f",
}
# What Python's str.strip() takes away (str.isspace): text of these alone is blank.
_SPACES = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0"
    "\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)


def text_pattern(characters: str, *, not_blank: bool = False) -> str:
    """A pattern for text of `characters` ("text", "header", "body"); with `not_blank`, one
    character at least is not a space."""
    allowed = f"[^{_CHARACTERS[characters]}]"
    if not not_blank:
        return f"^{allowed}*$"
    return f"^{allowed}*[^{_CHARACTERS[characters]}{_SPACES}]{allowed}*$"


# A host name (a single label too) or an IP address, as inboxes.connection.is_valid_host.
_HOST_LABEL = HOST_LABEL
HOST_SCHEMA = {
    "anyOf": [
        {"pattern": f"^{_HOST_LABEL}(?:\\.{_HOST_LABEL})*\\.?$"},
        {"format": "ipv4"},
        {"format": "ipv6"},
    ]
}


class StrictTextSchema(OpenApiSerializerFieldExtension):
    """Each strict text field with the characters it takes (`pattern`), or its `format`."""

    target_class = "reachkit.api.fields.StrictCharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if getattr(field, "format", None):
            if field.allow_blank:
                schema["anyOf"] = [{"format": field.format}, {"maxLength": 0}]
            else:
                schema["format"] = field.format
        elif getattr(field, "schema_override", None):
            schema.update(field.schema_override)
            schema.pop("minLength", None)
        else:
            schema["pattern"] = text_pattern(field.characters, not_blank=field.refuses_spaces_only)
        return schema


# An address or a domain, as blocklist.services.blocklist_parse takes it: a domain is ASCII
# labels and a top-level label of letters (Django's DomainNameValidator), `@` before it allowed.
_TOP_LABEL = "(?:[a-zA-Z][a-zA-Z-]{0,61}[a-zA-Z]|[xX][nN]--[a-zA-Z0-9]{1,59})"
DOMAIN_PATTERN = f"^@?(?:{_HOST_LABEL}\\.)+{_TOP_LABEL}\\.?$"


# A merge-tag variable's name holds a letter or a digit (leads.variables: its normal form is not
# empty): any character Python's str.isalnum() takes, in every script, one class searched for.
# The class is long, so the document gets it once it is generated (`_fill_in_names`), not every
# process at import.
VARIABLE_NAME_PATTERN = "x-reachkit-variable-name-pattern"


@cache
def _variable_name_pattern() -> str:
    ranges: list[str] = []
    start = None
    for point in range(0x110001):
        is_alnum = point < 0x110000 and chr(point).isalnum()
        if is_alnum and start is None:
            start = point
        elif not is_alnum and start is not None:
            end = point - 1
            ranges.append(chr(start) if start == end else f"{chr(start)}-{chr(end)}")
            start = None
    return f"[{''.join(ranges)}]"


def variables_schema(
    *, max_variables: int, max_name: int, max_value: int, description: str
) -> dict[str, Any]:
    """A merge-tag variables object: names by the rule above, scalar values, text of a body."""
    return {
        "type": "object",
        "maxProperties": max_variables,
        # Two patterns, each simple enough to draw values from: no control character, and
        # somewhere a letter or a digit (a pattern is a search, not a whole match).
        "propertyNames": {
            "type": "string",
            "maxLength": max_name,
            "pattern": text_pattern("header"),
            "allOf": [{"pattern": VARIABLE_NAME_PATTERN}],
        },
        "additionalProperties": {
            "anyOf": [
                {"type": "string", "maxLength": max_value, "pattern": text_pattern("body")},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"},
            ]
        },
        "example": {"company": "Acme", "role": "VP Sales"},
    } | ({"description": description} if description else {})


def _fill_in_names(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if value == VARIABLE_NAME_PATTERN and key == "pattern":
                node[key] = _variable_name_pattern()
            else:
                _fill_in_names(value)
    elif isinstance(node, list):
        for item in node:
            _fill_in_names(item)


# Serializers whose fields are exclusive alternatives: exactly one of each tuple is given.
_EXACTLY_ONE_OF: dict[str, tuple[str, ...]] = {}


def exactly_one_of(*fields: str) -> Any:
    """Document that a request serializer takes exactly one of `fields` (`oneOf`, each
    alternative requiring its own; the serializer's `validate` enforces it)."""

    def register(serializer: type) -> type:
        _EXACTLY_ONE_OF[serializer.__name__.removesuffix("Serializer") + "Request"] = fields
        return serializer

    return register


# Request serializers that refuse any key they do not declare (a misspelt day of a schedule).
_CLOSED: set[str] = set()


def closed_object(serializer: type) -> type:
    """Document that a request serializer refuses undeclared keys (`additionalProperties:
    false`); its `to_internal_value` enforces it."""
    _CLOSED.add(serializer.__name__.removesuffix("Serializer") + "Request")
    return serializer


def _exclusive_alternatives(components: dict[str, Any]) -> None:
    for name, fields in _EXACTLY_ONE_OF.items():
        if name in components:
            components[name]["oneOf"] = [{"required": [field]} for field in fields]
    for name in _CLOSED:
        if name in components:
            components[name]["additionalProperties"] = False


def _component(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _body_required(operation: dict[str, Any], components: dict[str, Any]) -> None:
    """A body without which the call cannot succeed (a required field, or one of alternatives)
    is required: without one, the call is a 422."""
    request = operation.get("requestBody")
    if not request:
        return
    media = request.get("content", {}).get("application/json", {})
    schema = _component(media.get("schema", {}), components)
    if schema.get("required") or schema.get("oneOf"):
        request["required"] = True


_BLANK = {"type": "string", "maxLength": 0}


def _one_blank_alternative(node: Any) -> None:
    """drf-spectacular writes a blank-allowed field with a pattern as `oneOf` [the field, ""];
    where the pattern matches "" already, "" would match both alternatives and be refused: the
    field alone says it."""
    if isinstance(node, dict):
        alternatives = node.get("oneOf")
        if (
            isinstance(alternatives, list)
            and len(alternatives) == 2
            and alternatives[1] == _BLANK
            and re.fullmatch(alternatives[0].get("pattern", "x"), "")
        ):
            node.update(node.pop("oneOf")[0])
        for value in node.values():
            _one_blank_alternative(value)
    elif isinstance(node, list):
        for item in node:
            _one_blank_alternative(item)
