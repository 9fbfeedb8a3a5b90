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


def test_a_bulk_call_documents_that_any_lead_is_taken_and_checked_alone(db, api):
    # The leads were typed (email required): a lead without one was "invalid" by the
    # document, yet the API rightly takes the call and reports it in `errors`.
    schema = Client().get("/api/v1/schema/").json()
    request = schema["paths"]["/api/v1/campaigns/{campaign_id}/leads/bulk"]["post"]["requestBody"]
    reference = request["content"]["application/json"]["schema"]["$ref"]
    leads = schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]["properties"]["leads"]
    assert (leads["type"], leads["minItems"], leads["maxItems"]) == ("array", 1, 1000)
    assert not {"type", "required"} & set(leads["items"])
    assert set(leads["items"]["properties"]) == {"email", "first_name", "last_name", "variables"}
    assert all(set(field) == {"description"} for field in leads["items"]["properties"].values())
