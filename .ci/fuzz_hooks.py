"""Schemathesis hooks for .ci/fuzz (SCHEMATHESIS_HOOKS).

Every check runs, positive_data_acceptance included. Two things the document states but JSON
Schema cannot enforce are checked here, precisely, rather than waved through:

- A request the document calls valid may still break a rule that depends on the rows it
  touches (launching a campaign whose step has no body, disabling a step's last enabled
  variant, a merge tag that does not close, …). Those answer 422 with their own `code`,
  listed in the document's 422 description. `.ci/schemathesis.toml` lets
  positive_data_acceptance take a 422, and `schema_valid_request_refused_only_by_a_stated_rule`
  fails the run on any other 422 to schema-valid data (a plain `validation_error` included).
- `page_size` above 100 is clamped, not refused, as the document says (its `maximum` is 100, its
  description says larger values are clamped). negative_data_rejection reports the 200; the
  report is dropped only when the answer is the clamped page (`metadata.page_size` is 100)
  and nothing else in the request was invalid.
"""

import ast
import json
import threading
from typing import Any

import jsonschema_rs
import schemathesis
from schemathesis.core.failures import AcceptedNegativeData

# The codes of the rules the document states in words (see the 422 response's description).
STATE_RULES = frozenset(
    {
        "campaign_not_ready",
        "invalid_status_transition",
        "cannot_disable_last_variant",
        "cannot_delete_last_variant",
        "too_many_variants",
        "invalid_merge_tag",
        "email_too_long",
        "invalid_window",
        "no_inbox",
        "too_many_webhooks",
        "webhook_url_refused",
        # The Idempotency-Key header's description: a key sent again with another body.
        "idempotency_key_reused",
    }
)
# An opaque cursor (the event feed's `after`) has no form a schema can state: any string the
# feed did not hand out is refused by its description's rule alone.
OPAQUE_CURSORS = {"/api/v1/events": "after"}
MAX_PAGE_SIZE = 100

# Not an API failure: CPython 3.11's parser is not thread-safe, and Hypothesis parses the
# source of a lambda to describe it, from each of the fuzzer's worker threads at once
# ("SystemError: AST constructor recursion depth mismatch" in the coverage phase, now and
# then). One parse at a time, in this process only.
_parse = ast.parse
_parsing = threading.Lock()


def _one_parse_at_a_time(*args: Any, **kwargs: Any) -> Any:
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _one_parse_at_a_time  # type: ignore[assignment]


def _json(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


# Sending mail now answers the documented 502 `send_failed` when the inbox's SMTP server cannot
# be reached (the fuzzer's own inboxes name hosts that do not exist). Any other 5xx is a failure.
SENDING_OPERATIONS = frozenset(
    {
        ("POST", "/api/v1/unibox/conversations"),
        ("POST", "/api/v1/unibox/conversations/{id}/reply"),
    }
)


@schemathesis.check
def not_a_server_error_but_a_stated_send_failure(ctx: Any, response: Any, case: Any) -> None:
    """Schemathesis' not_a_server_error (excluded in .ci/fuzz), but for the 502 above."""
    if response.status_code < 500:
        return
    body = _json(response)
    operation = (case.operation.method.upper(), case.operation.path)
    if (
        response.status_code == 502
        and operation in SENDING_OPERATIONS
        and isinstance(body, dict)
        and body.get("code") == "send_failed"
    ):
        return
    raise AssertionError(f"Server error {response.status_code}: {response.content[:300]!r}")


@schemathesis.check
def schema_valid_request_refused_only_by_a_stated_rule(ctx: Any, response: Any, case: Any) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return
    body = _json(response)
    code = body.get("code") if isinstance(body, dict) else None
    details = body.get("details") if isinstance(body, dict) else None
    cursor = OPAQUE_CURSORS.get(getattr(case.operation, "path", ""))
    if code == "validation_error" and isinstance(details, dict) and set(details) == {cursor}:
        return
    if code not in STATE_RULES and _body_is_valid(case):
        raise AssertionError(
            f"A schema-valid request was refused with 422 `{code}`, not one of the rules the "
            f"document states in words ({', '.join(sorted(STATE_RULES))}): "
            f"{json.dumps(body)[:300]} [{_generated_how(case)}]"
        )


def _body_is_valid(case: Any) -> bool:
    """Whether the case's JSON body is valid by the document. The coverage phase sometimes
    calls a case positive for the parameter it varies while its body is another scenario's
    (`0` where an object belongs): that case is not one the document allows."""
    request = case.operation.definition.raw.get("requestBody")
    if request is None or case.body is None:
        return True
    body_schema = request.get("content", {}).get("application/json", {}).get("schema")
    if body_schema is None:
        return True
    document = case.operation.schema.raw_schema
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", **body_schema}
    root["components"] = document.get("components", {})
    return bool(jsonschema_rs.validator_for(root, validate_formats=True).is_valid(case.body))


def _generated_how(case: Any) -> str:
    """The phase and the scenario that made the case, for the report."""
    meta = case.meta
    phase = getattr(meta, "phase", None)
    return f"{getattr(phase, 'name', '?')}: {getattr(phase, 'data', '')}"[:300]


def _clamped_page_size(case: Any, response: Any) -> bool:
    raw = (case.query or {}).get("page_size")
    try:
        asked = int(raw)
    except (TypeError, ValueError):
        return False
    if asked <= MAX_PAGE_SIZE or response.status_code != 200:
        return False
    body = _json(response)
    metadata = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(metadata, dict) or metadata.get("page_size") != MAX_PAGE_SIZE:
        return False
    # Nothing else invalid: page_size is the one parameter the case made invalid.
    data = case.meta.phase.data if case.meta is not None else None
    named = {getattr(data, "parameter", None)}
    named |= {mutation.parameter for mutation in getattr(data, "mutations", ())}
    return named - {None} == {"page_size"}


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a clamped `page_size` (see the module's docstring)."""
    clamped = isinstance(failure, AcceptedNegativeData) and _clamped_page_size(case, response)
    return not clamped
