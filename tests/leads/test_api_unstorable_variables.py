"""Values the database cannot store in a lead's `variables` are a 422 naming the field (issue 15).

They were 500s: `1e999` is read by Python's JSON parser as ±Infinity, which jsonb refuses;
a NUL or a lone surrogate cannot be stored or written as UTF-8. On create and PATCH the call
answers 422 with `details.variables`; in a bulk call the lead is one entry of `errors` and
the other leads are saved.
"""

import pytest

from leads.models import Lead
from tests.campaigns.factories import CampaignFactory
from tests.leads.factories import LeadFactory

# Raw bodies: `1e999` and the escapes must reach the server as a client writes them.
UNSTORABLE = {
    "infinity": ("1e999", "must be a finite number"),
    "minus infinity": ("-1e999", "must be a finite number"),
    "nul": ('"Ac\\u0000me"', "must not contain a null character"),
    "lone surrogate": ('"Ac\\ud800me"', "must not contain an unpaired surrogate"),
    "nul in a name": (None, "must not contain a null character"),
}


def _variables(case: str) -> str:
    value, _ = UNSTORABLE[case]
    if value is None:
        return '{"comp\\u0000any": "Acme"}'
    return '{"company": ' + value + "}"


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace, name="Spring")


def leads_url(campaign) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/leads"


def send(client, method: str, url: str, raw: str):
    return client.generic(method, url, raw, content_type="application/json")


@pytest.mark.parametrize("case", UNSTORABLE)
def test_create_answers_422_naming_variables(api, campaign, case):
    raw = '{"email": "ada@acme.com", "variables": ' + _variables(case) + "}"
    response = send(api, "POST", leads_url(campaign), raw)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert UNSTORABLE[case][1] in body["details"]["variables"][0]
    assert not Lead.objects.filter(campaign=campaign).exists()


@pytest.mark.parametrize("case", UNSTORABLE)
def test_patch_answers_422_naming_variables_and_changes_nothing(api, campaign, case):
    lead = LeadFactory(campaign=campaign, first_name="Before", variables={"company": "Before"})
    raw = '{"first_name": "Changed", "variables": ' + _variables(case) + "}"
    response = send(api, "PATCH", f"{leads_url(campaign)}/{lead.pk}", raw)
    assert response.status_code == 422, response.content
    assert UNSTORABLE[case][1] in response.json()["details"]["variables"][0]
    lead.refresh_from_db()
    assert (lead.first_name, lead.variables) == ("Before", {"company": "Before"})


def test_bulk_reports_each_unstorable_lead_and_saves_the_others(api, campaign):
    bad = [_variables(case) for case in UNSTORABLE]
    leads = ['{"email": "first@acme.com", "variables": {"n": 1.5}}']
    leads += [f'{{"email": "bad{i}@acme.com", "variables": {v}}}' for i, v in enumerate(bad)]
    leads += ['{"email": "last@acme.com", "variables": {"company": "Acme"}}']
    raw = '{"leads": [' + ", ".join(leads) + "]}"
    response = send(api, "POST", f"{leads_url(campaign)}/bulk", raw)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["created"] == 2
    assert [error["index"] for error in data["errors"]] == list(range(1, len(bad) + 1))
    for error, case in zip(data["errors"], UNSTORABLE, strict=True):
        assert UNSTORABLE[case][1] in error["details"]["variables"][0], case
    saved = Lead.objects.filter(campaign=campaign).order_by("email_key")
    assert [(lead.email, lead.variables) for lead in saved] == [
        ("first@acme.com", {"n": 1.5}),
        ("last@acme.com", {"company": "Acme"}),
    ]
