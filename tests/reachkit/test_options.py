"""OPTIONS names a URL's methods and points to the OpenAPI document, which describes the
inputs; it never describes a body field by field (DRF's version called `name` read-only)."""

import pytest

from tests.campaigns.factories import CampaignFactory


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/campaigns", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/api/v1/blocklist", {"GET", "HEAD", "POST", "OPTIONS"}),
    ],
)
def test_options_names_the_methods_and_the_schema(api, path, methods):
    response = api.options(path)

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"methods", "renders", "parses", "schema", "docs"}
    assert set(data["methods"]) == methods
    assert {method.strip() for method in response["Allow"].split(",")} == methods
    assert data["parses"] == ["application/json"]
    assert data["schema"] == "http://testserver/api/v1/schema/"
    assert data["docs"] == "http://testserver/api/v1/docs/"
    assert "actions" not in data


def test_options_on_a_campaign_names_its_methods(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)

    response = api.options(f"/api/v1/campaigns/{campaign.pk}")

    assert response.status_code == 200
    assert set(response.json()["data"]["methods"]) == {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}


def test_options_needs_a_key_like_every_other_method(client, db):
    response = client.options("/api/v1/campaigns")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
