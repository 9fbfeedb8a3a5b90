"""Bad input of every kind is a 4xx with the error envelope, never a 500, and changes nothing."""

import uuid

import pytest

from blocklist.models import BlocklistEntry
from tests.campaigns.factories import CampaignFactory

URL = "/api/v1/blocklist"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "code", "details"}
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    return body


def test_malformed_json_is_400(api):
    response = api.generic("POST", URL, '{"email": ', content_type="application/json")
    assert_error(response, 400, "malformed_json")
    assert not BlocklistEntry.objects.exists()


def test_a_form_body_is_415(api):
    response = api.post(URL, {"email": "a@b.com"}, format="multipart")
    assert_error(response, 415, "unsupported_media_type")
    assert not BlocklistEntry.objects.exists()


def test_a_plain_text_body_is_415(api):
    response = api.generic("POST", URL, "a@b.com", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("body", ["[]", '"a@b.com"', "42", "null"])
def test_a_body_that_is_not_an_object_is_422(api, body):
    response = api.generic("POST", URL, body, content_type="application/json")
    assert_error(response, 422, "validation_error")
    assert not BlocklistEntry.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"email": 42},
        {"email": True},
        {"email": ["a@b.com"]},
        {"email": {"address": "a@b.com"}},
        {"emails": "a@b.com"},
        {"emails": [1, 2]},
        {"emails": {"a": 1}},
    ],
)
def test_wrong_json_types_are_422_naming_the_field(api, payload):
    response = api.post(URL, payload, format="json")
    body = assert_error(response, 422, "validation_error")
    assert set(body["details"]) & {"email", "emails"}
    assert not BlocklistEntry.objects.exists()


def test_validation_details_map_fields_to_lists_of_messages(api):
    body = assert_error(api.post(URL, {"email": 42}, format="json"), 422, "validation_error")
    assert isinstance(body["details"]["email"], list)
    assert all(isinstance(message, str) for message in body["details"]["email"])
    assert "email" in body["error"]


@pytest.mark.parametrize("bad_id", ["42", "not-a-uuid", "xyz" * 20, "00000000-0000-0000-0000"])
def test_non_uuid_ids_are_404(api, bad_id):
    assert_error(api.delete(f"{URL}/{bad_id}"), 404, "not_found")


def test_an_unknown_uuid_is_404(api):
    assert_error(api.delete(f"{URL}/{uuid.uuid4()}"), 404, "not_found")


def test_an_unknown_api_path_is_404_in_the_envelope(api):
    assert_error(api.get("/api/v1/no-such-thing"), 404, "not_found")


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/campaigns", "/api/", "/api/v2/campaigns"])
def test_an_api_path_without_v1_is_404_in_the_envelope_in_debug_too(api, settings, debug, path):
    """`make run` runs with DEBUG on, where Django would answer its page listing the URLs."""
    settings.DEBUG = debug
    response = api.get(path)
    assert_error(response, 404, "not_found")
    assert response["Content-Type"] == "application/json"


def test_an_accept_header_without_json_is_406(api):
    response = api.get(URL, HTTP_ACCEPT="text/html")
    assert_error(response, 406, "not_acceptable")


def test_an_unsupported_method_is_405(api):
    assert_error(api.put(URL, {}, format="json"), 405, "method_not_allowed")


def test_a_huge_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = {"emails": [f"user{n}@example.com" for n in range(200)]}
    assert_error(api.post(URL, big, format="json"), 413, "payload_too_large")
    assert not BlocklistEntry.objects.exists()


def test_an_unexpected_failure_is_a_500_envelope_without_internals(api, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("blocklist.services.blocklist_match", explode)
    response = api.get(f"{URL}/check", {"email": "a@b.com"})
    body = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.content.decode()
    assert body["details"] == {}


# --- Deep JSON: refused before the parser recurses ------------------------------------------------

DEEP = 100_000


@pytest.mark.parametrize(
    "body",
    [
        "[" * DEEP + "]" * DEEP,
        '{"a":' * DEEP + "1" + "}" * DEEP,
        "[" * DEEP,
        '{"email": ' + '[{"x":' * (DEEP // 2) + "1" + "}]" * (DEEP // 2) + "}",
        "[" * 33 + "]" * 33,
        "[" * 50_000 + "]" * 10,
    ],
    ids=["arrays", "objects", "unclosed", "inside a field", "just past the limit", "unbalanced"],
)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_json_nested_too_deep_is_400_malformed_json(api, alice, body, method):
    campaign = CampaignFactory(workspace=alice.workspace, name="Before")
    url = URL if method == "post" else f"/api/v1/campaigns/{campaign.pk}"

    response = api.generic(method.upper(), url, body, content_type="application/json")

    error = assert_error(response, 400, "malformed_json")
    assert "nested deeper than 32 levels" in error["error"]
    assert not BlocklistEntry.objects.exists()
    campaign.refresh_from_db()
    assert campaign.name == "Before"


def test_json_nested_to_the_limit_still_parses(api):
    nested = "[" * 31 + '"a@b.com"' + "]" * 31
    response = api.generic(
        "POST", URL, '{"email": ' + nested + "}", content_type="application/json"
    )
    body = assert_error(response, 422, "validation_error")  # parsed: the serializer answers
    assert "email" in body["details"]


def test_brackets_inside_strings_do_not_count_as_nesting(api):
    response = api.post(URL, {"emails": ["[" * 200 + "@x.com", '{\\"' * 100]}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["invalid"] == 2


def test_malformed_shallow_json_keeps_the_parsers_own_message(api):
    response = api.generic("POST", URL, '{"email": [1, 2}', content_type="application/json")
    body = assert_error(response, 400, "malformed_json")
    assert "nested" not in body["error"]


# --- Unsafe methods on unknown paths, from a browser holding an admin session ------------------


@pytest.fixture
def admin_browser_api(api, django_user_model):
    """Alice's key, sent from a browser where an admin is logged in: CSRF would apply to any
    view that is not exempt."""
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_superuser("root", "r@x.test", "pw"))
    client.credentials(**api._credentials)
    return client


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/campaigns/not-a-uuid",
        "/api/v1/no-such-thing",
        f"{URL}/42",
        "/api/v1/campaigns/00000000-0000-0000-0000-000000000000/no-such-action",
    ],
)
def test_unsafe_methods_on_unknown_paths_are_the_envelopes_404_not_the_csrf_page(
    admin_browser_api, method, path
):
    response = getattr(admin_browser_api, method)(path, {"name": "x"}, format="json")
    assert_error(response, 404, "not_found")
