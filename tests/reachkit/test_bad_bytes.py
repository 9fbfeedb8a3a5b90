"""NUL, lone surrogates and control characters in query strings, paths, headers and cookies:
a 4xx in the envelope (or the page's own answer), never a 500, and nothing changes.

Every GET operation of the OpenAPI document is walked, with each of its query parameters
(and the shared ones) set to each bad value, percent-encoded as a client would send it.
"""

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from tests.campaigns.factories import CampaignFactory
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory

BAD_VALUES = {
    "nul": "%00",
    "nul inside": "a%00b",
    "lone surrogate": "%ED%A0%80",
    "control characters": "%01%08%1B%7F",
    "invalid utf-8": "%FF%FE",
    "overlong nul": "%C0%80",
    "crlf": "%0D%0ABcc:%20x",
}
SHARED_PARAMS = ["search", "sort_by", "sort_order", "page", "page_size", "email", "api_key"]


def _get_operations() -> list[tuple[str, list[str]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, methods in schema["paths"].items():
        if "get" in methods:
            declared = [
                p["name"] for p in methods["get"].get("parameters", []) if p["in"] == "query"
            ]
            operations.append((path, sorted(set(declared) | set(SHARED_PARAMS))))
    return operations


OPERATIONS = _get_operations()


@pytest.fixture
def world(alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    lead = LeadFactory(campaign=campaign)
    inbox = InboxFactory(workspace=alice.workspace)
    return {"campaign": campaign, "lead": lead, "inbox": inbox}


def _real_path(template: str, world) -> str:
    campaign_id = world["campaign"].pk
    if template.startswith("/api/v1/inboxes/{id}"):
        return template.replace("{id}", str(world["inbox"].pk))
    if "{campaign_id}" in template:
        return template.replace("{campaign_id}", str(campaign_id)).replace(
            "{id}", str(world["lead"].pk)
        )
    return template.replace("{id}", str(campaign_id))


def assert_an_error_envelope_or_success(response) -> None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error", "code", "details"}


def test_the_walk_covers_every_list_and_detail(world):
    paths = {template for template, _ in OPERATIONS}
    assert {
        "/api/v1/blocklist",
        "/api/v1/campaigns/{campaign_id}/leads",
        "/api/v1/inboxes",
    } <= paths
    assert len(paths) >= 12


@pytest.mark.parametrize("value", BAD_VALUES.values(), ids=BAD_VALUES.keys())
@pytest.mark.parametrize(
    ("template", "params"), OPERATIONS, ids=[template for template, _ in OPERATIONS]
)
def test_bad_bytes_in_any_query_parameter_are_refused_or_ignored(
    api, world, template, params, value
):
    path = _real_path(template, world)
    for param in params:
        response = api.get(f"{path}?{param}={value}")
        assert_an_error_envelope_or_success(response)


@pytest.mark.parametrize("param", ["search", "email"])
def test_a_nul_in_a_text_parameter_is_a_422_on_that_parameter(api, param):
    url = "/api/v1/blocklist/check" if param == "email" else "/api/v1/blocklist"
    response = api.get(f"{url}?{param}=a%00b@acme.com")
    assert response.status_code == 422
    assert list(response.json()["details"]) == [param]


@pytest.mark.parametrize("value", BAD_VALUES.values(), ids=BAD_VALUES.keys())
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete", "post"])
@pytest.mark.parametrize(
    "template",
    [
        "/api/v1/campaigns/{bad}",
        "/api/v1/campaigns/{bad}/analytics",
        "/api/v1/campaigns/{campaign}/leads/{bad}",
        "/api/v1/campaigns/{campaign}/sequences/{bad}",
        "/api/v1/inboxes/{bad}",
        "/api/v1/blocklist/{bad}",
        "/api/v1/{bad}",
    ],
)
def test_bad_bytes_in_a_path_are_the_envelopes_404(api, world, template, method, value):
    path = template.format(bad=value, campaign=world["campaign"].pk)
    response = getattr(api, method)(path, {}, format="json")
    assert response.status_code in (404, 405)
    assert set(response.json()) == {"error", "code", "details"}


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ACCEPT": "application/json\x00"},
        {"HTTP_ACCEPT": "\x01\x02"},
        {"HTTP_ACCEPT_LANGUAGE": "\x00"},
        {"HTTP_CONTENT_TYPE": "application/json; charset=\x00"},
        {"HTTP_X_FORWARDED_FOR": "\x00, \x01"},
        {"HTTP_USER_AGENT": "\x00\x1b[31m"},
        {"HTTP_COOKIE": "sessionid=\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00; csrftoken=\x00"},
    ],
    ids=["accept nul", "accept control", "language", "charset", "forwarded", "agent", "cookie"],
)
def test_bad_bytes_in_headers_never_answer_500(api, headers):
    response = api.get("/api/v1/blocklist", **headers)
    assert response.status_code < 500


@pytest.mark.parametrize(
    "cookie",
    [
        "sessionid=" + "\x00" * 32,
        'sessionid="\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000"',
        "sessionid=" + "A" * 32,
        "csrftoken=" + "\x00" * 32,
    ],
    ids=["nul session", "octal-escaped nul session", "foreign-shaped session", "nul csrf"],
)
@pytest.mark.parametrize("path", ["/admin/", "/admin/login/"])
def test_a_forged_session_or_csrf_cookie_is_no_session_not_a_500(db, cookie, path):
    response = Client(raise_request_exception=False).get(path, HTTP_COOKIE=cookie)
    assert response.status_code in (200, 302)
