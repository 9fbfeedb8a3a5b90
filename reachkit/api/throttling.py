"""API rate limits: a budget per API key, and one per client address for everything else.

DRF authenticates, then checks permissions, and only then throttles, so a request with no
key or a bad one is refused (401) before any throttle runs. The per-address budget is
therefore spent by the authentication class itself (`count_unauthenticated`): every API
request that does not carry a valid key counts, whatever it is answered.
"""

from typing import Any

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from reachkit import ratelimit


class ApiKeyRateThrottle(BaseThrottle):
    """REACHKIT_THROTTLE_RATE requests per API key (every key has its own budget)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.auth is None:
            return True  # counted per address by the authentication class
        # The rate is read at call time, so it follows settings.
        self.verdict = ratelimit.hit("api-key", str(request.auth.pk), settings.THROTTLE_RATE)
        return self.verdict.allowed

    def wait(self) -> float:
        return float(self.verdict.retry_after)


def count_unauthenticated(request: Request) -> None:
    """Count a request without a valid key against its address: 429 once past the rate.

    A valid key is never held back by its address's count (many clients share one address
    behind a NAT); a wrong one is looked up, then counted.
    """
    verdict = ratelimit.hit(
        "api-anonymous", ratelimit.client_ip(request), settings.ANON_THROTTLE_RATE
    )
    if not verdict.allowed:
        raise Throttled(wait=verdict.retry_after)
