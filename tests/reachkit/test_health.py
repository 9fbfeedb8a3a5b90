"""`/healthz` against real services: the ones configured, and ones that are really down."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json; django.setup(); from django.test import Client; "
    "r = Client().get('/healthz'); print(r.status_code, r.content.decode())"
)
NOTHING_LISTENS = "127.0.0.1:9"


def healthz_with(**env: str) -> tuple[int, dict]:
    """Ask /healthz in a fresh process whose settings point where `env` says."""
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    status, _, body = result.stdout.strip().partition(" ")
    assert status, result.stderr
    return int(status), json.loads(body)


def test_healthz_is_200_when_database_and_broker_answer(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_is_503_naming_the_broker_when_it_is_down():
    status, body = healthz_with(CELERY_BROKER_URL=f"redis://{NOTHING_LISTENS}/0")
    assert status == 503
    assert body["status"] == "down"
    assert body["checks"]["broker"] == "down"


def test_healthz_is_503_naming_the_database_when_it_is_down():
    status, body = healthz_with(DATABASE_URL=f"postgres://postgres@{NOTHING_LISTENS}/reachkit")
    assert status == 503
    assert body["checks"]["database"] == "down"
