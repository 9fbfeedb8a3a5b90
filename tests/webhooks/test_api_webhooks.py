"""`/api/v1/webhooks`: create, list, read, change, delete, rotate the secret, and the rules."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reachkit.webhooks.models import Delivery, WebhookEndpoint
from reachkit.webhooks.services import MAX_ENDPOINTS_PER_WORKSPACE


def _create(client, url="https://hooks.example.com/reachkit", **fields):
    return client.post("/api/v1/webhooks", {"url": url, **fields}, format="json")


@pytest.fixture(autouse=True)
def _public_name(dns_zone):
    dns_zone.add_address("hooks.example.com", "93.184.215.14")
    dns_zone.add_address("inside.example.com", "10.1.2.3")
    dns_zone.add_address("metadata.example.com", "169.254.169.254")


def test_a_webhook_is_created_with_its_secret_shown_once(api):
    response = _create(
        api, event_types=["reply_received", "email_sent"], description="HubSpot sync"
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["secret"].startswith("whsec_")
    assert data["event_types"] == ["email_sent", "reply_received"]
    assert data["is_active"] is True
    assert data["disabled_reason"] == ""

    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    assert endpoint.secret == data["secret"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhookendpoint")
        (stored,) = cursor.fetchone()
    assert data["secret"] not in stored  # encrypted at rest

    for response in (
        api.get(f"/api/v1/webhooks/{data['id']}"),
        api.get("/api/v1/webhooks"),
        api.patch(f"/api/v1/webhooks/{data['id']}", {"description": "x"}, format="json"),
    ):
        assert response.status_code == 200
        assert data["secret"] not in response.content.decode()
        assert 'secret"' not in response.content.decode().replace("previous_secret", "")


def test_a_secret_kept_for_an_idempotent_retry_is_encrypted_at_rest(api):
    # The answer an Idempotency-Key keeps for a retry holds the secret: a retry gets it again
    # (the first answer may have been lost), but the database never holds it in clear.
    first = api.post(
        "/api/v1/webhooks",
        {"url": "https://hooks.example.com/reachkit"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-hook",
    )
    assert first.status_code == 201
    webhook = first.json()["data"]
    rotated = api.post(
        f"/api/v1/webhooks/{webhook['id']}/rotate-secret",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY="rotate-hook",
    )
    assert rotated.status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM reachkit_idempotencykey")
        stored = " ".join(body for (body,) in cursor.fetchall())
    assert webhook["secret"] not in stored
    assert rotated.json()["data"]["secret"] not in stored

    again = api.post(
        "/api/v1/webhooks",
        {"url": "https://hooks.example.com/reachkit"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-hook",
    )
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert WebhookEndpoint.objects.count() == 1


def test_rotating_the_secret_shows_the_new_one_once_and_keeps_the_old_for_the_overlap(api):
    created = _create(api).json()["data"]
    rotated = api.post(
        f"/api/v1/webhooks/{created['id']}/rotate-secret", {"overlap_seconds": 3600}, format="json"
    )
    assert rotated.status_code == 200
    new = rotated.json()["data"]
    assert new["secret"].startswith("whsec_")
    assert new["secret"] != created["secret"]
    assert new["previous_secret_expires_at"] is not None
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.previous_secret == created["secret"]
    assert (
        api.post(
            f"/api/v1/webhooks/{created['id']}/rotate-secret",
            {"overlap_seconds": -1},
            format="json",
        ).status_code
        == 422
    )


def test_a_webhook_is_changed_and_turned_back_on(api):
    created = _create(api).json()["data"]
    WebhookEndpoint.objects.filter(pk=created["id"]).update(
        is_active=False, disabled_reason="Disabled automatically", failing_since="2026-01-01T00:00Z"
    )
    response = api.patch(
        f"/api/v1/webhooks/{created['id']}",
        {"is_active": True, "event_types": [], "url": "https://hooks.example.com/v2"},
        format="json",
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["is_active"] is True
    assert data["disabled_reason"] == ""
    assert data["failing_since"] is None
    assert data["url"] == "https://hooks.example.com/v2"


def test_a_deleted_webhook_is_gone_and_its_pending_deliveries_dropped(api, alice):
    created = _create(api).json()["data"]
    Delivery.objects.create(
        workspace=alice.workspace,
        endpoint_id=created["id"],
        message_id=created["id"],
        event_type="email_sent",
    )
    assert api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert api.get(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert api.get("/api/v1/webhooks").json()["data"] == []
    assert api.get(f"/api/v1/webhooks/{created['id']}/deliveries").status_code == 404
    assert Delivery.objects.get().status == Delivery.Status.FAILED


def test_another_workspaces_webhook_is_a_404_and_stays_as_it_was(alice, charlie):
    created = _create(alice.client).json()["data"]
    base = f"/api/v1/webhooks/{created['id']}"
    assert charlie.client.get(base).status_code == 404
    assert (
        charlie.client.patch(base, {"url": "https://x.example"}, format="json").status_code == 404
    )
    assert charlie.client.delete(base).status_code == 404
    assert charlie.client.post(f"{base}/test").status_code == 404
    assert charlie.client.post(f"{base}/rotate-secret").status_code == 404
    assert charlie.client.get(f"{base}/deliveries").status_code == 404
    assert charlie.client.get("/api/v1/webhooks").json()["data"] == []
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.url == "https://hooks.example.com/reachkit"
    assert endpoint.secret == created["secret"]
    assert endpoint.deleted_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": 5}, "url"),
        ({"url": "ftp://hooks.example.com"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/"}, "url"),
        ({"url": "https://hooks.example.com/\r\nX-Evil: 1"}, "url"),
        ({"url": "https://hooks.example.com/\x00"}, "url"),
        ({"url": "https://hooks.example.com/" + "a" * 2000}, "url"),
        ({"url": "https://hooks.example.com/", "event_types": ["nope"]}, "event_types"),
        ({"url": "https://hooks.example.com/", "event_types": "email_sent"}, "event_types"),
        ({"url": "https://hooks.example.com/", "is_active": "yes"}, "is_active"),
        ({"url": "https://hooks.example.com/", "description": "x" * 501}, "description"),
        ({"url": "https://nowhere.example.com/"}, "url"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api, body, field):
    response = api.post("/api/v1/webhooks", body, format="json")
    assert response.status_code == 422, response.content
    assert field in response.json()["details"]


def test_bad_bytes_are_a_4xx_never_a_500(api):
    for body in (b"\xff\xfe", b"{", b'{"url": "\\ud800"}', b"[]", b"null"):
        response = api.generic("POST", "/api/v1/webhooks", body, "application/json")
        assert 400 <= response.status_code < 500, (body, response.status_code)
        assert "error" in response.json()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.example.com/",
        "http://10.0.0.5/",
        "http://inside.example.com/",
    ],
)
def test_urls_that_reach_private_addresses_are_refused_by_default(api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = _create(api, url=url)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "webhook_url_refused"
    assert "url" in response.json()["details"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/",
        "https://hooks.example.com:0/",
        "https://hooks.example.com:65536/",
        "https://hooks.example.com/#top",
        "https://-hooks.example.com/",
        "https://hooks..example.com/",
    ],
)
def test_a_url_outside_the_documented_form_is_a_validation_error(api, url):
    response = _create(api, url=url)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "validation_error"
    assert "url" in response.json()["details"]
    assert not WebhookEndpoint.objects.exists()


def test_metadata_addresses_stay_refused_when_private_ones_are_allowed(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert _create(api, url="http://inside.example.com/").status_code == 201
    assert _create(api, url="http://169.254.169.254/").status_code == 422
    assert _create(api, url="http://metadata.example.com/").status_code == 422


def test_plain_http_only_when_allowed(api, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    response = _create(api, url="http://hooks.example.com/")
    assert response.status_code == 422
    assert "https://" in response.json()["details"]["url"][0]


def test_a_workspace_has_a_bounded_number_of_webhooks(api):
    for _ in range(MAX_ENDPOINTS_PER_WORKSPACE):
        assert _create(api).status_code == 201
    response = _create(api)
    assert response.status_code == 422
    assert response.json()["code"] == "too_many_webhooks"


def test_the_list_filters_pages_and_costs_the_same_queries_whatever_its_size(api):
    _create(api)
    with CaptureQueriesContext(connection) as small:
        assert len(api.get("/api/v1/webhooks").json()["data"]) == 1
    for _ in range(5):
        _create(api, is_active=False)
    with CaptureQueriesContext(connection) as large:
        body = api.get("/api/v1/webhooks").json()
    assert len(body["data"]) == 6
    assert len(large) <= len(small)
    assert len(api.get("/api/v1/webhooks?is_active=false").json()["data"]) == 5
    assert api.get("/api/v1/webhooks?is_active=maybe").status_code == 422
    assert api.get("/api/v1/webhooks?sort_by=secret").status_code == 422
