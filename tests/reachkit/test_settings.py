"""Settings come from the environment; production refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; from django.conf import settings; django.setup(); "
    "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL, settings.DEBUG)"
)
GOOD_KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDA="


def run_settings(probe: str = PROBE, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REACHKIT_", "DATABASE_URL", "CELERY_"))
    }
    clean.update(DJANGO_SETTINGS_MODULE="reachkit.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_settings(REACHKIT_ENCRYPTION_KEYS=GOOD_KEY)
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        == "reachkit: REACHKIT_SECRET_KEY is required when REACHKIT_DEBUG is off"
    )


def test_production_refuses_to_start_without_encryption_keys():
    result = run_settings(REACHKIT_SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "reachkit: REACHKIT_ENCRYPTION_KEYS is required when REACHKIT_DEBUG is off"
    )


def test_a_malformed_encryption_key_is_refused_by_position():
    result = run_settings(REACHKIT_SECRET_KEY="s" * 50, REACHKIT_ENCRYPTION_KEYS=f"{GOOD_KEY},nope")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "reachkit: REACHKIT_ENCRYPTION_KEYS key #2 is not a valid Fernet key"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REACHKIT_DEBUG", "maybe"),
        ("REACHKIT_THROTTLE_RATE", "lots"),
        ("REACHKIT_ANON_THROTTLE_RATE", "60"),
        ("REACHKIT_UNSUBSCRIBE_RATE", "60/fortnight"),
        ("REACHKIT_LOGIN_FAILURE_RATE", "5/0min"),
        ("REACHKIT_TRUSTED_PROXY_COUNT", "-1"),
        ("REACHKIT_DB_CONN_MAX_AGE", "forever"),
        ("REACHKIT_HTTPS", "maybe"),
        ("REACHKIT_HSTS_SECONDS", "a year"),
        ("REACHKIT_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https"),
        ("REACHKIT_SEND_GAP_SECONDS", "420,180"),
        ("REACHKIT_DNS_TIMEOUT_SECONDS", "soon"),
        ("REACHKIT_PUBLIC_URL", "reach.example.com"),
        ("REACHKIT_PUBLIC_URL", "https://réach.example.com"),
        ("REACHKIT_PUBLIC_URL", "https://reach.example.com/a b"),
    ],
)
def test_a_malformed_setting_stops_the_process_with_one_line_naming_it(name, value):
    result = run_settings(
        REACHKIT_SECRET_KEY="s" * 50, REACHKIT_ENCRYPTION_KEYS=GOOD_KEY, **{name: value}
    )
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert name in result.stderr


def test_production_starts_with_its_secrets_on_the_embedded_defaults():
    result = run_settings(REACHKIT_SECRET_KEY="s" * 50, REACHKIT_ENCRYPTION_KEYS=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "filesystem://localhost/",
        "False",
    ]


def test_database_and_broker_urls_switch_to_postgresql_and_redis():
    result = run_settings(
        REACHKIT_SECRET_KEY="s" * 50,
        REACHKIT_ENCRYPTION_KEYS=GOOD_KEY,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/reachkit",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://127.0.0.1:6379/0",
        "False",
    ]


def test_debug_generates_development_secrets_once():
    secret_file = ROOT / "var" / "secret_key"
    keys_file = ROOT / "var" / "encryption_keys"
    assert run_settings(REACHKIT_DEBUG="1").returncode == 0
    secret, keys = secret_file.read_text(), keys_file.read_text()
    assert run_settings(REACHKIT_DEBUG="1").returncode == 0
    assert (secret_file.read_text(), keys_file.read_text()) == (secret, keys)
    assert len(secret) >= 50


def test_throttling_counts_in_redis_when_the_broker_is_redis():
    result = run_settings(
        REACHKIT_SECRET_KEY="s" * 50,
        REACHKIT_ENCRYPTION_KEYS=GOOD_KEY,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        probe="from django.conf import settings; print(settings.CACHES['default']['BACKEND'])",
    )
    assert result.stdout.strip() == "django.core.cache.backends.redis.RedisCache", result.stderr


DEPLOY_PROBE = (
    "import django; from django.conf import settings; django.setup(); "
    "print(settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, "
    "settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS, "
    "settings.SECURE_PROXY_SSL_HEADER, settings.SECRET_KEY_FALLBACKS, sep='|')"
)


def test_by_default_http_works_as_make_run_serves_it():
    result = run_settings(
        DEPLOY_PROBE, REACHKIT_SECRET_KEY="s" * 50, REACHKIT_ENCRYPTION_KEYS=GOOD_KEY
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False|False|False|0|None|[]"


def test_https_turns_on_redirects_secure_cookies_and_hsts():
    result = run_settings(
        DEPLOY_PROBE,
        REACHKIT_SECRET_KEY="s" * 50,
        REACHKIT_ENCRYPTION_KEYS=GOOD_KEY,
        REACHKIT_PUBLIC_URL="https://reach.example.com",
        REACHKIT_HTTPS="1",
        REACHKIT_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        REACHKIT_SECRET_KEY_FALLBACKS="old-key-1, old-key-2",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True|True|True|31536000|('HTTP_X_FORWARDED_PROTO', 'https')|['old-key-1', 'old-key-2']"
    )


def test_https_with_an_http_public_url_is_refused():
    result = run_settings(
        REACHKIT_SECRET_KEY="s" * 50, REACHKIT_ENCRYPTION_KEYS=GOOD_KEY, REACHKIT_HTTPS="1"
    )
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "reachkit: REACHKIT_HTTPS is on: REACHKIT_PUBLIC_URL must start with https://"
    )


def test_the_embedded_broker_gives_kombu_a_host_so_no_command_warns():
    probe = (
        "import logging, sys; logging.basicConfig(stream=sys.stderr); "
        "import django; from django.conf import settings; django.setup(); "
        "from kombu import Connection; "
        "Connection(settings.CELERY_BROKER_URL, "
        "transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS).info(); print('ok')"
    )
    for url in ("", "filesystem://"):
        result = run_settings(
            probe,
            REACHKIT_SECRET_KEY="s" * 50,
            REACHKIT_ENCRYPTION_KEYS=GOOD_KEY,
            CELERY_BROKER_URL=url,
        )
        assert result.stdout.strip() == "ok", result.stderr
        assert "hostname" not in result.stderr


def test_migrating_a_new_sqlite_database_prints_nothing(tmp_path):
    """No W038: SQLite has no deferrable unique constraint for a campaign's step numbers."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REACHKIT_", "DATABASE_URL", "CELERY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="reachkit.settings",
        REACHKIT_SECRET_KEY="s" * 50,
        REACHKIT_ENCRYPTION_KEYS=GOOD_KEY,
        DATABASE_URL=f"sqlite:///{tmp_path / 'new.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
