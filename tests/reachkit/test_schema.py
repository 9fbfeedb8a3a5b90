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
        assert viewset.pagination_class is PagePagination, viewset


def test_admin_static_files_are_served_without_debug(db):
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn turns any ambiguity (an enum name collision, an untyped field) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi:")
