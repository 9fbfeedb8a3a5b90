import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from reachkit.api.authentication import ApiKeyPrincipal
from reachkit.logs import scrub_secrets

logger = logging.getLogger("reachkit.request")


class RequestLogMiddleware:
    """One log line per request: method, path (api_key scrubbed), status, duration, workspace."""

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
                "path": scrub_secrets(request.get_full_path()),
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "workspace": workspace,
            },
        )
        return response
