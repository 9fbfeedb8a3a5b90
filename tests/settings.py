"""Test settings: the production settings module, fed a fixed test environment.

Real services come from the environment as in production (DATABASE_URL,
CELERY_BROKER_URL); secrets are fixed test values so the suite runs with
REACHKIT_DEBUG off, as production does.
"""

import os

os.environ.setdefault("REACHKIT_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault(
    "REACHKIT_ENCRYPTION_KEYS",
    "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDA=,b2xkZXIta2V5LWZvci10ZXN0cy1vbmx5LTAwMDAwMDA=",
)
os.environ.setdefault("REACHKIT_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from reachkit.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Throttle counters live in this process: clearing them between tests must not flush a
# Redis that a broker (or another test run) shares.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Mail servers in tests are on loopback: a connection that takes longer is a dead one.
INBOX_CONNECT_TIMEOUT_SECONDS = 2
# The suite's mail servers listen on loopback: let inbox hosts reach it, as a self-hoster
# would allow their own network (security tests set it back to nothing).
INBOX_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
LLM_URL = ""  # the offline classifier unless a test points it at its fake endpoint
