"""Finding 6: rate limits hold under parallel clients, and cover every way in.

The proof of the counter runs against a real server, with real parallel clients, on
PostgreSQL with Redis as the cache, as production runs.
"""

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from campaigns.content import unsubscribe
from reachkit.services import api_key_create
from tests.leads.factories import LeadFactory
from tests.reachkit.factories import WorkspaceFactory
from tests.security.clients import parallel_requests, wait_for_a_fresh_window

URL = "/api/v1/blocklist"


@pytest.mark.postgres
def test_parallel_clients_cannot_get_more_than_the_keys_rate_through(
    live_server, redis_cache, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("parallel clients are proven on PostgreSQL")
    _, raw_key = api_key_create(workspace=WorkspaceFactory(), name="burst")
    settings.THROTTLE_RATE = "40/hour"
    wait_for_a_fresh_window(3600)

    statuses = parallel_requests(
        live_server.url, URL, clients=8, each=10, headers={"X-API-Key": raw_key}
    )

    assert statuses == {200: 40, 429: 40}
    (counter,) = redis_cache.scan_iter(match="*ratelimit:api-key:*")
    assert int(redis_cache.get(counter)) == 80


def test_guessing_api_keys_from_one_address_is_cut_off(alice, settings):
    settings.ANON_THROTTLE_RATE = "5/min"
    guesser = APIClient(REMOTE_ADDR="203.0.113.9")
    statuses = [
        guesser.get(URL, HTTP_X_API_KEY=f"rk_{alice.api_key.prefix}_guess{n}").status_code
        for n in range(8)
    ]

    assert statuses == [401] * 5 + [429] * 3
    # The right key still works, from there and from anywhere else.
    assert guesser.get(URL, HTTP_X_API_KEY=alice.raw_key).status_code == 200
    assert APIClient(REMOTE_ADDR="198.51.100.7").get(URL).status_code == 401


def test_unsubscribe_links_cannot_be_hammered_from_one_address(db, settings):
    settings.UNSUBSCRIBE_RATE = "3/min"
    url = f"/u/{unsubscribe.token_for(LeadFactory())}"
    hammer = Client(REMOTE_ADDR="203.0.113.9")

    statuses = [hammer.get(url).status_code for _ in range(3)]
    statuses.append(hammer.post(url).status_code)

    assert statuses == [200, 200, 200, 429]
    assert Client(REMOTE_ADDR="198.51.100.7").post(url).status_code == 200


def test_admin_password_guessing_locks_the_login_even_for_the_right_password(
    django_user_model, settings
):
    settings.LOGIN_FAILURE_RATE = "5/15min"
    django_user_model.objects.create_superuser("boss", "boss@example.com", "the-right-password")
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")

    def log_in(password: str):
        browser.get("/admin/login/")
        return browser.post(
            "/admin/login/",
            {
                "username": "boss",
                "password": password,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
                "next": "/admin/",
            },
        )

    for n in range(5):
        assert log_in(f"guess-{n}").status_code == 200

    refused = log_in("the-right-password")

    assert refused.status_code == 200  # the login page again, not a redirect into the admin
    assert "Too many failed logins" in refused.content.decode()
    assert "_auth_user_id" not in browser.session
