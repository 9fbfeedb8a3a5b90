"""PATCH with `{}`: every field is optional and omitted ones are unchanged (issue 15).

The spec says so of every PATCH but one: `PATCH /campaigns/:id/sequences/:id` writes its
request as `{"delay_days": integer  # required}`, so there `{}` is a 422 naming `delay_days`,
and the document marks it required. Both are checked against the document itself, so the
server and the document cannot drift apart.
"""

import pytest
from django.test import Client

from tests.campaigns.factories import CampaignFactory, SequenceFactory, VariantFactory
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory

VOLATILE = {"updated_at", "stats", "progress"}


def _stable(data: dict) -> dict:
    return {key: value for key, value in data.items() if key not in VOLATILE}


def _without_variant_extras(data: dict) -> dict:
    """A variant as the sequence list shows it: its `letter`, and `warnings` only in a write's
    answer, are not what a PATCH could change."""
    return {key: value for key, value in data.items() if key not in {"letter", "warnings"}}


@pytest.fixture
def rows(alice):
    campaign = CampaignFactory(workspace=alice.workspace, name="Spring")
    step = SequenceFactory(campaign=campaign, delay_days=5)
    variant = VariantFactory(sequence=step, subject="Hello {{first_name}}", body_html="Hi")
    lead = LeadFactory(campaign=campaign, first_name="Ada", variables={"company": "Acme"})
    inbox = InboxFactory(workspace=alice.workspace, first_name="Sam", signature="Best, Sam")
    return campaign, step, variant, lead, inbox


def _patch_operations() -> dict[str, dict]:
    schema = Client().get("/api/v1/schema/").json()
    return {
        path: methods["patch"]
        for path, methods in schema["paths"].items()
        if "patch" in methods and path.startswith(("/api/v1/campaigns", "/api/v1/inboxes"))
    }


def _required(operation: dict, schema: dict) -> list[str]:
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    return body.get("required", [])


def test_patch_with_an_empty_object_changes_nothing_where_the_document_requires_nothing(api, rows):
    campaign, step, variant, lead, inbox = rows
    base = f"/api/v1/campaigns/{campaign.pk}"

    def variant_now() -> dict:
        steps = api.get(f"{base}/sequences").json()["data"]
        found = next(v for s in steps for v in s["variants"] if v["id"] == str(variant.pk))
        return _without_variant_extras(found)

    reads = {
        "/api/v1/campaigns/{id}": (base, lambda: _stable(api.get(base).json()["data"])),
        "/api/v1/campaigns/{id}/schedule": (
            f"{base}/schedule",
            lambda: api.get(base).json()["data"]["schedule"],
        ),
        "/api/v1/campaigns/{campaign_id}/variants/{variant_id}": (
            f"{base}/variants/{variant.pk}",
            variant_now,
        ),
        "/api/v1/campaigns/{campaign_id}/leads/{id}": (
            f"{base}/leads/{lead.pk}",
            lambda: _stable(api.get(f"{base}/leads/{lead.pk}").json()["data"]),
        ),
        "/api/v1/inboxes/{id}": (
            f"/api/v1/inboxes/{inbox.pk}",
            lambda: _stable(api.get(f"/api/v1/inboxes/{inbox.pk}").json()["data"]),
        ),
        "/api/v1/campaigns/{campaign_id}/sequences/{id}": (f"{base}/sequences/{step.pk}", None),
    }
    operations = _patch_operations()
    assert set(reads) == set(operations)
    schema = Client().get("/api/v1/schema/").json()
    for path, (url, read) in reads.items():
        required = _required(operations[path], schema)
        if read is None:
            continue
        assert required == [], path
        before = read()
        response = api.patch(url, {}, format="json")
        assert response.status_code == 200, (path, response.content)
        assert read() == before, path
        assert _without_variant_extras(_stable(response.json()["data"])) == before, path


def test_patch_of_a_step_requires_delay_days_as_the_spec_and_the_document_say(api, rows):
    campaign, step, *_ = rows
    schema = Client().get("/api/v1/schema/").json()
    operation = _patch_operations()["/api/v1/campaigns/{campaign_id}/sequences/{id}"]
    assert _required(operation, schema) == ["delay_days"]

    response = api.patch(f"/api/v1/campaigns/{campaign.pk}/sequences/{step.pk}", {}, format="json")

    assert response.status_code == 422
    assert response.json()["details"] == {"delay_days": ["This field is required."]}
    step.refresh_from_db()
    assert step.delay_days == 5
