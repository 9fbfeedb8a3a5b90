"""Finding 7 (the API's plumbing): bad input is a 4xx in the envelope, never a 500."""

import json

import pytest
from rest_framework.test import APIClient

from blocklist.models import BlocklistEntry
from tests.security.clients import raw_request


def test_json_nested_a_hundred_thousand_levels_deep_is_a_400_not_a_recursion_error(api):
    body = "[" * 100_000 + "]" * 100_000

    response = api.generic("POST", "/api/v1/blocklist", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert not BlocklistEntry.objects.exists()


def test_patch_on_a_non_uuid_id_from_a_browser_with_an_admin_session_is_the_envelopes_404(
    alice, django_user_model
):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(django_user_model.objects.create_superuser("root", "r@x.test", "pw"))
    browser.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.raw_key}")

    response = browser.patch("/api/v1/campaigns/not-a-uuid", {"name": "x"}, format="json")

    assert response.status_code == 404
    assert response.json() == {"error": "Not found.", "code": "not_found", "details": {}}


@pytest.mark.django_db(transaction=True)
def test_nul_surrogates_and_control_bytes_in_query_strings_paths_and_headers_never_answer_500(
    alice, live_server
):
    key = alice.raw_key.encode()
    odd = [b"%00", b"a%00b", b"%ED%A0%80", b"%01%1B%7F", b"%FF"]
    heads = []
    for value in odd:
        for query in (b"search", b"sort_by", b"page", b"page_size", b"type"):
            heads.append(b"GET /api/v1/blocklist?" + query + b"=" + value + b" HTTP/1.0")
        heads.append(b"GET /api/v1/blocklist/check?email=" + value + b"@acme.com HTTP/1.0")
        heads.append(b"GET /api/v1/campaigns/" + value + b" HTTP/1.0")
        heads.append(b"PATCH /api/v1/campaigns/" + value + b" HTTP/1.0")
    requests = [head + b"\r\nX-API-Key: " + key + b"\r\n" for head in heads]
    for value in odd:
        requests.append(b"GET /api/v1/blocklist?api_key=rk_" + value * 8 + b"_x HTTP/1.0\r\n")
    for header in (
        b"X-API-Key: rk_\x00\x00\x00\x00\x00\x00\x00\x00_abc",
        b"X-API-Key: rk_\xed\xa0\x80\xed\xa0\x80\xff\xfe_abc",
        b"Authorization: Bearer rk_\x01\x01\x01\x01\x01\x01\x01\x01_a",
        b"Cookie: sessionid=" + b"\x00" * 32,
    ):
        requests.append(b"GET /api/v1/blocklist HTTP/1.0\r\n" + header + b"\r\n")
    requests.append(b"GET /admin/ HTTP/1.0\r\nCookie: sessionid=" + b"\x00" * 32 + b"\r\n")

    answers = [raw_request(live_server.url, request) for request in requests]

    assert [status for status, _ in answers if status >= 500] == []
    for (status, body), request in zip(answers, requests, strict=True):
        if request.split(b" ")[1].startswith(b"/api/") and status >= 400:
            assert set(json.loads(body)) == {"error", "code", "details"}, request
