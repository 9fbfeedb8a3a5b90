"""`Idempotency-Key` on the API's POSTs (reachkit/api/idempotency.py)."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from blocklist.models import BlocklistEntry
from campaigns.models import Campaign
from reachkit.models import IdempotencyKey


def _post(client, path, body, key):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_again(api):
    first = _post(api, "/api/v1/campaigns", {"name": "Q3"}, "key-1")
    again = _post(api, "/api/v1/campaigns", {"name": "Q3"}, "key-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Campaign.objects.count() == 1
    # Without the key, or with another, it is a new request.
    assert _post(api, "/api/v1/campaigns", {"name": "Q3"}, "key-2").status_code == 201
    assert api.post("/api/v1/campaigns", {"name": "Q3"}, format="json").status_code == 201
    assert Campaign.objects.count() == 3


def test_the_same_key_with_another_body_is_a_422(api):
    assert _post(api, "/api/v1/blocklist", {"email": "a@x.com"}, "k").status_code == 201
    response = _post(api, "/api/v1/blocklist", {"email": "b@x.com"}, "k")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert list(BlocklistEntry.objects.values_list("value", flat=True)) == ["a@x.com"]


def test_keys_belong_to_one_workspace(alice, charlie):
    assert _post(alice.client, "/api/v1/blocklist", {"email": "a@x.com"}, "k").status_code == 201
    assert _post(charlie.client, "/api/v1/blocklist", {"email": "z@x.com"}, "k").status_code == 201
    assert BlocklistEntry.objects.count() == 2


def test_a_refused_request_is_an_answer_too(api):
    first = _post(api, "/api/v1/campaigns", {"name": ""}, "k")
    assert first.status_code == 422
    again = _post(api, "/api/v1/campaigns", {"name": ""}, "k")
    assert (again.status_code, again.json()) == (422, first.json())
    assert again["Idempotent-Replayed"] == "true"
    # A corrected request takes a new key.
    assert _post(api, "/api/v1/campaigns", {"name": "Fixed"}, "k2").status_code == 201


def test_a_server_error_keeps_nothing_so_a_retry_runs_again(api, monkeypatch):
    from campaigns import services

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "campaign_create", broken)
    assert _post(api, "/api/v1/campaigns", {"name": "Q3"}, "k").status_code == 500
    assert not IdempotencyKey.objects.exists()
    monkeypatch.undo()
    assert _post(api, "/api/v1/campaigns", {"name": "Q3"}, "k").status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\there", "é"])
def test_a_malformed_key_is_a_422(api, key):
    response = api.post(
        "/api/v1/campaigns", {"name": "Q3"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["details"]
    assert not Campaign.objects.exists()


def test_a_key_is_forgotten_after_a_day(api):
    assert _post(api, "/api/v1/campaigns", {"name": "Q3"}, "k").status_code == 201
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        response = _post(api, "/api/v1/campaigns", {"name": "Q3"}, "k")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Campaign.objects.count() == 2


def test_gets_and_other_methods_ignore_the_key(api):
    assert api.get("/api/v1/campaigns", HTTP_IDEMPOTENCY_KEY="k").status_code == 200
    assert not IdempotencyKey.objects.exists()


def test_every_post_of_the_schema_documents_the_header():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    posts = [ops["post"] for ops in schema["paths"].values() if "post" in ops]
    assert posts
    for operation in posts:
        names = {p["name"] for p in operation.get("parameters", [])}
        assert "Idempotency-Key" in names
        assert {"409", "422"} <= set(operation["responses"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_write_once(alice, settings):
    """The second waits for the first's insert of the key, then replays its answer (or, if it
    still finds it running, gets a 409): one campaign either way."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's shared in-memory test database locks tables instead of waiting")
    results: list[int] = []

    def request() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.raw_key}")
        try:
            results.append(_post(client, "/api/v1/campaigns", {"name": "Race"}, "race").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Campaign.objects.filter(name="Race").count() == 1
    assert sorted(set(results)) in ([201], [201, 409], [409, 201])
    assert results.count(201) >= 1
