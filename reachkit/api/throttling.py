from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """REACHKIT_THROTTLE_RATE requests per API key (every key has its own budget)."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.auth is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

    def get_rate(self) -> str:
        # Read at call time (DRF caches its setting at import), so the rate follows settings.
        return settings.THROTTLE_RATE
