"""The OpenAPI document covers every endpoint, and the docs page needs no CDN."""

import re

import pytest
from django.test import Client
from django.urls import get_resolver
from rest_framework.viewsets import GenericViewSet

from reachkit.api.pagination import PagePagination
from reachkit.api.viewsets import WorkspaceViewSet


@pytest.fixture
def schema(db) -> dict:
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_schema_lists_the_blocklist_endpoints(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/blocklist"]) == {"get", "post"}
    assert set(paths["/api/v1/blocklist/check"]) == {"get"}
    assert set(paths["/api/v1/blocklist/{id}"]) == {"delete"}


def test_every_success_body_is_enveloped_and_every_operation_documents_its_errors(schema):
    components = schema["components"]["schemas"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            assert "401" in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                media = response.get("content", {}).get("application/json")
                if not media:
                    continue
                body = media["schema"]
                if "$ref" in body:
                    body = components[body["$ref"].rsplit("/", 1)[-1]]
                key = "data" if status.startswith("2") else "error"
                assert key in body["properties"], (method, path, status)


def test_any_one_of_the_three_key_methods_satisfies_security(schema):
    assert schema["paths"]["/api/v1/blocklist"]["get"]["security"] == [
        {"BearerAuth": []},
        {"ApiKeyHeader": []},
        {"ApiKeyQuery": []},
    ]


def test_docs_page_loads_its_assets_locally(db):
    page = Client().get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    # Static files, and the page's init script (served apart from the page for its CSP).
    assert all(
        asset.startswith("/static/") or asset == "/api/v1/docs/?script=" for asset in assets
    ), assets
    for asset in assets:
        assert Client().get(asset).status_code == 200, asset


def _registered_viewsets():
    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns)
            else:
                view_class = getattr(pattern.callback, "cls", None)
                if view_class and issubclass(view_class, GenericViewSet):
                    yield view_class

    return set(walk(get_resolver().url_patterns))


def test_every_api_viewset_is_workspace_scoped_and_paginated():
    viewsets = _registered_viewsets()
    assert viewsets
    for viewset in viewsets:
        assert issubclass(viewset, WorkspaceViewSet), viewset
        # The event feed pages with a cursor (reachkit/webhooks/feed.py).
        cursor = getattr(viewset, "cursor_paginated", False)
        assert cursor or issubclass(viewset.pagination_class, PagePagination), viewset


def test_admin_static_files_are_served_without_debug(db):
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn turns any ambiguity (an enum name collision, an untyped field) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi:")


def test_every_operation_with_a_body_documents_what_the_parser_can_refuse(schema):
    # Found by the fuzzer (.ci/fuzz): a malformed body's 400 was not in the document.
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if "requestBody" not in operation:
                continue
            for status in ("400", "413", "415", "422"):
                response = operation["responses"].get(status)
                assert response, (method, path, status)
                error = response["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_an_error_a_view_declares_has_the_error_envelope(schema):
    # POST /inboxes answered an undocumented 409 for an address the workspace already has.
    for path in ("/api/v1/inboxes", "/api/v1/campaigns/{campaign_id}/leads"):
        conflict = schema["paths"][path]["post"]["responses"]["409"]
        assert conflict["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }


def test_boolean_filters_are_booleans(schema):
    # They were `type: boolean` with the strings "true"/"false" as the enum: no value fits.
    lists = {
        "/api/v1/inboxes": ["is_active"],
        "/api/v1/campaigns/{campaign_id}/leads": [
            "is_bounced",
            "is_unsubscribed",
            "is_blocklisted",
        ],
    }
    for path, names in lists.items():
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        for name in names:
            assert parameters[name]["schema"] == {"type": "boolean"}, (path, name)


def test_page_is_a_64_bit_integer_and_page_size_says_its_maximum_and_the_clamp(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/campaigns"]["get"]["parameters"]}
    page, page_size = parameters["page"]["schema"], parameters["page_size"]["schema"]
    assert (page["minimum"], page["maximum"]) == (1, 2**63 - 1)
    assert (page_size["minimum"], page_size["maximum"], page_size["default"]) == (1, 100, 30)
    assert "clamped to 100" in parameters["page_size"]["description"]


def test_the_document_is_openapi_3_1(schema):
    assert schema["openapi"] == "3.1.0"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/json", "application/json"),
        ("application/vnd.oai.openapi+json", "application/vnd.oai.openapi+json"),
        ("*/*", "application/vnd.oai.openapi+json"),
    ],
)
def test_the_schema_is_json_for_a_client_asking_for_json(db, accept, media_type):
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == media_type
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.parametrize("accept", ["application/yaml", "application/vnd.oai.openapi"])
def test_the_schema_is_yaml_for_a_client_asking_for_yaml(db, accept):
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == accept
    assert response.content.startswith(b"openapi: 3.")


def test_an_accept_the_schema_cannot_meet_is_406_in_the_envelope(db):
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_creating_a_campaign_documents_its_default_schedule(api, schema):
    """Said where a first campaign is created, and true of the campaign that is created."""
    description = schema["paths"]["/api/v1/campaigns"]["post"]["description"]
    assert "America/New_York, 09:00-17:00, Monday to Friday" in description

    created = api.post("/api/v1/campaigns", {"name": "First"}, format="json").json()["data"]
    schedule = created["schedule"]
    assert schedule["timezone"] == "America/New_York"
    assert schedule["default_window"] == {"start": "09:00", "end": "17:00"}
    assert [day for day, rule in schedule["days"].items() if rule["enabled"]] == [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
    ]
