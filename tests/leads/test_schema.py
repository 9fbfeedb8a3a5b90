"""The lead endpoints are in the OpenAPI document, with their envelopes."""

from django.test import Client


def test_schema_lists_the_lead_endpoints(db):
    paths = Client().get("/api/v1/schema/").json()["paths"]
    base = "/api/v1/campaigns/{campaign_id}/leads"
    assert set(paths[base]) == {"get", "post"}
    assert set(paths[f"{base}/bulk"]) == {"post"}
    assert set(paths[f"{base}/{{id}}"]) == {"get", "patch", "delete"}
    create = paths[base]["post"]["responses"]
    assert {"200", "201", "409", "422", "404", "401"} <= set(create)
    bulk = paths[f"{base}/bulk"]["post"]["responses"]["200"]["content"]["application/json"]
    assert "data" in bulk["schema"]["properties"]
