"""ESP detection's timing: how long a domain's provider is trusted, how failures back off."""

import random
from datetime import timedelta

from django.conf import settings

# A domain's MX records rarely change; a week bounds how stale a provider can get.
CACHE_TTL = timedelta(days=7)
# After the last failed attempt a domain is "other" for a day, then looked up again.
FALLBACK_TTL = timedelta(days=1)
MAX_ATTEMPTS = 4
RETRY_BASE = timedelta(minutes=1)
# A task looks up at most this many domains, so its time limit holds even if each one
# times out (20 x REACHKIT_DNS_TIMEOUT_SECONDS, 5 s by default).
DOMAINS_PER_TASK = 20
# Leads still without a provider this long after they were added are swept up again.
PENDING_GRACE = timedelta(minutes=5)
SWEEP_LIMIT = 1000


def claim_lease() -> timedelta:
    """How long a worker owns a domain's look-up before another may take it over."""
    return timedelta(seconds=max(30, 3 * int(settings.DNS_TIMEOUT_SECONDS)))


def retry_delay(attempts: int) -> timedelta:
    """1, 4, 16 minutes after the 1st, 2nd, 3rd failure, each give or take a quarter."""
    return RETRY_BASE * (4 ** (attempts - 1)) * random.uniform(0.75, 1.25)
