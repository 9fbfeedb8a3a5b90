"""The auth matrix: three ways in, and every way of being turned away is a 401 envelope."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from reachkit.services import api_key_revoke

URL = "/api/v1/blocklist"


def assert_unauthorized(response, code: str) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == code
    assert body["error"]
    assert body["details"] == {}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bearer_header_authenticates(alice):
    response = APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {alice.raw_key}")
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_x_api_key_header_authenticates(alice):
    response = APIClient().get(URL, HTTP_X_API_KEY=alice.raw_key)
    assert response.status_code == 200


def test_query_parameter_authenticates(alice):
    response = APIClient().get(URL, {"api_key": alice.raw_key})
    assert response.status_code == 200


def test_missing_key_is_401(db):
    assert_unauthorized(APIClient().get(URL), "not_authenticated")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer not-a-key",
        "Bearer rk_short_x",
    ],
)
def test_malformed_authorization_is_401(db, header):
    assert_unauthorized(APIClient().get(URL, HTTP_AUTHORIZATION=header), "authentication_failed")


def test_unknown_key_with_a_real_prefix_is_401(alice):
    forged = alice.raw_key[:-4] + ("AAAA" if not alice.raw_key.endswith("AAAA") else "BBBB")
    assert_unauthorized(APIClient().get(URL, HTTP_X_API_KEY=forged), "authentication_failed")


def test_unknown_key_is_401(db):
    response = APIClient().get(URL, HTTP_X_API_KEY="rk_00000000_" + "a" * 32)
    assert_unauthorized(response, "authentication_failed")


def test_revoked_key_is_401(alice):
    api_key_revoke(api_key=alice.api_key)
    assert_unauthorized(alice.client.get(URL), "authentication_failed")


def test_bad_key_in_a_header_is_not_rescued_by_a_good_query_key(alice):
    response = APIClient().get(URL, {"api_key": alice.raw_key}, HTTP_X_API_KEY="rk_bad")
    assert response.status_code == 401


def test_use_is_recorded_at_most_once_a_minute(alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        alice.client.get(URL)
        alice.api_key.refresh_from_db()
        assert alice.api_key.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        alice.client.get(URL)
        alice.api_key.refresh_from_db()
        assert alice.api_key.last_used_at == start
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        alice.client.get(URL)
        alice.api_key.refresh_from_db()
        assert alice.api_key.last_used_at == start + timedelta(minutes=2)


@pytest.mark.parametrize(
    "raw_key",
    [
        "rk_\x00\x00\x00\x00\x00\x00\x00\x00_abc",
        "rk_abcdef12_abc\x00",
        "rk_abcdef12_\x01\x02",
        "rk_ABCDEF12_abc",
        "rk_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9_abc",
        "rk_abcdef12_" + "a" * 300,
    ],
    ids=["nul prefix", "nul secret", "control secret", "upper-case prefix", "latin-1", "huge"],
)
@pytest.mark.parametrize("where", ["bearer", "x-api-key", "query"])
def test_a_key_with_odd_characters_is_a_malformed_401_not_a_500(db, raw_key, where):
    client = APIClient(raise_request_exception=False)
    if where == "bearer":
        response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    elif where == "x-api-key":
        response = client.get(URL, HTTP_X_API_KEY=raw_key)
    else:
        response = client.get(URL, {"api_key": raw_key})
    assert_unauthorized(response, "authentication_failed")
    assert response.json()["error"] == "Malformed API key."
