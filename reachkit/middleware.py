import logging
import time
from collections.abc import Callable

from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse

from reachkit.api.authentication import ApiKeyPrincipal
from reachkit.logs import loggable_url

logger = logging.getLogger("reachkit.request")


class RequestLogMiddleware:
    """One log line per request: method, path (API keys redacted), status, duration, workspace."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        # type(), not isinstance(): request.user may be a lazy session user we must not load.
        user = request.__dict__.get("user")
        workspace = str(user.workspace.pk) if type(user) is ApiKeyPrincipal else None
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": _loggable_url(request),
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "workspace": workspace,
            },
        )
        return response


def _loggable_url(request: HttpRequest) -> str:
    try:
        params = list(request.GET.lists())
    except TooManyFieldsSent:
        return loggable_url(request.path, []) + "?[too many parameters]"
    return loggable_url(request.path, params)
