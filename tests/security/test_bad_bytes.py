"""Issue 9, finding 7 (request bodies): a NUL or a lone surrogate in a JSON body or a CSV file.

They answered 500: PostgreSQL cannot store a NUL, a lone surrogate cannot be written as
UTF-8 (nor stored, nor echoed in an error), one bad lead failed a whole bulk batch and its
traceback wrote lead data to the log. Each is now a 422 (a per-row error in a batch or an
import) with nothing written. tests/reachkit/test_body_text.py covers every body field.
"""

import io
import json

import pytest
from django.core.management import call_command

from campaigns.models import Campaign, Schedule
from leads.models import Lead
from tests.campaigns.factories import CampaignFactory
from tests.leads.factories import LeadFactory

NUL = "\x00"
LONE_SURROGATE = "\ud800"
BAD = pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE], ids=["nul", "lone-surrogate"])


def send_json(client, method: str, url: str, payload: object):
    """The body as a client writes it: `\\u0000` and `\\ud800` escapes (json.dumps)."""
    return client.generic(method, url, json.dumps(payload), content_type="application/json")


def assert_422(response) -> dict:
    assert response.status_code == 422, response.content
    body = response.json()
    assert set(body) == {"error", "code", "details"}
    assert body["code"] == "validation_error"
    return body["details"]


@pytest.fixture
def campaign(alice) -> Campaign:
    return CampaignFactory(workspace=alice.workspace)


@BAD
def test_nul_or_lone_surrogate_in_a_lead_is_a_422_not_a_500(api, campaign, bad):
    leads = f"/api/v1/campaigns/{campaign.pk}/leads"
    for payload, field in [
        ({"email": "eve@acme.com", "first_name": f"Eve{bad}"}, "first_name"),
        ({"email": "eve@acme.com", "last_name": f"Eve{bad}"}, "last_name"),
        ({"email": "eve@acme.com", "variables": {"company": f"Acme{bad}"}}, "variables"),
        ({"email": "eve@acme.com", "variables": {f"company{bad}": "Acme"}}, "variables"),
        ({"email": f"eve{bad}@acme.com"}, "email"),
    ]:
        assert list(assert_422(send_json(api, "POST", leads, payload))) == [field]
    assert not Lead.objects.exists()

    lead = LeadFactory(campaign=campaign, first_name="Eve", variables={"company": "Acme"})
    for payload in [{"first_name": f"Eve{bad}"}, {"variables": {"company": f"Acme{bad}"}}]:
        assert_422(send_json(api, "PATCH", f"{leads}/{lead.pk}", payload))
    lead.refresh_from_db()
    assert (lead.first_name, lead.variables) == ("Eve", {"company": "Acme"})


def test_one_bad_lead_cannot_fail_a_1000_lead_batch_nor_log_its_data(api, campaign, log_output):
    leads = [{"email": f"lead{n}@acme.com", "first_name": f"Lead {n}"} for n in range(1000)]
    leads[10] = {"email": "secret.nul@acme.com", "first_name": f"Eve{NUL}"}
    leads[500] = {"email": "secret.surrogate@acme.com", "variables": {"x": LONE_SURROGATE}}

    response = send_json(
        api, "POST", f"/api/v1/campaigns/{campaign.pk}/leads/bulk", {"leads": leads}
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["created"] == 998
    assert [(error["index"], list(error["details"])) for error in data["errors"]] == [
        (10, ["first_name"]),
        (500, ["variables"]),
    ]
    assert Lead.objects.count() == 998
    assert not Lead.objects.filter(email__startswith="secret").exists()
    logged = log_output.getvalue()
    assert "secret" not in logged
    assert "Traceback" not in logged
    assert "status=200" in logged


def test_nul_in_a_csv_file_is_a_bad_row_not_a_crash(campaign, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(
        b"email,first_name,company\n"
        b"ann@acme.com,Ann,Initech\n"
        b"eve@acme.com,Eve\x00,Evil\n"
        b"kim@acme.com,Kim,Ev\x00il\n"
        b"bob@acme.com,Bob,\xed\xa0\x80\n"  # a surrogate encoded as UTF-8 bytes: not UTF-8
        b"zoe@acme.com,Zoe,Globex\n"
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import_leads", "--campaign", str(campaign.pk), str(path), stdout=out, stderr=err)

    assert err.getvalue().splitlines() == [
        "line 3: first_name: This field must not contain a null character.",
        'line 4: variables: Variable "company" must not contain a null character.',
        "line 5: Not valid UTF-8: save the file as CSV UTF-8.",
    ]
    assert "5 rows, 2 created, 0 updated, 0 skipped, 3 failed" in out.getvalue()
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["ann@acme.com", "zoe@acme.com"]


def test_a_lone_surrogate_echoed_in_an_error_cannot_break_the_response(api, campaign):
    """Fields that quote a wrong value back ("…" is not a valid choice) or file an error under
    a key the client chose answered 500: the error itself could not be written as UTF-8."""
    bad = LONE_SURROGATE
    schedule_before = list(Schedule.objects.values())
    url = f"/api/v1/campaigns/{campaign.pk}"
    cases = [
        ("PATCH", url, {"status": f"active{bad}"}, "status"),
        ("PATCH", f"{url}/schedule", {"days": {f"mon{bad}": {}}}, "days"),
        ("POST", f"{url}/leads", {"email": "a@acme.com", "if_exists": f"skip{bad}"}, "if_exists"),
        ("POST", "/api/v1/inboxes", {"smtp": {"security": f"ssl{bad}"}}, "smtp.security"),
    ]
    for method, url, payload, field in cases:
        details = assert_422(send_json(api, method, url, payload))
        assert field in details, (url, details)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert list(Schedule.objects.values()) == schedule_before
    assert not Lead.objects.exists()


def test_an_infinite_number_in_a_variable_is_a_422_not_a_500(api, campaign):
    """`1e999` is valid JSON that Python reads as infinity, which jsonb cannot store."""
    leads = f"/api/v1/campaigns/{campaign.pk}/leads"
    huge = '{"email": "eve@acme.com", "variables": {"score": 1e999}}'
    response = api.generic("POST", leads, huge, content_type="application/json")
    assert list(assert_422(response)) == ["variables"]
    bulk = api.generic(
        "POST",
        f"{leads}/bulk",
        '{"leads": [{"email": "eve@acme.com", "variables": {"score": -1e999}},'
        ' {"email": "bob@acme.com"}]}',
        content_type="application/json",
    )
    assert bulk.status_code == 200, bulk.content
    assert bulk.json()["data"]["created"] == 1
    assert [error["index"] for error in bulk.json()["data"]["errors"]] == [0]
    assert list(Lead.objects.values_list("email", flat=True)) == ["bob@acme.com"]

    variant = campaign.sequences.get().variants.get()
    preview = api.generic(
        "POST",
        f"/api/v1/campaigns/{campaign.pk}/variants/{variant.pk}/preview",
        '{"variables": {"score": 1e999}}',
        content_type="application/json",
    )
    assert list(assert_422(preview)) == ["variables"]
