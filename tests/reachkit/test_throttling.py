"""Rate limits: per API key, per address for requests without a valid key, exact under
parallel requests on every cache Reachkit configures, with a correct Retry-After."""

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.request import urlopen

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from reachkit import ratelimit
from reachkit.services import api_key_create, api_key_revoke
from tests.reachkit.factories import WorkspaceFactory
from tests.security.clients import parallel_requests, wait_for_a_fresh_window

URL = "/api/v1/blocklist"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def three_a_minute(settings):
    settings.THROTTLE_RATE = "3/min"


@pytest.fixture
def file_cache(settings, tmp_path):
    settings.CACHES = {
        "default": {"BACKEND": "reachkit.cache.FileBasedCache", "LOCATION": str(tmp_path)}
    }


def test_requests_beyond_the_rate_are_429_with_retry_after(api, three_a_minute):
    for _ in range(3):
        assert api.get(URL).status_code == 200

    response = api.get(URL)

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_key_has_its_own_budget(api, charlie, three_a_minute):
    for _ in range(3):
        api.get(URL)
    assert api.get(URL).status_code == 429
    assert charlie.client.get(URL).status_code == 200


def test_retry_after_is_the_time_left_in_the_window(api, three_a_minute):
    with time_machine.travel(datetime(2026, 3, 2, 9, 30, 20, tzinfo=UTC), tick=False):
        for _ in range(3):
            api.get(URL)
        response = api.get(URL)
    assert response.status_code == 429
    assert response["Retry-After"] == "40"
    with time_machine.travel(datetime(2026, 3, 2, 9, 31, 0, tzinfo=UTC), tick=False):
        assert api.get(URL).status_code == 200


# --- Without a valid key: per address ------------------------------------------------------------


@pytest.fixture
def two_a_minute_per_address(settings):
    settings.ANON_THROTTLE_RATE = "2/min"


def test_requests_without_a_key_are_limited_per_address(db, two_a_minute_per_address):
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    assert [client.get(URL).status_code for _ in range(2)] == [401, 401]

    response = client.get(URL)

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 60
    assert APIClient(REMOTE_ADDR="203.0.113.10").get(URL).status_code == 401


@pytest.mark.parametrize(
    "credentials",
    [
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
        {"HTTP_AUTHORIZATION": "Bearer not-a-key"},
        {"HTTP_X_API_KEY": "rk_00000000_" + "a" * 32},
        {"HTTP_X_API_KEY": "rk_\x00\x00\x00\x00\x00\x00\x00\x00_a"},
    ],
    ids=["other scheme", "malformed key", "unknown key", "key with NUL"],
)
def test_every_refused_key_counts_against_the_address(db, two_a_minute_per_address, credentials):
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    statuses = [client.get(URL, **credentials).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_a_revoked_key_counts_against_the_address(alice, two_a_minute_per_address):
    api_key_revoke(api_key=alice.api_key)
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    statuses = [client.get(URL, HTTP_X_API_KEY=alice.raw_key).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_valid_keys_spend_their_own_budget_not_the_addresss(alice, two_a_minute_per_address):
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        assert client.get(URL, HTTP_X_API_KEY=alice.raw_key).status_code == 200
    assert [client.get(URL).status_code for _ in range(3)] == [401, 401, 429]


def test_the_public_schema_counts_against_the_address(db, two_a_minute_per_address):
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    statuses = [client.get("/api/v1/schema/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_forged_x_forwarded_for_buys_no_fresh_budget(db, two_a_minute_per_address):
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    statuses = [
        client.get(URL, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_behind_trusted_proxies_the_client_is_read_from_the_right(
    db, two_a_minute_per_address, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")

    def through_proxy(forged: str, client: str) -> int:
        return proxy.get(URL, HTTP_X_FORWARDED_FOR=f"{forged}, {client}").status_code

    # Whatever the client writes on the left, it is counted by what our proxy saw.
    assert [through_proxy(f"198.51.100.{n}", "203.0.113.9") for n in range(3)] == [401, 401, 429]
    assert through_proxy("198.51.100.1", "203.0.113.10") == 401


def test_ipv6_clients_count_by_their_64(db, two_a_minute_per_address):
    statuses = [
        APIClient(REMOTE_ADDR=f"2001:db8:1:2::{n}").get(URL).status_code for n in range(1, 4)
    ]
    assert statuses == [401, 401, 429]
    assert APIClient(REMOTE_ADDR="2001:db8:1:3::1").get(URL).status_code == 401


# --- The counter is exact under parallel requests -------------------------------------------------


def test_the_file_cache_counts_parallel_hits_exactly(file_cache):
    allowed: list[bool] = []
    start = threading.Barrier(8)

    def client() -> None:
        start.wait()
        for _ in range(25):
            allowed.append(ratelimit.hit("test", "one key", "100/hour").allowed)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed.count(True) == 100
    assert len(allowed) == 200


def test_the_file_caches_incr_keeps_the_entrys_expiry(file_cache):
    start = time.time()
    with time_machine.travel(start, tick=False):
        cache.add("counter", 0, timeout=600)
    with time_machine.travel(start + 400, tick=False):
        assert cache.incr("counter") == 1
    with time_machine.travel(start + 650, tick=False):
        # Django's own incr rewrites the entry with the default timeout (300 s from the incr).
        assert cache.get("counter") is None
        with pytest.raises(ValueError, match="not found"):
            cache.incr("counter")


def test_redis_counts_parallel_hits_exactly(redis_cache):
    allowed: list[bool] = []
    start = threading.Barrier(8)

    def client() -> None:
        start.wait()
        for _ in range(25):
            allowed.append(ratelimit.hit("test", "one key", "100/hour").allowed)

    wait_for_a_fresh_window(3600)
    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed.count(True) == 100
    ttl = redis_cache.ttl(next(redis_cache.scan_iter(match="*ratelimit:test:*")))
    assert 0 < ttl <= 3600 + 60


# --- make run's web process: runserver, the file cache, here on PostgreSQL ------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _connections_to(database: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database])
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_runserver_under_parallel_clients_keeps_the_rate_and_no_connection_per_thread():
    """runserver starts a thread per request: with connections kept for reuse, each thread's
    stayed open until PostgreSQL refused clients and requests answered 500."""
    if connection.vendor != "postgresql":
        pytest.skip("runserver's connections are checked on PostgreSQL")
    database = connection.settings_dict
    _, raw_key = api_key_create(workspace=WorkspaceFactory(), name="burst")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REACHKIT_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="reachkit.settings",
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}"
            f"@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"
        ),
        REACHKIT_SECRET_KEY="runserver-test-" + "s" * 50,
        REACHKIT_ENCRYPTION_KEYS="c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDA=",
        REACHKIT_THROTTLE_RATE="40/hour",
    )
    before = _connections_to(database["NAME"])
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urlopen(f"{base}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        wait_for_a_fresh_window(3600)

        statuses = parallel_requests(base, URL, clients=8, each=10, headers={"X-API-Key": raw_key})
        kept = _connections_to(database["NAME"]) - before
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)

    assert statuses == {200: 40, 429: 40}, errors[-3000:]
    assert kept <= 1
