"""The OpenAPI document covers every campaign endpoint, with the spec's shapes."""

import pytest
from django.test import Client


@pytest.fixture
def schema(db) -> dict:
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    return response.json()


def test_schema_lists_every_campaign_endpoint(schema):
    paths = schema["paths"]
    expected = {
        "/api/v1/campaigns": {"get", "post"},
        "/api/v1/campaigns/{id}": {"get", "patch", "delete"},
        "/api/v1/campaigns/{id}/analytics": {"get"},
        "/api/v1/campaigns/{id}/diagnostics": {"get"},
        "/api/v1/campaigns/{id}/schedule": {"patch"},
        "/api/v1/campaigns/{id}/inboxes/attach": {"post"},
        "/api/v1/campaigns/{id}/inboxes/detach": {"post"},
        "/api/v1/campaigns/{campaign_id}/sequences": {"get", "post"},
        "/api/v1/campaigns/{campaign_id}/sequences/{id}": {"patch", "delete"},
        "/api/v1/campaigns/{campaign_id}/sequences/{id}/variants": {"post"},
        "/api/v1/campaigns/{campaign_id}/variants/{variant_id}": {"patch", "delete"},
        "/api/v1/campaigns/{campaign_id}/variants/{variant_id}/preview": {"post"},
    }
    campaign_paths = {
        path
        for path in paths
        if path.startswith("/api/v1/campaigns") and "/leads" not in path  # leads: their own app
    }
    assert campaign_paths == set(expected)
    for path, methods in expected.items():
        assert set(paths.get(path, {})) == methods, path


def body_schema(schema, path, method, status):
    content = schema["paths"][path][method]["responses"][status]["content"]["application/json"]
    body = content["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    return body


def resolve(schema, node):
    if "$ref" in node:
        return schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in node:
        return resolve(schema, node["allOf"][0])
    return node


def test_the_campaign_index_is_paginated_and_its_stats_have_no_breakdown(schema):
    body = body_schema(schema, "/api/v1/campaigns", "get", "200")
    assert set(body["properties"]) == {"data", "metadata"}
    item = resolve(schema, body["properties"]["data"]["items"])
    stats = resolve(schema, item["properties"]["stats"])
    assert "daily" not in stats["properties"]
    params = {p["name"] for p in schema["paths"]["/api/v1/campaigns"]["get"]["parameters"]}
    assert {"page", "page_size", "search", "sort_by", "sort_order", "status"} <= params


def test_show_and_create_carry_the_full_stats(schema):
    for path, method, status in [
        ("/api/v1/campaigns/{id}", "get", "200"),
        ("/api/v1/campaigns", "post", "201"),
    ]:
        data = resolve(schema, body_schema(schema, path, method, status)["properties"]["data"])
        stats = resolve(schema, data["properties"]["stats"])
        assert {"daily", "sequences"} <= set(stats["properties"]), path


def test_the_sequence_index_is_a_plain_list_without_metadata(schema):
    operation = schema["paths"]["/api/v1/campaigns/{campaign_id}/sequences"]["get"]
    body = body_schema(schema, "/api/v1/campaigns/{campaign_id}/sequences", "get", "200")
    assert set(body["properties"]) == {"data"}
    assert body["properties"]["data"]["type"] == "array"
    assert not [p for p in operation.get("parameters", []) if p["in"] == "query"]


def test_the_campaign_status_choices_are_named_apart(schema):
    components = schema["components"]["schemas"]
    assert components["CampaignStatusEnum"]["enum"] == ["draft", "active", "paused"]
    assert components["CampaignStatusChangeEnum"]["enum"] == ["active", "paused"]


def test_variant_and_preview_bodies_are_documented(schema):
    created = body_schema(
        schema, "/api/v1/campaigns/{campaign_id}/sequences/{id}/variants", "post", "201"
    )
    variant = resolve(schema, created["properties"]["data"])
    assert set(variant["properties"]) == {
        "id",
        "letter",
        "subject",
        "body_html",
        "body_text",
        "enabled",
        "warnings",
    }
    warning = resolve(schema, variant["properties"]["warnings"]["items"])
    assert set(warning["properties"]) == {"code", "name", "message"}
    preview = body_schema(
        schema, "/api/v1/campaigns/{campaign_id}/variants/{variant_id}/preview", "post", "200"
    )
    shown = resolve(schema, preview["properties"]["data"])
    assert set(shown["properties"]) == {"subject", "body_html", "body_text", "missing_variables"}
    request = schema["paths"]["/api/v1/campaigns/{campaign_id}/variants/{variant_id}/preview"]
    request_schema = resolve(
        schema, request["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    assert {"lead_id", "variables", "inbox_id"} <= set(request_schema["properties"])


def test_the_diagnostics_body_is_documented(schema):
    body = body_schema(schema, "/api/v1/campaigns/{id}/diagnostics", "get", "200")
    data = resolve(schema, body["properties"]["data"])
    assert set(data["properties"]) == {
        "checked_at",
        "sending",
        "status",
        "paused_reason",
        "reasons",
        "warnings",
        "window",
        "daily_limit",
        "inboxes",
        "leads",
    }
    leads = resolve(schema, data["properties"]["leads"])
    stopped = resolve(schema, leads["properties"]["stopped"])
    assert {"bounced", "unsubscribed", "blocklisted", "replied"} <= set(stopped["properties"])


@pytest.mark.parametrize("action", ["attach", "detach"])
def test_attach_and_detach_answer_the_whole_list_and_take_no_list_parameters(schema, action):
    # They were documented with the campaign index's filters, sorting and pages, and a
    # paginated body (`metadata` required) that they never answer.
    operation = schema["paths"][f"/api/v1/campaigns/{{id}}/inboxes/{action}"]["post"]
    # (and Idempotency-Key, as every POST: reachkit/api/idempotency.py)
    assert [p["in"] for p in operation["parameters"] if p["in"] != "header"] == ["path"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/CampaignInbox"}}
        },
    }


def test_a_step_update_requires_delay_days(schema):
    # A "Patched" copy of the input dropped `required`: `{}` was valid by the document, a 422
    # from the API (the spec requires it).
    body = schema["paths"]["/api/v1/campaigns/{campaign_id}/sequences/{id}"]["patch"]
    reference = body["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    assert component["required"] == ["delay_days"]
    assert body["requestBody"]["required"] is True
