"""Finding 10: a production deployment is configured from the environment, and checked."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.contrib.messages.storage.cookie import MessageSerializer
from django.core import signing
from django.test import Client

from campaigns.content import unsubscribe
from reachkit.models import ApiKey
from tests.leads.factories import LeadFactory
from tests.reachkit.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
# The production environment the README documents.
PRODUCTION = {
    "REACHKIT_SECRET_KEY": secrets.token_urlsafe(50),
    "REACHKIT_SECRET_KEY_FALLBACKS": secrets.token_urlsafe(50),
    "REACHKIT_ENCRYPTION_KEYS": "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDA=",
    "REACHKIT_ALLOWED_HOSTS": "reach.example.com",
    "REACHKIT_PUBLIC_URL": "https://reach.example.com",
    "REACHKIT_HTTPS": "1",
    "REACHKIT_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "REACHKIT_TRUSTED_PROXY_COUNT": "1",
}


def test_check_deploy_finds_nothing_under_the_production_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REACHKIT_", "DJANGO_"))}
    env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="reachkit.settings")

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (2 silenced)." in result.stdout


def test_pages_forbid_inline_scripts_and_foreign_origins(db, django_user_model):
    pages = [
        "/admin/login/",
        "/api/v1/docs/",
        f"/u/{unsubscribe.token_for(LeadFactory())}",
    ]
    for page in pages:
        response = Client().get(page)
        assert response.status_code == 200, page
        policy = response["Content-Security-Policy"]
        directives = {
            part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()
        }
        assert directives["script-src"] == ["'self'"], page
        assert directives["default-src"] == ["'self'"], page
        assert directives["frame-ancestors"] == ["'none'"], page
        assert "unsafe-inline" not in policy, page


def readable(cookie_value: str) -> str:
    """A cookie as its reader sees it: the messages cookie is signed and compressed JSON."""
    signer = signing.get_cookie_signer(salt="django.contrib.messages")
    try:
        return str(signer.unsign_object(cookie_value, serializer=MessageSerializer))
    except signing.BadSignature:
        return cookie_value


def test_a_new_api_key_never_travels_in_a_cookie(db, alice):
    admin = Client(enforce_csrf_checks=False)
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    created = admin.post(
        "/admin/reachkit/apikey/add/", {"workspace": alice.workspace.pk, "name": "new one"}
    )
    next_page = admin.get("/admin/reachkit/apikey/")
    shown = re.search(rb"rk_[0-9a-f]{8}_[A-Za-z0-9_-]+", created.content + next_page.content)
    raw_key = shown.group(0).decode()
    secret = raw_key.split("_", 2)[2]

    assert ApiKey.objects.get(name="new one").matches(raw_key)
    cookies = [*created.cookies.values(), *next_page.cookies.values(), *admin.cookies.values()]
    assert all(secret not in readable(cookie.value) for cookie in cookies)
    assert secret not in str(dict(admin.session))
    assert "no-store" in created["Cache-Control"]


def test_unsubscribe_links_survive_a_secret_key_rotation(db, settings):
    lead = LeadFactory()
    settings.SECRET_KEY = "the-old-key-" + "a" * 50
    path = f"/u/{unsubscribe.token_for(lead)}"

    settings.SECRET_KEY = "the-new-key-" + "b" * 50
    settings.SECRET_KEY_FALLBACKS = ["the-old-key-" + "a" * 50]
    assert Client().get(path).status_code == 200

    settings.SECRET_KEY_FALLBACKS = []
    assert Client().get(path).status_code == 404
