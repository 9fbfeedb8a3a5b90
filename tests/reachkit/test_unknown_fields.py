"""Unknown fields in a request body are a 422 naming them, on every operation of the API
(issue 16: a PATCH that answered 200 and changed nothing)."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from campaigns.models import Campaign, Schedule, Sequence, Variant
from reachkit.api.inputs import StrictFieldsMixin
from tests.campaigns.factories import CampaignFactory

UNKNOWN = ["Unknown field: this endpoint does not take it."]


def request_serializers() -> list[tuple[str, str, object]]:
    """(method, path, the body's serializer) of every operation with a body, as the OpenAPI
    document describes them (the views use the same classes)."""
    seen: list[tuple[str, str, object]] = []
    original = AutoSchema._get_request_body

    def record(self, direction="request"):
        if self.method in ("POST", "PATCH", "PUT"):
            seen.append((self.method, self.path, self.get_request_serializer()))
        return original(self, direction)

    AutoSchema._get_request_body = record
    try:
        SchemaGenerator().get_schema(public=True)
    finally:
        AutoSchema._get_request_body = original
    return seen


def body_objects(serializer: object) -> list[object]:
    """The serializer and every object nested in it (fields, list items)."""
    if isinstance(serializer, type):
        serializer = serializer()
    found = [serializer]
    if isinstance(serializer, serializers.ListSerializer | serializers.ListField):
        return [*found, *body_objects(serializer.child)]
    if isinstance(serializer, serializers.Serializer):
        for field in serializer.fields.values():
            if not field.read_only:
                found += body_objects(field)
    return [item for item in found if isinstance(item, serializers.BaseSerializer)]


def test_every_request_body_and_every_object_in_it_refuses_unknown_fields():
    operations = request_serializers()
    assert len(operations) >= 16
    lax = [
        f"{method} {path}: {type(item).__name__}"
        for method, path, serializer in operations
        if serializer is not None
        for item in body_objects(serializer)
        if not isinstance(item, StrictFieldsMixin)
    ]
    assert lax == [], "derive these from reachkit.api.inputs.InputSerializer"


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace)


def test_patch_with_options_nested_is_422_and_changes_nothing(api, campaign):
    before = campaign.daily_limit
    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}",
        {"name": "Renamed", "options": {"daily_limit": 7}},
        format="json",
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["error"].startswith("options: Not a field here: the options are top-level fields")
    assert set(body["details"]) == {"options"}
    assert '{"daily_limit": 7}' in body["details"]["options"][0]
    campaign.refresh_from_db()
    assert (campaign.name, campaign.daily_limit) == (Campaign.objects.get().name, before)
    assert campaign.name != "Renamed"


def test_patch_with_a_schedule_points_to_its_endpoint(api, campaign):
    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}", {"schedule": {"timezone": "UTC"}}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["details"] == {
        "schedule": [
            "Not a field here: the schedule has its own endpoint, PATCH /campaigns/:id/schedule."
        ]
    }


def test_unknown_and_invalid_fields_are_reported_together(api, campaign):
    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}",
        {"daily_limt": 7, "stop_on_reply": "yes"},
        format="json",
    )
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"daily_limt", "stop_on_reply"}
    assert response.json()["details"]["daily_limt"] == UNKNOWN


def test_a_nested_objects_unknown_field_is_named_where_it_is(api, campaign):
    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}/schedule",
        {"default_window": {"start": "08:00", "finish": "18:00"}, "days": {"monday": {"on": 1}}},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["details"] == {
        "default_window": {"finish": UNKNOWN},
        "days": {"monday": {"on": UNKNOWN}},
    }
    schedule = Schedule.objects.get(campaign=campaign)
    assert schedule.start_time.strftime("%H:%M") == "09:00"


def test_sequences_variants_and_previews_refuse_unknown_fields(api, campaign):
    step = Sequence.objects.get(campaign=campaign)
    variant = Variant.objects.get(sequence=step)
    base = f"/api/v1/campaigns/{campaign.pk}"
    cases = [
        ("post", f"{base}/sequences", {"delay_days": 2, "delay": 2}, "delay"),
        ("patch", f"{base}/sequences/{step.pk}", {"delay_days": 2, "days": 2}, "days"),
        ("post", f"{base}/sequences/{step.pk}/variants", {"subject": "Hi", "body": "x"}, "body"),
        ("patch", f"{base}/variants/{variant.pk}", {"subject": "Hi", "letter": "B"}, "letter"),
        ("post", f"{base}/variants/{variant.pk}/preview", {"lead": "x"}, "lead"),
        ("post", f"{base}/inboxes/attach", {"inbox_ids": [], "ids": []}, "ids"),
        ("post", "/api/v1/campaigns", {"name": "n", "title": "t"}, "title"),
    ]
    for method, url, payload, unknown in cases:
        response = getattr(api, method)(url, payload, format="json")
        assert response.status_code == 422, url
        assert response.json()["details"][unknown] == UNKNOWN, url
    assert Sequence.objects.filter(campaign=campaign).count() == 1
    assert Variant.objects.filter(sequence=step).count() == 1
    assert Campaign.objects.count() == 1


def test_hostile_keys_are_refused_without_echoing_them(api, campaign):
    many = {f"k{n}": 1 for n in range(5000)}
    response = api.patch(f"/api/v1/campaigns/{campaign.pk}", many, format="json")
    assert response.status_code == 422
    assert len(response.json()["details"]) == 20

    long_key = "x" * 10_000
    response = api.patch(f"/api/v1/campaigns/{campaign.pk}", {long_key: 1}, format="json")
    assert response.status_code == 422
    (name,) = response.json()["details"]
    assert len(name) == 64
    assert name.endswith("…")

    raw = b'{"name": "n", "\\ud800": 1}'
    response = api.generic(
        "PATCH", f"/api/v1/campaigns/{campaign.pk}", raw, content_type="application/json"
    )
    assert response.status_code in (400, 422)
    assert "error" in response.json()


def test_the_openapi_document_says_request_bodies_take_no_other_keys():
    schema = SchemaGenerator().get_schema(public=True)
    components = schema["components"]["schemas"]
    patch = schema["paths"]["/api/v1/campaigns/{id}"]["patch"]["requestBody"]
    ref = patch["content"]["application/json"]["schema"]["$ref"].rpartition("/")[2]
    assert components[ref]["additionalProperties"] is False
    server = components["ServerSettingsRequest"]
    assert server["additionalProperties"] is False
    # Responses are not inputs: no such promise there.
    assert "additionalProperties" not in components["Campaign"]
