"""The one exception handler: every API error becomes `{"error", "code", "details"}`."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from reachkit.api.renderers import Envelope
from reachkit.errors import DomainError

logger = logging.getLogger("reachkit.api")

_CODES: list[tuple[type[Exception], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.ParseError, "malformed_json"),
    (exceptions.Throttled, "rate_limited"),
    (exceptions.PermissionDenied, "forbidden"),
]


def error_body(message: str, code: str, details: Any = None) -> Envelope:
    return Envelope(error=message, code=code, details=details if details is not None else {})


def _validation_details(detail: Any) -> dict[str, Any]:
    """DRF's error tree as `{field: [messages]}`; top-level messages under `non_field_errors`."""
    if isinstance(detail, dict):
        return {str(field): _messages(value) for field, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _messages(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _messages(item) for key, item in value.items()}
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return [str(item) for item in value]
        return [_messages(item) for item in value]
    return [str(value)]


def _first_message(details: dict[str, Any]) -> str:
    for field, value in details.items():
        while isinstance(value, (list, dict)) and value:
            value = value[0] if isinstance(value, list) else next(iter(value.values()))
        if isinstance(value, str):
            return value if field == "non_field_errors" else f"{field}: {value}"
    return "Validation failed."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.message, exc.code, exc.details), status=exc.status_code)

    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("The request body is too large.", "payload_too_large"),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )

    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        details = _validation_details(exc.detail)
        return Response(
            error_body(_first_message(details), "validation_error", details),
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
        set_rollback()
        return Response(
            error_body("Internal server error.", "internal_error"),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    code = next((code for cls, code in _CODES if isinstance(exc, cls)), "error")
    message = str(exc.detail) if isinstance(exc, exceptions.APIException) else "Error."
    if isinstance(exc, exceptions.NotFound):
        message = "Not found."
    response.data = error_body(message, code)
    return response
