"""Rate limits: fixed windows counted atomically in the cache, and who the client is.

Each (scope, identity, window) has one counter. `hit` adds to it with the cache's `add`
then `incr`, both atomic on the configured caches (Redis: SET NX and INCR; the file cache
through `reachkit.cache`; the in-process cache of the tests under its lock), so parallel
requests never read the same count: exactly `limit` get through in a window. The window
ends at the same instant for every client, which is when a refused one may retry.
"""

import contextlib
import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from reachkit.env import parse_rate

# A counter outlives its window by this much, so a request that read the clock just before
# the window ended still finds it (Django's Redis `incr` would otherwise create it anew
# without an expiry).
_GRACE_SECONDS = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends
    key: str  # the window's counter


def _window(rate: str) -> tuple[int, int, int]:
    """(limit, window number, whole seconds left in it)."""
    limit, seconds = parse_rate(rate)
    now = time.time()
    number = int(now // seconds)
    return limit, number, max(1, math.ceil((number + 1) * seconds - now))


def _key(scope: str, identity: str, number: int) -> str:
    # Hashed: identities come from clients (usernames, header values) and cache keys must
    # stay short and plain on every backend.
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{number}"


def hit(scope: str, identity: str, rate: str) -> Verdict:
    """Count one request; allowed while the window's count stays within the rate."""
    limit, number, left = _window(rate)
    key = _key(scope, identity, number)
    cache.add(key, 0, timeout=left + _GRACE_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between the two calls: this request starts it again
        cache.add(key, 1, timeout=left + _GRACE_SECONDS)
        count = 1
    return Verdict(allowed=count <= limit, count=count, retry_after=left, key=key)


def undo(verdict: Verdict) -> None:
    """Take back a counted request that turned out not to count (a login that succeeded)."""
    with contextlib.suppress(ValueError):  # its window is over: nothing left to take back
        cache.decr(verdict.key)


def client_ip(request: HttpRequest) -> str:
    """The address to count a client by.

    REMOTE_ADDR, unless REACHKIT_TRUSTED_PROXY_COUNT says how many proxies of ours stand in
    front: then the address the outermost of them saw, read from the right of
    X-Forwarded-For (anything further left is whatever the client wrote). An IPv6 client
    counts by its /64, the block one subscriber gets.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if parsed.version == 6:
        mapped = parsed.ipv4_mapped  # type: ignore[union-attr]
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
