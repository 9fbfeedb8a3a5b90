"""Domain exceptions. Services raise these; the API's exception handler maps them to HTTP."""

from typing import Any


class DomainError(Exception):
    """A business rule refused the request. Subclasses set the status and machine code."""

    status_code = 422
    code = "invalid"
    message = "The request breaks a rule."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, details: Any = None
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details if details is not None else {}
        super().__init__(self.message)


class ValidationFailed(DomainError):
    """Input that is well-formed but not acceptable; `details` maps fields to messages."""

    code = "validation_error"
    message = "Validation failed."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    message = "The resource already exists."


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    message = "Not found."
