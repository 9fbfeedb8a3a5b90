"""Whatever a client sends as a subject or body, the API saves it or answers 422 with the
offset of a `{{` — never a 500 (property-based, over the characters that matter)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.content import merge_tags
from campaigns.models import Variant
from tests.campaigns.factories import CampaignFactory

PIECES = [
    "{{",
    "}}",
    "{",
    "}",
    "|",
    "\\",
    " ",
    "a",
    "Z",
    "SPINTAX",
    "LOOM",
    "<b>",
    "</b>",
    "&#123;",
]
TEMPLATES = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def target(alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    variant = Variant.objects.get(sequence__campaign=campaign)
    return f"/api/v1/campaigns/{campaign.pk}/variants/{variant.pk}"


@PROPERTY
@given(text=TEMPLATES)
def test_any_subject_is_saved_or_refused_at_a_tag_opening(api, target, text):
    response = api.patch(target, {"subject": text}, format="json")

    if response.status_code == 200:
        assert response.json()["data"]["subject"] == text.strip()
        merge_tags.validate(text)
        return
    assert response.status_code == 422
    error = response.json()["details"]["subject"]
    assert text[error["offset"] : error["offset"] + 2] == "{{"
    with pytest.raises(merge_tags.MergeTagError) as raised:
        merge_tags.validate(text)
    assert raised.value.offset == error["offset"]


@PROPERTY
@given(text=TEMPLATES)
def test_any_body_is_saved_with_parseable_tags_or_refused_with_an_offset(api, target, text):
    response = api.patch(target, {"body_html": text}, format="json")

    assert response.status_code in (200, 422)
    if response.status_code == 200:
        data = response.json()["data"]
        merge_tags.validate(data["body_html"])
        merge_tags.validate(data["body_text"])
        return
    body = response.json()
    assert body["code"] == "invalid_merge_tag"
    assert isinstance(body["details"]["body_html"]["offset"], int)
