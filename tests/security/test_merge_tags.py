"""Merge tags cannot be turned against the server's memory (issue 9, finding 4)."""

import tracemalloc

import pytest

from campaigns import services
from campaigns.models import Send, Variant
from leads.variables import name_cache
from tests.campaigns.factories import CampaignFactory
from tests.campaigns.outreach import running_outreach

MB = 1024 * 1024


@pytest.fixture
def variant(alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    return Variant.objects.get(sequence__campaign=campaign, letter="A")


def variant_url(variant) -> str:
    return f"/api/v1/campaigns/{variant.sequence.campaign_id}/variants/{variant.pk}"


def preview_url(variant) -> str:
    return f"{variant_url(variant)}/preview"


def peak_memory(call):
    """What `call()` returns, and the most memory Python held above the start while it ran."""
    tracemalloc.start()
    try:
        response = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


def test_a_preview_that_repeats_a_big_value_cannot_blow_up_memory(api, variant):
    # The request: `{{x}}` 2,000 times, a 100 KB value (400 MB of answer before).
    body = "{{x}}" * 2000
    assert api.patch(variant_url(variant), {"body_html": body}, format="json").status_code == 200

    for value, code in (("a" * 100_000, "validation_error"), ("a" * 5_000, "email_too_long")):
        response, peak = peak_memory(
            lambda value=value: api.post(
                preview_url(variant), {"variables": {"x": value}}, format="json"
            )
        )
        assert response.status_code == 422
        assert response.json()["code"] == code
        assert peak < 10 * MB


def test_many_distinct_long_variable_names_do_not_grow_the_name_cache(api, variant):
    long_names = [f"{n:04d}" + "n" * 996 for n in range(180)]
    body = "".join(f"{{{{{name}}}}}" for name in long_names[:90])
    name_cache.cache_clear()  # not full from earlier tests: it could not grow then

    assert api.patch(variant_url(variant), {"body_html": body}, format="json").status_code == 200
    api.post(preview_url(variant), {"variables": {}}, format="json")
    api.post(
        preview_url(variant), {"variables": dict.fromkeys(long_names[90:], "x")}, format="json"
    )

    # Only the few short names of the requests (the built-ins, the sender's) may join it.
    assert name_cache.cache_info().currsize < 20


def test_an_email_past_the_size_cap_fails_its_send_and_the_rest_of_the_batch_goes(
    alice, mailbox, settings
):
    settings.SEND_GAP_SECONDS = (0, 0)
    with running_outreach(alice.workspace, mailbox) as outreach:
        services.variant_update(variant=outreach.step_one, body_html="{{company}} " * 2000)
        (big,) = outreach.add_leads("big@acme.com", variables={"company": "c" * 5000})
        outreach.add_leads("ann@acme.com", "bob@acme.com", variables={"company": "Acme"})

        assert outreach.send_due() == {"sent": 2, "failed": 1, "deferred": 0}

        send = outreach.send_of(big)
        assert send.status == Send.Status.FAILED
        assert send.smtp_response == (
            "could not render: The HTML body is longer than 200,000 characters once its merge "
            "tags are filled"
        )
        received = sorted(message.rcpt_tos[0] for message in outreach.received())
        assert received == ["ann@acme.com", "bob@acme.com"]
