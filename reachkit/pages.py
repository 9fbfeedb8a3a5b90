"""The landing page at `/`: where things are, and under `make run` the demo's state."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from reachkit.demo_state import demo_state, demo_state_file, shown_path
from reachkit.models import parse_api_key


@require_safe
def landing_page(request: HttpRequest) -> HttpResponse:
    """Links to the API docs, the schema, the admin and /healthz for anyone; in debug
    (`make run`), the demo's state too: never a secret, only where the secrets are kept."""
    context: dict[str, Any] = {"demo": _demo() if settings.DEBUG else None}
    return render(request, "reachkit/landing.html", context)


def _demo() -> dict[str, Any] | None:
    state = demo_state()
    if not state:
        return None
    key = state.get("api_key")
    prefix = parse_api_key(key) if isinstance(key, str) else None
    mail = settings.MAILSINK_DIR
    return {
        "database": state.get("database", ""),
        "state_file": shown_path(demo_state_file()),
        "key_prefix": f"rk_{prefix}_…" if prefix else "",
        "campaign_id": state.get("campaign_id", ""),
        "mail_folder": shown_path(mail),
        "emails": len(list(mail.glob("*.eml"))) if mail.is_dir() else 0,
        "sink_port": settings.MAILSINK_PORT,
    }
