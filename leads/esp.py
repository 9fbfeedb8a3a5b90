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
# A task stops taking new domains after this long and hands the rest to a new task, so it
# ends well inside its soft time limit (150 s) even when the last look-up times out.
TASK_BUDGET = timedelta(seconds=90)
# Leads still without a provider this long after they were added are swept up again.
PENDING_GRACE = timedelta(minutes=5)
SWEEP_LIMIT = 1000


def claim_lease() -> timedelta:
    """How long a worker owns a domain's look-up before another may take it over."""
    return timedelta(seconds=max(30, 3 * int(settings.DNS_TIMEOUT_SECONDS)))


def retry_delay(attempts: int) -> timedelta:
    """1, 4, 16 minutes after the 1st, 2nd, 3rd failure, each give or take a quarter."""
    return RETRY_BASE * (4 ** (attempts - 1)) * random.uniform(0.75, 1.25)
