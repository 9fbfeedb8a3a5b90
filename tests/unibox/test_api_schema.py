"""The Conversation endpoints in the OpenAPI document, their 502 `send_failed` included."""

import pytest
from django.test import Client

ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def schema(db) -> dict:
    return Client().get("/api/v1/schema/").json()


def test_the_six_conversation_endpoints_are_documented(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/unibox/conversations"]) == {"get", "post"}
    assert set(paths["/api/v1/unibox/conversations/{id}"]) == {"get", "patch"}
    assert set(paths["/api/v1/unibox/conversations/{id}/reply"]) == {"post"}
    download = paths["/api/v1/unibox/conversations/{conversation_id}/attachments/{id}"]
    assert set(download) == {"get"}
    assert download["get"]["responses"]["200"]["content"]["application/octet-stream"]


def test_sending_documents_502_send_failed_with_the_error_envelope(schema):
    paths = schema["paths"]
    for operation in (
        paths["/api/v1/unibox/conversations"]["post"],
        paths["/api/v1/unibox/conversations/{id}/reply"]["post"],
    ):
        failed = operation["responses"]["502"]
        assert "send_failed" in failed["description"]
        assert failed["content"]["application/json"]["schema"] == ERROR


def test_the_list_documents_folder_and_a_page_of_twenty(schema):
    parameters = {
        p["name"]: p for p in schema["paths"]["/api/v1/unibox/conversations"]["get"]["parameters"]
    }
    assert parameters["folder"]["schema"]["enum"] == ["others", "primary"]
    assert parameters["page_size"]["schema"]["default"] == 20
    assert "search" in parameters
