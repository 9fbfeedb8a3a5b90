"""Variants: create, update, delete; letters; the last enabled variant; HTML; merge tags."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.content import html_body
from campaigns.models import Sequence, Variant
from tests.campaigns.factories import CampaignFactory, SequenceFactory, VariantFactory
from tests.leads.factories import LeadFactory

# The spec's fields, and (issue 16) the letter and the warnings about unknown merge tags.
VARIANT_FIELDS = {"id", "letter", "subject", "body_html", "body_text", "enabled", "warnings"}


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace)


@pytest.fixture
def step(campaign):
    return Sequence.objects.get(campaign=campaign, step=1)


def create_url(campaign, sequence) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/sequences/{sequence.pk}/variants"


def url(campaign, variant) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/variants/{variant.pk}"


def variant_a(step) -> Variant:
    return Variant.objects.get(sequence=step, letter="A")


def stored(step) -> list[dict]:
    return list(Variant.objects.filter(sequence=step).order_by("letter").values())


# --- create -----------------------------------------------------------------------------------


def test_create_adds_the_next_letter_and_returns_the_variant(api, campaign, step):
    response = api.post(
        create_url(campaign, step),
        {"subject": "Hi {{first_name}}", "body_html": "<p>Hello <b>there</b></p>"},
        format="json",
    )

    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == VARIANT_FIELDS
    assert data["subject"] == "Hi {{first_name}}"
    assert data["enabled"] is True
    assert data["body_html"] == html_body.normalize_html("<p>Hello <b>there</b></p>")
    assert "<b>there</b>" in data["body_html"]
    assert "<p>" not in data["body_html"]
    assert data["body_text"] == html_body.html_to_text(data["body_html"])
    assert (data["letter"], data["warnings"]) == ("B", [])
    variant = Variant.objects.get(pk=data["id"])
    assert (variant.letter, variant.workspace_id) == ("B", campaign.workspace_id)


def test_letters_run_a_b_c_and_reuse_a_deleted_one(api, campaign, step):
    letters = []
    for n in range(3):
        response = api.post(create_url(campaign, step), {"subject": f"s{n}"}, format="json")
        letters.append(Variant.objects.get(pk=response.json()["data"]["id"]).letter)
    assert letters == ["B", "C", "D"]

    api.delete(url(campaign, Variant.objects.get(sequence=step, letter="C")))
    response = api.post(create_url(campaign, step), {"subject": "again"}, format="json")
    assert Variant.objects.get(pk=response.json()["data"]["id"]).letter == "C"
    assert [v["letter"] for v in stored(step)] == ["A", "B", "C", "D"]


def test_a_step_holds_at_most_26_variants(api, campaign, step):
    for _ in range(25):
        VariantFactory(sequence=step)
    response = api.post(create_url(campaign, step), {"subject": "27th"}, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "too_many_variants"
    assert Variant.objects.filter(sequence=step).count() == 26


def test_letters_are_per_step(api, campaign, step):
    second = SequenceFactory(campaign=campaign)
    response = api.post(create_url(campaign, second), {"subject": "x"}, format="json")
    assert Variant.objects.get(pk=response.json()["data"]["id"]).letter == "B"


def test_create_can_start_disabled_and_without_a_body(api, campaign, step):
    response = api.post(
        create_url(campaign, step), {"subject": "s", "enabled": False}, format="json"
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["enabled"], data["body_html"], data["body_text"]) == (False, "", "")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "subject"),
        ({"subject": ""}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"subject": None}, "subject"),
        ({"subject": 5}, "subject"),
        ({"subject": "two\nlines"}, "subject"),
        ({"subject": "x" * 501}, "subject"),
        ({"subject": "ok", "body_html": 5}, "body_html"),
        ({"subject": "ok", "body_html": "x" * 100_001}, "body_html"),
        ({"subject": "ok", "enabled": "true"}, "enabled"),
    ],
)
def test_create_with_bad_input_is_422_and_adds_nothing(api, campaign, step, payload, field):
    before = stored(step)
    response = api.post(create_url(campaign, step), payload, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["details"]
    assert stored(step) == before


# --- merge tags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "offset"),
    [
        ("subject", "Hi {{first_name", 3),
        ("subject", "Hi {{}} there", 3),
        ("subject", "{{a {{b}}", 0),
        ("body_html", "Hello {{first_name}}, {{company", 22),
        ("body_html", "Hello {{SPINTAX|}}", 6),
    ],
)
def test_a_malformed_merge_tag_is_422_with_the_offset_of_its_opening_braces(
    api, campaign, step, field, text, offset
):
    before = stored(step)
    payload = {"subject": "ok", field: text}

    for response in (
        api.post(create_url(campaign, step), payload, format="json"),
        api.patch(url(campaign, variant_a(step)), {field: text}, format="json"),
    ):
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "invalid_merge_tag"
        assert set(body["details"]) == {field}
        assert body["details"][field]["offset"] == offset
        assert isinstance(body["details"][field]["offset"], int)
        assert body["details"][field]["message"]
    assert stored(step) == before


def test_a_body_whose_template_alone_passes_the_rendered_cap_is_422_and_nothing_is_saved(
    api, campaign, step
):
    # 100,000 characters in, but each "&" is stored as "&amp;": 500,000 once rendered.
    before = stored(step)
    body = "&" * 100_000
    for response in (
        api.post(create_url(campaign, step), {"subject": "ok", "body_html": body}, format="json"),
        api.patch(url(campaign, variant_a(step)), {"body_html": body}, format="json"),
    ):
        assert response.status_code == 422
        assert response.json()["code"] == "email_too_long"
        assert list(response.json()["details"]) == ["body_html"]
    assert stored(step) == before
    ok = api.patch(url(campaign, variant_a(step)), {"body_html": "&" * 40_000}, format="json")
    assert ok.status_code == 200


def test_both_fields_are_reported_and_nothing_is_saved(api, campaign, step):
    before = stored(step)
    response = api.patch(
        url(campaign, variant_a(step)),
        {"subject": "{{x", "body_html": "ok {{y", "enabled": False},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["details"] == {
        "subject": {"offset": 0, "message": "Unclosed merge tag"},
        "body_html": {"offset": 3, "message": "Unclosed merge tag"},
    }
    assert stored(step) == before


def test_well_formed_merge_tags_are_kept_as_written(api, campaign, step):
    subject = "{{SPINTAX|Hi|Hello}} {{First Name|there}}, \\{{literal}}"
    body = 'See {{LOOM|video|our demo}} — {{company|your team}} <a href="https://x.io">x</a>'
    response = api.patch(
        url(campaign, variant_a(step)), {"subject": subject, "body_html": body}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["subject"] == subject
    assert "{{LOOM|video|our demo}}" in data["body_html"]
    assert "{{company|your team}}" in data["body_text"]


# --- update -----------------------------------------------------------------------------------


def test_update_changes_only_the_given_fields(api, campaign, step):
    variant = variant_a(step)
    api.patch(url(campaign, variant), {"subject": "First", "body_html": "Body"}, format="json")

    response = api.patch(url(campaign, variant), {"subject": "Second"}, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == VARIANT_FIELDS
    assert (data["id"], data["subject"], data["body_html"]) == (str(variant.pk), "Second", "Body")
    assert data["body_text"] == "Body"
    variant.refresh_from_db()
    assert (variant.subject, variant.body_html, variant.body_text) == ("Second", "Body", "Body")


def test_update_normalises_html_and_derives_the_text(api, campaign, step):
    response = api.patch(
        url(campaign, variant_a(step)),
        {
            "body_html": '<div style="color:red">Hi <script>alert(1)</script><i>you</i></div>'
            '<p>Line two<br>three</p><a href="javascript:alert(1)">bad</a>'
            '<a href="https://acme.com" onclick="x()">Acme</a>'
            '<img src="https://acme.com/a.png" alt="logo" width="10" class="x">'
        },
        format="json",
    )
    assert response.status_code == 200
    html = response.json()["data"]["body_html"]
    text = response.json()["data"]["body_text"]
    for gone in ("<div", "<p", "<script", "alert(1)", "style=", "onclick", "class=", "javascript:"):
        assert gone not in html, gone
    assert "<i>you</i>" in html
    assert 'href="https://acme.com"' in html
    assert '<img src="https://acme.com/a.png" alt="logo" width="10">' in html
    assert "<br>" in html
    assert "Acme (https://acme.com)" in text
    assert "Line two\nthree" in text


def test_an_empty_follow_up_subject_is_allowed(api, campaign):
    follow_up = VariantFactory(sequence=SequenceFactory(campaign=campaign), subject="Bump")
    response = api.patch(url(campaign, follow_up), {"subject": ""}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["subject"] == ""


def test_the_last_enabled_variant_cannot_be_disabled(api, campaign, step):
    before = stored(step)
    response = api.patch(
        url(campaign, variant_a(step)), {"enabled": False, "subject": "changed"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "cannot_disable_last_variant"
    assert stored(step) == before


def test_a_variant_can_be_disabled_while_another_stays_enabled(api, campaign, step):
    other = VariantFactory(sequence=step)
    response = api.patch(url(campaign, variant_a(step)), {"enabled": False}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["enabled"] is False
    # Now B is the last enabled one.
    assert api.patch(url(campaign, other), {"enabled": False}, format="json").status_code == 422
    assert (
        api.patch(url(campaign, variant_a(step)), {"enabled": True}, format="json").status_code
        == 200
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"subject": 1},
        {"subject": "a\r\nBcc: x@y.z"},
        {"body_html": None},
        {"body_html": ["x"]},
        {"enabled": 1},
        {"enabled": None},
    ],
)
def test_update_with_bad_types_is_422_and_changes_nothing(api, campaign, step, payload):
    before = stored(step)
    response = api.patch(url(campaign, variant_a(step)), payload, format="json")
    assert response.status_code == 422
    assert set(response.json()["details"]) == set(payload)
    assert stored(step) == before


# --- delete -----------------------------------------------------------------------------------


def test_delete_removes_a_variant(api, campaign, step):
    other = VariantFactory(sequence=step)
    response = api.delete(url(campaign, other))
    assert response.status_code == 204
    assert response.content == b""
    assert not Variant.objects.filter(pk=other.pk).exists()


def test_the_last_enabled_variant_cannot_be_deleted(api, campaign, step):
    disabled = VariantFactory(sequence=step, enabled=False)
    before = stored(step)
    response = api.delete(url(campaign, variant_a(step)))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "cannot_delete_last_variant"
    assert body["error"]
    assert stored(step) == before
    # A disabled one can go: the enabled A remains.
    assert api.delete(url(campaign, disabled)).status_code == 204


# --- unsubscribe link -------------------------------------------------------------------------


def link_count(html: str | None) -> int:
    return (html or "").count('href="{{unsubscribe_url}}"')


def test_turning_the_option_on_adds_the_link_to_every_variant(api, campaign, step):
    second = SequenceFactory(campaign=campaign)
    VariantFactory(sequence=second, body_html="Bump", body_text="Bump")

    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}", {"unsubscribe_option": True}, format="json"
    )

    assert response.status_code == 200
    variants = Variant.objects.filter(sequence__campaign=campaign)
    assert variants.count() == 3
    for variant in variants:
        assert link_count(variant.body_html) == 1, variant.letter
        assert html_body.has_unsubscribe_link(variant.body_html)
        assert variant.body_text == html_body.html_to_text(variant.body_html)


def test_turning_the_option_off_removes_the_link_from_every_variant(api, campaign, step):
    api.patch(f"/api/v1/campaigns/{campaign.pk}", {"unsubscribe_option": True}, format="json")
    api.patch(url(campaign, variant_a(step)), {"body_html": "Hello"}, format="json")

    response = api.patch(
        f"/api/v1/campaigns/{campaign.pk}", {"unsubscribe_option": False}, format="json"
    )

    assert response.status_code == 200
    variant = variant_a(step)
    assert link_count(variant.body_html) == 0
    assert "Hello" in variant.body_html
    assert "unsubscribe" not in (variant.body_text or "").lower()


def test_with_the_option_on_a_removed_link_is_put_back(api, campaign, step):
    api.patch(f"/api/v1/campaigns/{campaign.pk}", {"unsubscribe_option": True}, format="json")
    response = api.patch(
        url(campaign, variant_a(step)), {"body_html": "No link here"}, format="json"
    )
    assert response.status_code == 200
    assert "No link here" in response.json()["data"]["body_html"]
    assert link_count(response.json()["data"]["body_html"]) == 1


def test_with_the_option_on_a_kept_link_is_not_doubled(api, campaign, step):
    api.patch(f"/api/v1/campaigns/{campaign.pk}", {"unsubscribe_option": True}, format="json")
    own = 'Hi. <a href="{{unsubscribe_url}}">Stop these emails</a>'
    response = api.patch(url(campaign, variant_a(step)), {"body_html": own}, format="json")
    html = response.json()["data"]["body_html"]
    assert link_count(html) == 1
    assert "Stop these emails" in html


def test_with_the_option_on_a_new_variant_and_a_new_step_carry_the_link(api, campaign, step):
    api.patch(f"/api/v1/campaigns/{campaign.pk}", {"unsubscribe_option": True}, format="json")

    created = api.post(create_url(campaign, step), {"subject": "s"}, format="json").json()["data"]
    assert link_count(created["body_html"]) == 1

    new_step = api.post(f"/api/v1/campaigns/{campaign.pk}/sequences", {}, format="json")
    (variant,) = new_step.json()["data"]["variants"]
    assert variant["body_html"] == html_body.UNSUBSCRIBE_BLOCK
    assert variant["body_text"] == html_body.html_to_text(html_body.UNSUBSCRIBE_BLOCK)
    assert variant["subject"] is None


def test_a_body_of_only_the_unsubscribe_block_is_not_ready_to_launch(api, campaign, step, alice):
    from tests.campaigns.factories import make_ready

    make_ready(campaign)
    api.patch(f"/api/v1/campaigns/{campaign.pk}", {"unsubscribe_option": True}, format="json")
    api.patch(url(campaign, variant_a(step)), {"body_html": ""}, format="json")
    response = api.patch(f"/api/v1/campaigns/{campaign.pk}", {"status": "active"}, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "campaign_not_ready"


# --- isolation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("patch", "", {"subject": "pwned", "enabled": False}),
        ("delete", "", None),
        ("post", "/preview", {"variables": {}}),
    ],
)
def test_another_workspaces_variant_is_404_and_nothing_changes(
    alice, charlie, method, suffix, payload
):
    campaign = CampaignFactory(workspace=alice.workspace)
    step = Sequence.objects.get(campaign=campaign)
    extra = VariantFactory(sequence=step)
    before = stored(step)
    charlies = CampaignFactory(workspace=charlie.workspace)

    for path in (
        url(campaign, extra) + suffix,
        f"/api/v1/campaigns/{charlies.pk}/variants/{extra.pk}{suffix}",
    ):
        response = getattr(charlie.client, method)(path, payload, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert stored(step) == before


def test_creating_a_variant_on_another_workspaces_step_is_404(alice, charlie):
    campaign = CampaignFactory(workspace=alice.workspace)
    step = Sequence.objects.get(campaign=campaign)
    before = stored(step)
    response = charlie.client.post(create_url(campaign, step), {"subject": "x"}, format="json")
    assert response.status_code == 404
    assert stored(step) == before


def test_a_variant_or_step_of_another_campaign_in_the_workspace_is_404(api, alice, campaign, step):
    other = CampaignFactory(workspace=alice.workspace)
    other_step = Sequence.objects.get(campaign=other)
    other_variant = VariantFactory(sequence=other_step)
    before = stored(other_step)

    assert (
        api.patch(url(campaign, other_variant), {"subject": "x"}, format="json").status_code == 404
    )
    assert api.delete(url(campaign, other_variant)).status_code == 404
    assert (
        api.post(
            url(campaign, other_variant) + "/preview", {"variables": {}}, format="json"
        ).status_code
        == 404
    )
    assert (
        api.post(create_url(campaign, other_step), {"subject": "x"}, format="json").status_code
        == 404
    )
    assert stored(other_step) == before


# --- warnings: merge tags no lead can fill yet ---------------------------------------------------


def test_unknown_merge_tags_are_accepted_with_a_warning_naming_them(api, campaign, step):
    LeadFactory(campaign=campaign, variables={"company": "Acme"})
    response = api.post(
        create_url(campaign, step),
        {
            "subject": "{{first_name}} at {{company}}: {{Favourite Color}}",
            "body_html": "{{sender_first_name}} likes {{shoe_size|big}} and {{favourite_color}}",
        },
        format="json",
    )

    assert response.status_code == 201
    warnings = response.json()["data"]["warnings"]
    assert [(w["code"], w["name"]) for w in warnings] == [
        ("unknown_merge_tag", "favourite_color"),
        ("unknown_merge_tag", "shoe_size"),
    ]
    assert "renders empty" in warnings[0]["message"]
    assert "{{favourite_color|…}}" in warnings[0]["message"]
    assert "its fallback is used" in warnings[1]["message"]
    assert Variant.objects.filter(sequence=step).count() == 2


def test_a_warning_goes_once_a_lead_brings_the_variable(api, campaign, step):
    variant = variant_a(step)
    first = api.patch(url(campaign, variant), {"subject": "Hi {{nickname}}"}, format="json")
    assert [w["name"] for w in first.json()["data"]["warnings"]] == ["nickname"]
    assert first.json()["data"]["letter"] == "A"

    LeadFactory(campaign=campaign, variables={"nickname": "Ace"})
    LeadFactory(campaign=CampaignFactory(workspace=campaign.workspace), variables={"x": 1})
    again = api.patch(url(campaign, variant), {"enabled": True}, format="json")
    assert again.json()["data"]["warnings"] == []


def test_warnings_cost_one_query_however_many_leads_and_tags(api, campaign, step):
    variant = variant_a(step)
    tags = " ".join(f"{{{{v{n}}}}}" for n in range(30))
    api.patch(url(campaign, variant), {"subject": "warm up"}, format="json")

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = api.patch(url(campaign, variant), {"subject": tags}, format="json")
        assert len(response.json()["data"]["warnings"]) == 30
        return len(queries)

    few = cost()
    LeadFactory.create_batch(40, campaign=campaign, variables={"other": "x"})
    assert cost() == few
