"""The inbox endpoints in the OpenAPI document, with their envelopes and no password out."""

import pytest
from django.test import Client


@pytest.fixture
def schema(db) -> dict:
    return Client().get("/api/v1/schema/").json()


def test_every_inbox_endpoint_is_documented(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/inboxes"]) == {"get", "post"}
    assert set(paths["/api/v1/inboxes/{id}"]) == {"get", "patch", "delete"}
    assert set(paths["/api/v1/inboxes/{id}/test"]) == {"post"}
    assert set(paths["/api/v1/inboxes/{id}/warmup/stats"]) == {"get"}


def test_create_documents_201_and_the_nested_server_settings(schema):
    create = schema["paths"]["/api/v1/inboxes"]["post"]
    assert "201" in create["responses"]
    assert "422" in create["responses"]
    components = schema["components"]["schemas"]
    body = components["InboxCreateRequest"]
    assert {"email", "smtp", "imap"} <= set(body["required"])
    server = components["ServerSettingsRequest"]
    assert set(server["required"]) == {"host", "port", "username", "password", "security"}


def test_no_response_schema_has_a_password(schema):
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            continue
        assert "password" not in str(component), name


def test_the_test_action_answers_202_in_the_envelope(schema):
    responses = schema["paths"]["/api/v1/inboxes/{id}/test"]["post"]["responses"]
    assert "202" in responses
    assert "data" in responses["202"]["content"]["application/json"]["schema"]["properties"]
