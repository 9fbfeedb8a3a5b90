"""POST /campaigns/:id/variants/:variant_id/preview: a variant rendered for a lead or values."""

import uuid

import pytest

from campaigns.content import unsubscribe
from campaigns.models import Variant
from leads.inputs import MAX_VARIABLE_NAME_LENGTH, MAX_VARIABLE_VALUE_LENGTH
from tests.campaigns.factories import CampaignFactory
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace)


@pytest.fixture
def variant(api, campaign):
    variant = Variant.objects.get(sequence__campaign=campaign, letter="A")
    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}/variants/{variant.pk}",
        {
            "subject": "{{SPINTAX|Hi|Hello}} {{first_name}} from {{sender_first_name|us}}",
            "body_html": "Hi {{first_name|there}},<br>how is {{company}}?"
            ' <a href="https://x.io/{{company}}">site</a>',
        },
        format="json",
    )
    assert response.status_code == 200
    variant.refresh_from_db()
    return variant


def url(campaign, variant) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/variants/{variant.pk}/preview"


def test_preview_for_a_lead_renders_subject_html_and_text(api, campaign, variant):
    lead = LeadFactory(campaign=campaign, first_name="Ada", variables={"Company": "Acme & Co"})

    response = api.post(url(campaign, variant), {"lead_id": str(lead.pk)}, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"subject", "body_html", "body_text", "missing_variables"}
    assert data["subject"] in ("Hi Ada from us", "Hello Ada from us")
    assert "how is Acme &amp; Co?" in data["body_html"]
    assert "Hi Ada,<br>" in data["body_html"]
    assert "how is Acme & Co?" in data["body_text"]
    assert data["missing_variables"] == []
    again = api.post(url(campaign, variant), {"lead_id": str(lead.pk)}, format="json")
    assert again.json() == response.json()


def test_preview_for_values_reports_the_missing_ones(api, campaign, variant):
    response = api.post(url(campaign, variant), {"variables": {"firstName": "Bo"}}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["subject"].endswith("Bo from us")
    assert "how is ?" in data["body_text"]
    assert data["missing_variables"] == ["company"]


def test_preview_accepts_scalar_values(api, campaign, variant):
    response = api.post(
        url(campaign, variant),
        {"variables": {"first_name": 7, "company": True, "x": None, "y": 1.5}},
        format="json",
    )
    assert response.status_code == 200
    assert "how is True?" in response.json()["data"]["body_text"]


def test_preview_fills_the_sender_from_a_chosen_inbox(api, alice, campaign, variant):
    inbox = InboxFactory(workspace=alice.workspace, first_name="Grace")
    response = api.post(
        url(campaign, variant), {"variables": {}, "inbox_id": str(inbox.pk)}, format="json"
    )
    assert response.json()["data"]["subject"].endswith("from Grace")


def test_preview_changes_nothing(api, campaign, variant):
    before = Variant.objects.filter(pk=variant.pk).values().get()
    api.post(url(campaign, variant), {"variables": {"company": "Acme"}}, format="json")
    assert Variant.objects.filter(pk=variant.pk).values().get() == before


def test_a_lead_of_another_campaign_or_workspace_is_404(api, alice, charlie, campaign, variant):
    elsewhere = LeadFactory(campaign=CampaignFactory(workspace=alice.workspace))
    foreign = LeadFactory(campaign=CampaignFactory(workspace=charlie.workspace))
    for lead_id in (elsewhere.pk, foreign.pk, uuid.uuid4()):
        response = api.post(url(campaign, variant), {"lead_id": str(lead_id)}, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_an_inbox_of_another_workspace_is_404(api, charlie, campaign, variant):
    inbox = InboxFactory(workspace=charlie.workspace)
    response = api.post(
        url(campaign, variant), {"variables": {}, "inbox_id": str(inbox.pk)}, format="json"
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"lead_id": str(uuid.uuid4()), "variables": {}},
        {"lead_id": "nope"},
        {"lead_id": 5},
        {"variables": []},
        {"variables": "first_name=Ada"},
        {"variables": {"company": {"name": "Acme"}}},
        {"variables": {"company": ["Acme"]}},
        {"variables": {f"v{n}": "x" for n in range(201)}},
        {"variables": {}, "inbox_id": "nope"},
    ],
)
def test_bad_preview_requests_are_422(api, campaign, variant, payload):
    response = api.post(url(campaign, variant), payload, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["details"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"variables": {"first_name": "\\ud800"}}',
        '{"variables": {"first_name": "a\\u0000b"}}',
        '{"variables": {"\\ud800": "x"}}',
    ],
)
def test_values_that_cannot_be_sent_as_utf8_are_422_not_500(api, campaign, variant, raw):
    response = api.generic("POST", url(campaign, variant), raw, content_type="application/json")
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"variables"}


def test_preview_values_have_a_leads_limits_on_names_and_values(api, campaign, variant):
    longest = {"n" * MAX_VARIABLE_NAME_LENGTH: "v" * MAX_VARIABLE_VALUE_LENGTH, "n": 1.5}
    assert (
        api.post(url(campaign, variant), {"variables": longest}, format="json").status_code == 200
    )

    for variables in (
        {"n" * (MAX_VARIABLE_NAME_LENGTH + 1): "v"},
        {"company": "v" * (MAX_VARIABLE_VALUE_LENGTH + 1)},
    ):
        response = api.post(url(campaign, variant), {"variables": variables}, format="json")
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert "characters" in response.json()["details"]["variables"][0]


def test_a_preview_past_a_rendered_size_cap_is_422_naming_the_field(api, campaign, variant):
    api.patch(
        f"/api/v1/campaigns/{campaign.pk}/variants/{variant.pk}",
        {"subject": "{{company}}", "body_html": "{{company}}" * 100},
        format="json",
    )
    for company, field in (("c" * 1001, "subject"), ("<" * 600, "body_html")):
        response = api.post(
            url(campaign, variant), {"variables": {"company": company}}, format="json"
        )
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "email_too_long"
        limit = {"subject": "1,000", "body_html": "200,000"}[field]
        assert body["details"] == {field: [body["error"]]}
        assert f"longer than {limit} characters" in body["error"]


def test_a_preview_with_an_inbox_ends_with_its_signature(api, alice, campaign, variant):
    inbox = InboxFactory(workspace=alice.workspace, signature="Grace\nAcme")
    response = api.post(
        url(campaign, variant), {"variables": {}, "inbox_id": str(inbox.pk)}, format="json"
    )
    data = response.json()["data"]
    assert data["body_html"].endswith("<br><br>Grace<br>Acme")
    assert data["body_text"].endswith("\n\nGrace\nAcme")


def test_a_leads_preview_puts_the_signature_before_the_unsubscribe_footer(api, alice, campaign):
    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}", {"unsubscribe_option": True}, format="json"
    )
    assert response.status_code == 200
    variant = Variant.objects.get(sequence__campaign=campaign, letter="A")
    variant.refresh_from_db()
    lead = LeadFactory(campaign=campaign, first_name="Ada")
    inbox = InboxFactory(workspace=alice.workspace, signature="Grace\nAcme")

    data = api.post(
        url(campaign, variant), {"lead_id": str(lead.pk), "inbox_id": str(inbox.pk)}, format="json"
    ).json()["data"]

    link = unsubscribe.url_for(lead)
    assert data["body_html"].endswith(f'Grace<br>Acme<br><br><a href="{link}">Unsubscribe</a>')
    assert data["body_text"].endswith(f"Grace\nAcme\n\nUnsubscribe ({link})")
    assert "{{" not in data["body_html"] + data["body_text"]


def test_a_link_written_in_the_body_is_filled_for_a_lead_without_the_option(api, campaign):
    variant = Variant.objects.get(sequence__campaign=campaign, letter="A")
    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}/variants/{variant.pk}",
        {"subject": "Hi", "body_html": 'Hello.<br><br><a href="{{unsubscribe_url}}">Opt out</a>'},
        format="json",
    )
    assert response.status_code == 200
    lead = LeadFactory(campaign=campaign)

    data = api.post(url(campaign, variant), {"lead_id": str(lead.pk)}, format="json").json()
    link = unsubscribe.url_for(lead)
    assert data["data"]["body_html"] == f'Hello.<br><br><a href="{link}">Opt out</a>'
    assert data["data"]["body_text"] == f"Hello.\n\nOpt out ({link})"


def test_a_signature_goes_last_when_the_link_is_not_the_last_paragraph(api, alice, campaign):
    variant = Variant.objects.get(sequence__campaign=campaign, letter="A")
    api.patch(
        f"/api/v1/campaigns/{campaign.pk}/variants/{variant.pk}",
        {
            "subject": "Hi",
            "body_html": 'No more? <a href="{{unsubscribe_url}}">Here</a><br><br>Bye',
        },
        format="json",
    )
    inbox = InboxFactory(workspace=alice.workspace, signature="Grace")
    data = api.post(
        url(campaign, variant), {"variables": {}, "inbox_id": str(inbox.pk)}, format="json"
    ).json()["data"]
    assert data["body_html"].endswith("Bye<br><br>Grace")
