"""Control characters in leads, at every way in: the API (single, PATCH, bulk), CSV imports
(the command and the admin) all apply reachkit.text's rule through leads.inputs.

Names and variable names go into mail headers: no control character at all. Variable
values can fill a body: TAB, CR and LF are fine, NUL, lone surrogates and other controls
are not.
"""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from leads.models import Lead
from tests.campaigns.factories import CampaignFactory
from tests.leads.factories import LeadFactory
from tests.reachkit.factories import UserFactory

# What no name may hold, each with the message a client gets.
BAD_NAMES = {
    "crlf": ("Eve\r\nBcc: x@evil.test", "must not contain a line break"),
    "lf": ("Eve\nBcc: x@evil.test", "must not contain a line break"),
    "cr": ("Eve\rBcc: x@evil.test", "must not contain a line break"),
    "blank line": ("Eve\r\n\r\nbody", "must not contain a line break"),
    "line separator": ("Eve\u2028Bcc", "must not contain a line break"),
    "tab": ("Eve\tSmith", "must not contain a tab"),
    "nul": ("Eve\x00", "must not contain a null character"),
    "escape": ("Eve\x1b[31m", "must not contain a control character (U+001B)"),
    "c1": ("Eve\x9b", "must not contain a control character (U+009B)"),
    "lone surrogate": ("Eve\ud800", "must not contain an unpaired surrogate"),
}
# What no variable value may hold.
BAD_VALUES = {
    "nul": ("Acme\x00", "must not contain a null character"),
    "lone surrogate": ("Acme\udfff", "must not contain an unpaired surrogate"),
    "escape": ("Acme\x1b", "must not contain a control character (U+001B)"),
    "delete": ("Acme\x7f", "must not contain a control character (U+007F)"),
    "c1": ("Acme\x85", "must not contain a line break"),
}


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace, name="Spring")


def post_json(client, url: str, payload: object):
    """Raw JSON with `\\uXXXX` escapes, as a client sends a lone surrogate or a NUL."""
    return client.generic("POST", url, json.dumps(payload), content_type="application/json")


def patch_json(client, url: str, payload: object):
    return client.generic("PATCH", url, json.dumps(payload), content_type="application/json")


def leads_url(campaign) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/leads"


# --- the API ------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("name", BAD_NAMES, ids=str)
def test_a_name_with_a_control_character_is_422_and_stores_nothing(api, campaign, field, name):
    value, message = BAD_NAMES[name]
    response = post_json(api, leads_url(campaign), {"email": "eve@acme.com", field: value})
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "code", "details"}
    assert list(body["details"]) == [field]
    assert message in body["details"][field][0]
    assert not Lead.objects.exists()


@pytest.mark.parametrize("name", BAD_NAMES, ids=str)
def test_patching_a_name_with_a_control_character_is_422_and_changes_nothing(api, campaign, name):
    lead = LeadFactory(campaign=campaign, first_name="Eve", last_name="Smith")
    value, message = BAD_NAMES[name]
    response = patch_json(api, f"{leads_url(campaign)}/{lead.pk}", {"last_name": value})
    assert response.status_code == 422
    assert message in response.json()["details"]["last_name"][0]
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name) == ("Eve", "Smith")


def test_surrounding_whitespace_and_line_breaks_are_trimmed_not_refused(api, campaign):
    response = post_json(
        api, leads_url(campaign), {"email": "eve@acme.com", "first_name": " Eve\r\n"}
    )
    assert response.status_code == 201
    assert Lead.objects.get().first_name == "Eve"


@pytest.mark.parametrize("value", ["Eve", "Zoé Ünal-O'Brien", "李雷", "Ann 🚀", 'Dr. "Bob", Jr.'])
def test_names_in_any_script_are_accepted(api, campaign, value):
    response = post_json(api, leads_url(campaign), {"email": "eve@acme.com", "first_name": value})
    assert response.status_code == 201
    assert Lead.objects.get().first_name == value


@pytest.mark.parametrize("key", ["Com\r\npany", "com\tpany", "company\x00", "company\ud800"])
def test_a_variable_name_with_a_control_character_is_422(api, campaign, key):
    response = post_json(
        api, leads_url(campaign), {"email": "eve@acme.com", "variables": {key: "Acme"}}
    )
    assert response.status_code == 422
    (message,) = response.json()["details"]["variables"]
    assert message.startswith('Variable name "')
    assert "must not contain" in message
    assert not Lead.objects.exists()


@pytest.mark.parametrize("value", BAD_VALUES, ids=str)
def test_a_variable_value_with_nul_a_lone_surrogate_or_a_control_is_422(api, campaign, value):
    text, message = BAD_VALUES[value]
    response = post_json(
        api, leads_url(campaign), {"email": "eve@acme.com", "variables": {"company": text}}
    )
    assert response.status_code == 422
    (error,) = response.json()["details"]["variables"]
    assert error.startswith(f'Variable "company" {message}')
    assert not Lead.objects.exists()


@pytest.mark.parametrize("value", BAD_VALUES, ids=str)
def test_patching_variables_with_a_bad_value_is_422_and_changes_nothing(api, campaign, value):
    lead = LeadFactory(campaign=campaign, variables={"company": "Acme"})
    response = patch_json(
        api, f"{leads_url(campaign)}/{lead.pk}", {"variables": {"company": BAD_VALUES[value][0]}}
    )
    assert response.status_code == 422
    assert "variables" in response.json()["details"]
    lead.refresh_from_db()
    assert lead.variables == {"company": "Acme"}


def test_a_variable_value_may_hold_tabs_and_line_breaks(api, campaign):
    note = "line one\r\nline two\n\tindented\u2028"
    response = post_json(
        api, leads_url(campaign), {"email": "eve@acme.com", "variables": {"note": note}}
    )
    assert response.status_code == 201
    assert Lead.objects.get().variables == {"note": note}


def test_bulk_reports_each_bad_row_and_saves_the_others(api, campaign):
    leads = [{"email": f"ok{n}@acme.com", "first_name": "Ok"} for n in range(6)]
    leads[1]["first_name"] = "Eve\r\nBcc: x@evil.test"
    leads[2]["last_name"] = "Eve\x00"
    leads[3]["variables"] = {"company": "Acme\ud800"}
    leads[4]["variables"] = {"com\npany": "Acme"}
    leads[5]["email"] = "eve\x00@acme.com"
    response = post_json(api, f"{leads_url(campaign)}/bulk", {"leads": leads})

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["created"], data["updated"], data["skipped"]) == (1, 0, 0)
    assert [(error["index"], list(error["details"])) for error in data["errors"]] == [
        (1, ["first_name"]),
        (2, ["last_name"]),
        (3, ["variables"]),
        (4, ["variables"]),
        (5, ["email"]),
    ]
    assert "line break" in data["errors"][0]["details"]["first_name"][0]
    assert list(Lead.objects.values_list("email", flat=True)) == ["ok0@acme.com"]


def test_bulk_update_refuses_a_bad_name_for_an_existing_lead(api, campaign):
    lead = LeadFactory(campaign=campaign, email="eve@acme.com", first_name="Eve")
    response = post_json(
        api,
        f"{leads_url(campaign)}/bulk",
        {
            "leads": [{"email": "eve@acme.com", "first_name": "Eve\r\nBcc: x"}],
            "if_exists": "update",
        },
    )
    assert response.json()["data"]["updated"] == 0
    assert response.json()["data"]["errors"][0]["index"] == 0
    lead.refresh_from_db()
    assert lead.first_name == "Eve"


# --- CSV imports --------------------------------------------------------------------------------


def import_csv(campaign, tmp_path, content: bytes) -> tuple[str, str]:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_leads", "--campaign", str(campaign.pk), str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_quoted_cell_with_a_line_break_cannot_put_one_in_a_name(campaign, tmp_path):
    out, err = import_csv(
        campaign,
        tmp_path,
        b"email,first_name,last_name,notes\n"  # 1
        b'eve@acme.com,"Eve\r\nBcc: x@evil.test",Smith,\n'  # 2-3
        b'bob@acme.com,Bob,"Lee\n\nX-Evil: 1",\n'  # 4-6
        b"ann@acme.com,Ann\x00,Lee,\n"  # 7
        b"kim@acme.com,Kim,Lee,\x1b[31mred\n"  # 8
        b'zoe@acme.com,Zo\xc3\xa9,Lee,"two\r\nlines\tand a tab"\n',  # 9-10
    )
    assert err.splitlines() == [
        "line 2: first_name: This field must not contain a line break.",
        "line 4: last_name: This field must not contain a line break.",
        "line 7: first_name: This field must not contain a null character.",
        'line 8: variables: Variable "notes" must not contain a control character (U+001B).',
    ]
    assert "5 rows, 1 created, 0 updated, 0 skipped, 4 failed" in out
    zoe = Lead.objects.get()
    assert (zoe.email, zoe.first_name, zoe.variables) == (
        "zoe@acme.com",
        "Zoé",
        {"notes": "two\r\nlines\tand a tab"},
    )


def test_a_column_name_with_a_control_character_refuses_the_file(campaign, tmp_path):
    with pytest.raises(CommandError, match="column 2 must not contain a control character"):
        import_csv(campaign, tmp_path, b"email,Com\x1bpany\neve@acme.com,Acme\n")
    assert not Lead.objects.exists()


def test_the_admin_import_reports_a_name_with_a_line_break_by_line(campaign):
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    upload = SimpleUploadedFile(
        "leads.csv", b'email,first_name\nann@x.com,Ann\neve@x.com,"Eve\r\nBcc: x@evil.test"\n'
    )
    response = staff.post(
        "/admin/campaigns/campaign/",
        {
            "action": "import_leads_csv",
            "_selected_action": [campaign.pk],
            "upload": "1",
            "if_exists": "fail",
            "file": upload,
        },
        follow=True,
    )
    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == [
        '"Spring": 2 rows, 1 created, 0 updated, 0 skipped, 1 failed.',
        "line 3: first_name: This field must not contain a line break.",
        "3 lines read as 2 rows: lines 3-4 are one row (a quoted cell holds line breaks).",
    ]
    assert list(Lead.objects.values_list("email", flat=True)) == ["ann@x.com"]
