"""Reachkit settings, read from the environment (see design.md, "Settings").

Development defaults make `make run` work on a fresh machine: SQLite and a
file-based Celery broker under `var/`, and secrets generated once into `var/`.
With REACHKIT_DEBUG off the process refuses to start without its secrets.
"""

import re
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from csp import constants as csp

from reachkit.env import (
    SettingsError,
    env_bool,
    env_int,
    env_int_range,
    env_list,
    env_rate,
    env_required,
    env_str,
)
from reachkit.netguard import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

DEBUG = env_bool("REACHKIT_DEBUG", False)


def _generated_once(name: str, make: Callable[[], str]) -> str:
    """A development secret, created on first use and kept under var/."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _secret(env_name: str, file_name: str, make: Callable[[], str]) -> str:
    if DEBUG:
        return env_str(env_name, "").strip() or _generated_once(file_name, make)
    return env_required(env_name)


SECRET_KEY = _secret("REACHKIT_SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
# Rotating the key: the new one in REACHKIT_SECRET_KEY, the old ones here (comma-separated),
# so what they signed (unsubscribe links already in inboxes, sessions) still verifies.
SECRET_KEY_FALLBACKS = env_list("REACHKIT_SECRET_KEY_FALLBACKS", [])

ENCRYPTION_KEYS = [
    key.strip()
    for key in _secret(
        "REACHKIT_ENCRYPTION_KEYS", "encryption_keys", lambda: Fernet.generate_key().decode()
    ).split(",")
    if key.strip()
]
for _position, _key in enumerate(ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key)
    except ValueError:
        raise SettingsError(
            f"REACHKIT_ENCRYPTION_KEYS key #{_position} is not a valid Fernet key"
        ) from None

ALLOWED_HOSTS = env_list("REACHKIT_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
PUBLIC_URL = env_str("REACHKIT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# It starts every unsubscribe link, written raw into the List-Unsubscribe header of each email.
if not re.fullmatch(r"https?://[!-~]+", PUBLIC_URL):
    raise SettingsError(
        "REACHKIT_PUBLIC_URL must be an http(s) URL in ASCII without spaces "
        f"(an international domain in punycode), got {PUBLIC_URL!r}"
    )
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

# --- HTTPS (`manage.py check --deploy` is clean with REACHKIT_HTTPS=1) -------------------------
# Off by default so `make run` serves http://127.0.0.1. On: plain HTTP is redirected (except
# /healthz, which load balancers probe from inside), cookies are sent over HTTPS only, and
# browsers are told to use nothing else for REACHKIT_HSTS_SECONDS.
HTTPS = env_bool("REACHKIT_HTTPS", False)
if HTTPS and not PUBLIC_URL.startswith("https://"):
    raise SettingsError("REACHKIT_HTTPS is on: REACHKIT_PUBLIC_URL must start with https://")
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
_HSTS_SECONDS = env_int("REACHKIT_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_SECONDS = _HSTS_SECONDS if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("REACHKIT_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("REACHKIT_HSTS_PRELOAD", False)
# includeSubDomains and preload bind every other site of the deployer's domain to HTTPS (preload
# for years, through browsers' built-in lists): their call to make with the two settings above,
# not a default of this app. The checks that ask for them are silenced for that reason.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
# Behind a proxy that terminates TLS: the header it sets to "https" (X-Forwarded-Proto), so
# requests are known to be secure. Unset, no header is trusted (a client could send it).
_PROXY_SSL_HEADER = env_str("REACHKIT_SECURE_PROXY_SSL_HEADER", "").strip()
if _PROXY_SSL_HEADER and not re.fullmatch(r"[A-Za-z0-9-]+", _PROXY_SSL_HEADER):
    raise SettingsError(
        f"REACHKIT_SECURE_PROXY_SSL_HEADER must be a header name, got {_PROXY_SSL_HEADER!r}"
    )
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)

SEND_GAP_SECONDS = env_int_range("REACHKIT_SEND_GAP_SECONDS", (180, 420))
# Development: the port of the local mail sink `make run` starts (`manage.py mailsink`);
# the demo inbox sends to it.
MAILSINK_PORT = env_int("MAILSINK_PORT", 1025)
MAILSINK_DIR = VAR_DIR / "mail"
# The sending engine (campaigns/sending/).
SEND_BATCH_SIZE = env_int("REACHKIT_SEND_BATCH_SIZE", 200)  # claims per campaign per round
# Emails taken for SMTP in one durable commit (their outcomes recorded with the next chunk's
# commit): a worker that dies mid-chunk leaves at most this many `unknown`. Larger is faster
# (bench/send_pipeline.py), smaller loses less to a crash.
SEND_ATTEMPT_CHUNK = env_int("REACHKIT_SEND_ATTEMPT_CHUNK", 50)
SEND_CLAIM_LEASE_SECONDS = env_int("REACHKIT_SEND_CLAIM_LEASE_SECONDS", 900)
SEND_PASS_SECONDS = env_int("REACHKIT_SEND_PASS_SECONDS", 50)  # a pass stops claiming after this
# A temporary failure (SMTP 4xx, no connection) is retried after these waits, then fails.
SEND_RETRY_DELAYS_SECONDS = (600, 1800, 7200, 21600)
SEND_RECONCILE_AFTER_SECONDS = env_int("REACHKIT_SEND_RECONCILE_AFTER_SECONDS", 120)
# Bounce protection: a campaign pauses itself when bounces pass this share of its sends.
BOUNCE_PAUSE_PERCENT = env_int("REACHKIT_BOUNCE_PAUSE_PERCENT", 5)
BOUNCE_PAUSE_MIN_SENDS = env_int("REACHKIT_BOUNCE_PAUSE_MIN_SENDS", 50)
# Warmup (inboxes/warmup.py): the pool, the ramp, the recipients' side.
WARMUP_SHARED_POOL = env_bool("REACHKIT_WARMUP_SHARED_POOL", False)
WARMUP_RAMP_STEP = env_int("REACHKIT_WARMUP_RAMP_STEP", 2)
WARMUP_REPLY_PERCENT = env_int("REACHKIT_WARMUP_REPLY_PERCENT", 30)
WARMUP_PAUSE_BELOW_HEALTH = env_int("REACHKIT_WARMUP_PAUSE_BELOW_HEALTH", 50)
WARMUP_KEEP_DAYS = env_int("REACHKIT_WARMUP_KEEP_DAYS", 3)
for _name, _value, _low, _high in (
    ("REACHKIT_WARMUP_RAMP_STEP", WARMUP_RAMP_STEP, 1, 100),
    ("REACHKIT_WARMUP_REPLY_PERCENT", WARMUP_REPLY_PERCENT, 0, 100),
    ("REACHKIT_WARMUP_PAUSE_BELOW_HEALTH", WARMUP_PAUSE_BELOW_HEALTH, 0, 100),
    ("REACHKIT_WARMUP_KEEP_DAYS", WARMUP_KEEP_DAYS, 1, 365),
):
    if not _low <= _value <= _high:
        raise SettingsError(f"{_name} must be between {_low} and {_high}, got {_value}")
DNS_SERVERS = env_list("REACHKIT_DNS_SERVERS", [])
DNS_TIMEOUT_SECONDS = env_int("REACHKIT_DNS_TIMEOUT_SECONDS", 5)

# Mailbox connections: every SMTP/IMAP connect and read gives up after this many seconds,
# so a dead host cannot hang a worker. Extra CAs (a PEM file) to trust for mail servers
# with a private certificate authority; the system's trust store is always used too.
INBOX_CONNECT_TIMEOUT_SECONDS = env_int("REACHKIT_INBOX_CONNECT_TIMEOUT_SECONDS", 10)
if INBOX_CONNECT_TIMEOUT_SECONDS < 1:
    raise SettingsError("REACHKIT_INBOX_CONNECT_TIMEOUT_SECONDS must be at least 1")
INBOX_TLS_CA_FILE = env_str("REACHKIT_INBOX_TLS_CA_FILE", "").strip()
if INBOX_TLS_CA_FILE and not Path(INBOX_TLS_CA_FILE).is_file():
    raise SettingsError(f"REACHKIT_INBOX_TLS_CA_FILE is not a file: {INBOX_TLS_CA_FILE!r}")
# A whole connection check (SMTP and IMAP, their DNS look-ups included), and any other login
# (the sender's, reconciliation's), ends by this deadline, even against a server that answers
# a byte at a time; the check task's time limits (100 s soft, 120 s hard) exceed its maximum.
INBOX_CHECK_DEADLINE_SECONDS = env_int(
    "REACHKIT_INBOX_CHECK_DEADLINE_SECONDS", 3 * INBOX_CONNECT_TIMEOUT_SECONDS
)
if not 1 <= INBOX_CHECK_DEADLINE_SECONDS <= 90:
    raise SettingsError("REACHKIT_INBOX_CHECK_DEADLINE_SECONDS must be between 1 and 90")
# Inbox hosts must resolve to public addresses (reachkit/netguard.py): these CIDRs are let
# through although private or loopback, for a self-hoster's own mail server.
INBOX_ALLOWED_NETWORKS = env_list("REACHKIT_INBOX_ALLOWED_NETWORKS", [])
try:
    parse_networks(INBOX_ALLOWED_NETWORKS)
except ValueError as _error:
    raise SettingsError(f"REACHKIT_INBOX_ALLOWED_NETWORKS: {_error}") from None

# The unified inbox's sync (unibox/imap_sync.py): an inbox's first sync reads this many days
# back; a message larger than the cap is recorded without its body (its headers only); one
# pass of an inbox stops taking new messages after SYNC_PASS_SECONDS (the next tick goes on).
SYNC_SINCE_DAYS = env_int("REACHKIT_SYNC_SINCE_DAYS", 30)
if not 1 <= SYNC_SINCE_DAYS <= 3650:
    raise SettingsError("REACHKIT_SYNC_SINCE_DAYS must be between 1 and 3650")
SYNC_MAX_MESSAGE_BYTES = env_int("REACHKIT_SYNC_MAX_MESSAGE_BYTES", 25 * 1024 * 1024)
if SYNC_MAX_MESSAGE_BYTES < 1024:
    raise SettingsError("REACHKIT_SYNC_MAX_MESSAGE_BYTES must be at least 1024")
SYNC_PASS_SECONDS = env_int("REACHKIT_SYNC_PASS_SECONDS", 150)
if not 10 <= SYNC_PASS_SECONDS <= 250:  # inside the sync task's time limit (unibox/tasks.py)
    raise SettingsError("REACHKIT_SYNC_PASS_SECONDS must be between 10 and 250")
# Development: `make run`'s mail sink writes the demo's replies into a Maildir per inbox
# under this folder, and sync reads it for inboxes without an IMAP server. Off (None)
# unless REACHKIT_DEBUG is on.
SYNC_DEMO_MAILDIR = VAR_DIR / "demo-replies" if DEBUG else None

# Reply labels (unibox/classify.py): offline unless an OpenAI-compatible chat endpoint is
# set (its base, ".../v1", or the full ".../chat/completions" URL). The self-hoster picks it,
# not a tenant, so it is not held to the inbox address policy. Any error, or an answer that
# is not one label, falls back to the offline classifier; the key is never logged.
LLM_URL = env_str("REACHKIT_LLM_URL", "").strip()
LLM_API_KEY = env_str("REACHKIT_LLM_API_KEY", "").strip()
LLM_MODEL = env_str("REACHKIT_LLM_MODEL", "").strip()
LLM_TIMEOUT_SECONDS = env_int("REACHKIT_LLM_TIMEOUT_SECONDS", 10)
if LLM_URL and not re.match(r"https?://[^/\s]+", LLM_URL):
    raise SettingsError(f"REACHKIT_LLM_URL must be an http:// or https:// URL, got {LLM_URL!r}")
if LLM_URL and not LLM_MODEL:
    raise SettingsError("REACHKIT_LLM_MODEL is required when REACHKIT_LLM_URL is set")
if not 1 <= LLM_TIMEOUT_SECONDS <= 120:
    raise SettingsError("REACHKIT_LLM_TIMEOUT_SECONDS must be between 1 and 120")

# Webhooks (reachkit/webhooks/). A tenant picks the URLs, so they follow the address policy
# (reachkit/netguard.py): public addresses only, unless a self-hoster opens the private ones
# (loopback, RFC 1918, CGNAT, unique-local; never link-local or cloud metadata). `https://`
# only, unless REACHKIT_WEBHOOK_ALLOW_HTTP (on with REACHKIT_DEBUG).
WEBHOOK_ALLOW_PRIVATE = env_bool("REACHKIT_WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_ALLOW_HTTP = env_bool("REACHKIT_WEBHOOK_ALLOW_HTTP", DEBUG)
WEBHOOK_TIMEOUT_SECONDS = env_int("REACHKIT_WEBHOOK_TIMEOUT_SECONDS", 10)
if not 1 <= WEBHOOK_TIMEOUT_SECONDS <= 30:
    raise SettingsError("REACHKIT_WEBHOOK_TIMEOUT_SECONDS must be between 1 and 30")
# After a failed attempt, the next waits this long (±20 %): about a day and a quarter in all.
WEBHOOK_RETRY_DELAYS_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 36000)
# An endpoint whose every attempt failed for this long is disabled (with the reason).
WEBHOOK_DISABLE_AFTER_SECONDS = env_int("REACHKIT_WEBHOOK_DISABLE_AFTER_DAYS", 3) * 86_400
# Events (the feed) and deliveries are kept this long.
WEBHOOK_EVENT_RETENTION_DAYS = env_int("REACHKIT_EVENT_RETENTION_DAYS", 30)
# After `rotate-secret`, the previous secret keeps signing beside the new one this long.
WEBHOOK_SECRET_OVERLAP_SECONDS = env_int("REACHKIT_WEBHOOK_SECRET_OVERLAP_SECONDS", 86_400)

# Rate limits (reachkit/ratelimit.py), as requests per window: "600/min", "5/15min".
THROTTLE_RATE = env_rate("REACHKIT_THROTTLE_RATE", "600/min")  # per API key
# Per client address, API requests without a valid key (none, malformed, wrong or revoked),
# the public schema and docs included.
ANON_THROTTLE_RATE = env_rate("REACHKIT_ANON_THROTTLE_RATE", "60/min")
UNSUBSCRIBE_RATE = env_rate("REACHKIT_UNSUBSCRIBE_RATE", "60/min")  # per address, on /u/…
# Failed admin logins per address and per username; past it, every attempt is refused (the
# right password too) until the window ends.
LOGIN_FAILURE_RATE = env_rate("REACHKIT_LOGIN_FAILURE_RATE", "5/15min")
# How many proxies of ours append to X-Forwarded-For in front of the app; 0 trusts none of it
# and counts clients by REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("REACHKIT_TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise SettingsError("REACHKIT_TRUSTED_PROXY_COUNT must be 0 or more")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "reachkit",
    "reachkit.webhooks",
    "blocklist",
    "inboxes",
    "campaigns",
    "leads",
    "unibox",
]

MIDDLEWARE = [
    "reachkit.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Content-Security-Policy on every response (django-csp; Django has its own from 6.0): the
# pages (admin, API docs, unsubscribe) load scripts, styles and images from this site only;
# an inline <style> needs the request's nonce; nothing may frame them or post elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF, "data:"],  # Swagger UI's icons are data: URIs
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
    }
}

ROOT_URLCONF = "reachkit.urls"
WSGI_APPLICATION = "reachkit.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", "") or f"sqlite:///{VAR_DIR / 'reachkit.sqlite3'}"
# Seconds a database connection is kept for the next request. Not under runserver (`make run`):
# it starts a thread per request, and each thread's kept connection stayed open until
# PostgreSQL refused new clients, so a few parallel clients got 500s ("too many clients").
_RUNSERVER = sys.argv[1:2] == ["runserver"]
DB_CONN_MAX_AGE = env_int("REACHKIT_DB_CONN_MAX_AGE", 0 if _RUNSERVER else 60)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one file: WAL lets readers run beside a writer and
    # IMMEDIATE transactions take the write lock up front instead of failing midway.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # SQLite cannot defer a unique constraint, so Django creates none for a campaign's step
    # numbers (deferred on PostgreSQL: deleting a step renumbers the later ones in one UPDATE)
    # and warns (models.W038) on every migrate. The steps stay unique there all the same: they
    # are numbered under the campaign's lock, and IMMEDIATE transactions run one writer at a time.
    SILENCED_SYSTEM_CHECKS.append("models.W038")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_ENGINE = "reachkit.sessions"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Uploaded and received files (the unified inbox's attachments) go through Django's storage
# API: files under var/media by default; never served as static files (the API serves each).
MEDIA_ROOT = env_str("REACHKIT_MEDIA_ROOT", "") or str(VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve app static files (admin, API docs) straight from their packages, so a
# deployment without `collectstatic` still has a working admin and docs page.
WHITENOISE_USE_FINDERS = True

# A bulk call of 1,000 leads with variables stays well under this; anything larger is 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Celery ---------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or "filesystem://localhost/"
if CELERY_BROKER_URL in ("filesystem://", "filesystem:///"):
    # The same broker; named with a host, kombu stops warning "No hostname was supplied" on
    # every command that enqueues a task.
    CELERY_BROKER_URL = "filesystem://localhost/"
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Two queues, each with its own workers: `celery` (sending, scheduling, everything else) and
# `connections` (logins to tenants' mail servers, whose hosts a tenant picks), so slow or
# dead servers hold up only other connection checks, never sending. A worker consumes only
# the queues it is given with -Q (see the Procfile and the README's production processes).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CONNECTIONS_QUEUE = "connections"
# Webhook deliveries (tenants' URLs, up to 10 s each) have their own queue and workers too.
WEBHOOKS_QUEUE = "webhooks"
CELERY_TASK_ROUTES = {
    "inboxes.check_connection": {"queue": CONNECTIONS_QUEUE},
    "unibox.sync_inbox": {"queue": CONNECTIONS_QUEUE},
    "webhooks.*": {"queue": WEBHOOKS_QUEUE},
    # Warmup's recipients' side reads tenants' mailboxes (IMAP): as slow as they are.
    "inboxes.warmup_receive": {"queue": CONNECTIONS_QUEUE},
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# The beat schedule, registered into django-celery-beat by `migrate` (reachkit/periodic.py).
PERIODIC_TASKS: list[dict[str, object]] = [
    # Leads whose ESP detection task was lost (a worker restart) get detected anyway.
    {"name": "detect lead providers", "task": "leads.detect_providers_due", "every_seconds": 60},
    # The send scheduler's tick.
    {"name": "send due emails", "task": "campaigns.send_due", "every_seconds": 60},
    # The unified inbox: each connected inbox's IMAP sync (unibox/imap_sync.py).
    {"name": "sync inboxes", "task": "unibox.sync_inboxes", "every_seconds": 60},
    # Campaigns' cached progress (it reads every lead, so not on each tick).
    {
        "name": "refresh campaign progress",
        "task": "campaigns.refresh_progress",
        "every_seconds": 300,
    },
    # Webhook retries that came due, and deliveries whose hand-over was lost.
    {"name": "deliver due webhooks", "task": "webhooks.tick", "every_seconds": 10},
    # Events and deliveries past REACHKIT_EVENT_RETENTION_DAYS.
    {"name": "purge old events", "task": "webhooks.purge", "every_seconds": 3600},
    # Warmup: send what is due (and plan the day), then read the recipients' mailboxes.
    {"name": "send warmup emails", "task": "inboxes.warmup_send", "every_seconds": 60},
    {"name": "receive warmup emails", "task": "inboxes.warmup_receive", "every_seconds": 300},
]

# --- Cache (throttling) -----------------------------------------------------------------

if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "KEY_PREFIX": "reachkit",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "reachkit.cache.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- API ----------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["reachkit.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["reachkit.api.renderers.EnvelopeRenderer"],
    "DEFAULT_PARSER_CLASSES": ["reachkit.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "reachkit.api.pagination.PagePagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "reachkit.api.filters.SearchFilter",
        "reachkit.api.filters.SortFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["reachkit.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": THROTTLE_RATE},
    "DEFAULT_SCHEMA_CLASS": "reachkit.api.schema.AutoSchema",
    # OPTIONS names the methods and points to the OpenAPI document (reachkit/api/metadata.py).
    "DEFAULT_METADATA_CLASS": "reachkit.api.metadata.MethodsMetadata",
    "EXCEPTION_HANDLER": "reachkit.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "COERCE_DECIMAL_TO_STRING": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Reachkit API",
    "DESCRIPTION": (
        "The v1 REST API of Reachkit, the open-source cold-email outreach platform. "
        "Authenticate with `Authorization: Bearer rk_…`, `X-API-Key: rk_…` or `?api_key=rk_…`."
    ),
    "VERSION": "1.0.0",
    # OpenAPI 3.1 (JSON Schema 2020-12): `propertyNames` for merge-tag variable names, `const`,
    # and `null` as a type, which 3.0 cannot say.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Our authentication: without a valid key, fetching the schema counts against the address.
    "SERVE_AUTHENTICATION": None,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Each PATCH has its own input serializer that says which fields are optional; a
    # generated "Patched" copy would drop the ones it requires (a step's `delay_days`).
    "COMPONENT_SPLIT_PATCH": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Several resources have a `status` with its own choices: each set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "CampaignStatusChangeEnum": "campaigns.api.serializers.STATUS_CHANGES",
        "InboxProviderEnum": "inboxes.models.Inbox.Provider",
        "WarmupStatusEnum": "inboxes.warmup.WarmupStatus",
        "LeadProviderEnum": "leads.models.Lead.Provider",
        "ConversationLabelEnum": "unibox.models.Conversation.Label",
        "EventTypeEnum": "reachkit.webhooks.models.EventType",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reachkit.api.schema.wrap_in_envelopes",
    ],
}

# --- Logging --------------------------------------------------------------------------------

LOG_LEVEL = env_str("REACHKIT_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_secrets": {"()": "reachkit.logs.ScrubSecretsFilter"}},
    "formatters": {"logfmt": {"()": "reachkit.logs.LogfmtFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "logfmt",
            "filters": ["scrub_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # runserver's access line and django.request's 4xx warnings repeat what
        # RequestLogMiddleware says: ours is the one line per request; errors still show.
        "django.server": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "celery": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # flufl.bounce says at INFO which of its twenty detectors it runs, for every bounce.
        "flufl.bounce": {"level": "WARNING"},
        # httpx says at INFO every request's whole URL: a webhook's carries its secret path or
        # query (reachkit/webhooks/transport.py). Deliveries record their outcome instead.
        "httpx": {"level": "WARNING"},
    },
}
