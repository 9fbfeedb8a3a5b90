"""The OpenAPI document states the rules the server enforces (issue 15).

Each rule is checked twice: the document says it, and the server acts as the document says,
on a value the document allows and on one it refuses.
"""

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client

from campaigns.windows import SUPPORTED_TIMEZONES
from tests.campaigns.factories import CampaignFactory

LEADS = "/api/v1/campaigns/{campaign_id}/leads"


@pytest.fixture
def schema(db) -> dict:
    return Client().get("/api/v1/schema/").json()


def component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def body(schema: dict, path: str, method: str) -> dict:
    reference = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return component(schema, reference["schema"]["$ref"].rsplit("/", 1)[-1])


def documented_name(names: dict, name: str) -> bool:
    patterns = [names["pattern"], *(part["pattern"] for part in names["allOf"])]
    return len(name) <= names["maxLength"] and all(re.search(p, name) for p in patterns)


def test_a_body_needed_to_succeed_is_required(schema):
    assert schema["paths"]["/api/v1/blocklist"]["post"]["requestBody"]["required"] is True
    path = "/api/v1/campaigns/{campaign_id}/sequences"
    assert not schema["paths"][path]["post"]["requestBody"].get("required")


def test_a_schedule_days_object_takes_only_days(schema, api, alice):
    assert component(schema, "DaysUpdateRequest")["additionalProperties"] is False
    campaign = CampaignFactory(workspace=alice.workspace)
    url = f"/api/v1/campaigns/{campaign.pk}/schedule"
    response = api.patch(url, {"days": {"mondy": {"enabled": False}}}, format="json")
    assert response.status_code == 422


def test_email_fields_have_format_email(schema):
    assert body(schema, LEADS, "post")["properties"]["email"]["format"] == "email"
    assert body(schema, "/api/v1/inboxes", "post")["properties"]["email"]["format"] == "email"
    reply_to = component(schema, "InboxUpdateRequest")["properties"]["reply_to"]
    assert reply_to["anyOf"] == [{"format": "email"}, {"maxLength": 0}]
    check = schema["paths"]["/api/v1/blocklist/check"]["get"]["parameters"][0]
    assert (check["name"], check["schema"]["format"]) == ("email", "email")


def test_timezone_is_the_supported_list(schema):
    timezone = component(schema, "ScheduleUpdateRequest")["properties"]["timezone"]
    enum = component(schema, timezone["allOf"][0]["$ref"].rsplit("/", 1)[-1])["enum"]
    assert enum == list(SUPPORTED_TIMEZONES)


def test_times_are_hh_mm(schema):
    start = component(schema, "WindowUpdateRequest")["properties"]["start"]
    pattern = re.compile(start["pattern"])
    assert pattern.fullmatch("09:30")
    assert pattern.fullmatch("23:59")
    assert not pattern.fullmatch("24:00")
    assert not pattern.fullmatch("9:30")
    day = component(schema, "DayUpdateRequest")["properties"]["start"]
    assert day["type"] == ["string", "null"]


def test_email_xor_emails_and_lead_id_xor_variables_are_one_of(schema):
    assert component(schema, "BlocklistCreateRequest")["oneOf"] == [
        {"required": ["email"]},
        {"required": ["emails"]},
    ]
    assert component(schema, "PreviewRequestRequest")["oneOf"] == [
        {"required": ["lead_id"]},
        {"required": ["variables"]},
    ]


def test_both_or_neither_of_the_alternatives_is_422(api, alice):
    for payload in ({}, {"email": "a@acme.com", "emails": ["b@acme.com"]}):
        response = api.post("/api/v1/blocklist", payload, format="json")
        assert response.status_code == 422, payload


def test_variables_state_their_names_values_and_count(schema):
    variables = body(schema, LEADS, "post")["properties"]["variables"]
    assert variables["maxProperties"] == 100
    names = variables["propertyNames"]
    assert names["maxLength"] == 64
    for good in ("company", "First Name", "é", "名前", "x1"):
        assert documented_name(names, good), good
    for bad in ("___", " ", "a\nb", "-", "a\x00", "a" * 65):
        assert not documented_name(names, bad), bad
    values = variables["additionalProperties"]["anyOf"]
    assert [value["type"] for value in values] == ["string", "number", "boolean", "null"]
    text = values[0]
    assert text["maxLength"] == 5000
    assert re.search(text["pattern"], "two\tlines\r\nfine")
    assert not re.search(text["pattern"], "bell\x07")


@pytest.mark.parametrize(
    ("name", "status"), [("é", 201), ("名前", 201), ("___", 422), ("-", 422), ("a" * 65, 422)]
)
def test_the_server_takes_the_variable_names_the_document_takes(api, alice, schema, name, status):
    campaign = CampaignFactory(workspace=alice.workspace)
    names = body(schema, LEADS, "post")["properties"]["variables"]["propertyNames"]
    assert documented_name(names, name) == (status == 201)
    response = api.post(
        f"/api/v1/campaigns/{campaign.pk}/leads",
        {"email": "ada@acme.com", "variables": {name: "x"}},
        format="json",
    )
    assert response.status_code == status, response.content


def test_text_fields_state_the_characters_they_take(schema):
    variant = component(schema, "VariantCreateRequest")
    subject = re.compile(variant["properties"]["subject"]["pattern"])
    assert subject.search("Hi {{first_name}}")
    assert not subject.search("   ")  # blank once trimmed: refused
    assert not subject.search("Hi\r\nBcc: x@evil.test")
    name = re.compile(component(schema, "CampaignCreateRequest")["properties"]["name"]["pattern"])
    assert name.search("Spring")
    assert not name.search(" \t")
    assert not name.search("a\x00")
    first = component(schema, "InboxUpdateRequest")["properties"]["first_name"]
    assert "oneOf" not in first
    assert re.search(first["pattern"], "")


def test_bulk_leads_are_one_to_a_thousand_each_checked_alone(schema):
    leads = body(schema, f"{LEADS}/bulk", "post")["properties"]["leads"]
    assert (leads["minItems"], leads["maxItems"]) == (1, 1000)
    assert "required" not in leads["items"]
    assert "errors" in leads["items"]["description"]


@pytest.mark.parametrize(("port", "status"), [(993, 201), (993.0, 201), (993.5, 422)])
def test_an_integer_written_with_a_zero_fraction_is_that_integer(api, alice, port, status):
    # JSON Schema, and so the document, cannot tell 993.0 from 993: neither does the server.
    server = {"host": "mail.acme.com", "username": "sam", "password": "pw", "security": "ssl"}
    response = api.post(
        "/api/v1/inboxes",
        {
            "email": "sam@acme.com",
            "smtp": {**server, "port": 465},
            "imap": {**server, "port": port},
        },
        format="json",
    )
    assert response.status_code == status, response.content


def test_every_operation_documents_401_and_429_with_the_error_envelope(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for status in ("401", "429"):
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}, (path, method)


def _fuzz_hooks():
    spec = importlib.util.spec_from_file_location(
        "fuzz_hooks", Path(__file__).resolve().parents[2] / ".ci" / "fuzz_hooks.py"
    )
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    return hooks


def test_the_fuzzer_takes_exactly_the_422_codes_the_document_states(schema):
    # .ci/fuzz_hooks.py lets a schema-valid request get a 422 only with these codes.
    hooks = _fuzz_hooks()
    descriptions = [
        operation["responses"]["422"]["description"]
        for methods in schema["paths"].values()
        for operation in methods.values()
        if "422" in operation["responses"]
    ]
    stated = set(re.findall(r"`([a-z_]+)`", " ".join(descriptions))) - {
        "code",
        "details",
        "validation_error",
    }
    assert stated == hooks.STATE_RULES


def test_every_post_states_that_a_reused_idempotency_key_is_a_422(schema):
    for path, methods in schema["paths"].items():
        post = methods.get("post")
        if post and post.get("security"):
            assert "`idempotency_key_reused`" in post["responses"]["422"]["description"], path


def test_a_request_body_is_not_described_by_a_base_classs_docstring(schema):
    for name, component in schema["components"]["schemas"].items():
        assert "request body's serializer" not in component.get("description", ""), name


def test_every_list_states_the_bounds_of_its_search_term(schema):
    searched = 0
    for path, methods in schema["paths"].items():
        for parameter in methods.get("get", {}).get("parameters", []):
            if parameter["name"] == "search":
                searched += 1
                assert parameter["schema"]["maxLength"] == 200, path
                assert not re.search(parameter["schema"]["pattern"], "a\x00b"), path
    assert searched >= 7


def test_a_new_conversations_recipient_is_stated_as_an_email(schema):
    recipient = schema["components"]["schemas"]["RecipientInputRequest"]
    assert recipient["properties"]["email"]["format"] == "email"


def test_an_operation_with_a_query_documents_the_http_servers_414(schema):
    queried = 0
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if any(p["in"] == "query" for p in operation.get("parameters", [])):
                queried += 1
                assert "414" in operation["responses"], (method, path)
    assert queried >= 7


def test_the_bulk_blocklist_reports_an_invalid_item_rather_than_refusing_the_call(schema):
    items = schema["components"]["schemas"]["BlocklistCreateRequest"]["properties"]["emails"]
    assert "anyOf" not in items["items"]  # each item is checked on its own (`errors`)


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "fails"),
    [
        ("POST", "/api/v1/unibox/conversations", 502, "send_failed", False),
        ("POST", "/api/v1/unibox/conversations/{id}/reply", 502, "send_failed", False),
        ("POST", "/api/v1/unibox/conversations", 500, "internal_error", True),
        ("POST", "/api/v1/unibox/conversations", 502, "bad_gateway", True),
        ("POST", "/api/v1/campaigns", 502, "send_failed", True),
        ("GET", "/api/v1/campaigns", 500, "internal_error", True),
        ("GET", "/api/v1/campaigns", 422, "validation_error", False),
    ],
)
def test_the_fuzzer_takes_a_5xx_only_as_a_stated_send_failure(method, path, status, code, fails):
    check = _fuzz_hooks().not_a_server_error_but_a_stated_send_failure
    case = SimpleNamespace(operation=SimpleNamespace(method=method.lower(), path=path))
    body = f'{{"error": "x", "code": "{code}", "details": {{}}}}'.encode()
    response = SimpleNamespace(status_code=status, content=body)
    if fails:
        with pytest.raises(AssertionError):
            check(None, response, case)
    else:
        check(None, response, case)
