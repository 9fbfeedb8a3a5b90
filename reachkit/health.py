"""`GET /healthz`: is the database reachable, is the broker reachable."""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from reachkit.celery import app as celery_app

logger = logging.getLogger("reachkit.health")
BROKER_TIMEOUT_SECONDS = 3


def database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception as error:
        logger.warning("health check: database unreachable", extra={"error": str(error)})
        return False


def broker_reachable() -> bool:
    try:
        with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
            conn.default_channel  # noqa: B018  (opens a channel: the broker answers)
        return True
    except Exception as error:
        logger.warning("health check: broker unreachable", extra={"error": str(error)})
        return False


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": "ok" if database_reachable() else "down",
        "broker": "ok" if broker_reachable() else "down",
    }
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503
    )
