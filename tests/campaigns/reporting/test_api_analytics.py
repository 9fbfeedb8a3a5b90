"""GET /campaigns/:id/analytics and the stats inline on a campaign: the spec's exact shape."""

from datetime import UTC, datetime

import time_machine

from campaigns.models import Sequence, Variant
from tests.campaigns.factories import CampaignFactory, SequenceFactory
from tests.leads.factories import LeadFactory


def test_analytics_has_the_headline_numbers_daily_rows_and_the_breakdown(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    SequenceFactory(campaign=campaign)
    LeadFactory.create_batch(2, campaign=campaign)
    api.patch(
        f"/api/v1/campaigns/{campaign.pk}/schedule", {"timezone": "Asia/Tokyo"}, format="json"
    )

    with time_machine.travel(datetime(2026, 3, 1, 20, tzinfo=UTC), tick=False):
        response = api.get(f"/api/v1/campaigns/{campaign.pk}/analytics")

    assert response.status_code == 200
    data = response.json()["data"]
    first, second = Sequence.objects.filter(campaign=campaign).order_by("step")
    assert {key: value for key, value in data.items() if key not in ("daily", "sequences")} == {
        "progress": 0,
        "sequence_steps": 2,
        "leads_count": 2,
        "sent": 0,
        "contacted": 0,
        "replies": 0,
        "reply_rate": 0.0,
        "positive_replies": 0,
        "positive_reply_rate": 0.0,
        "bounced": 0,
        "bounce_rate": 0.0,
    }
    assert len(data["daily"]) == 30
    assert data["daily"][0] == {"date": "2026-02-01", "sent": 0, "replies": 0}
    assert data["daily"][-1] == {"date": "2026-03-02", "sent": 0, "replies": 0}  # Tokyo's today
    assert [(s["id"], s["step"]) for s in data["sequences"]] == [
        (str(first.pk), 1),
        (str(second.pk), 2),
    ]
    variant = Variant.objects.get(sequence=second)
    assert data["sequences"][1]["variants"] == [
        {
            "id": str(variant.pk),
            "enabled": True,
            "sent": 0,
            "replies": 0,
            "reply_rate": 0.0,
            "positive_replies": 0,
            "positive_reply_rate": 0.0,
        }
    ]


def test_show_embeds_the_same_numbers_as_analytics(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    LeadFactory(campaign=campaign)
    analytics = api.get(f"/api/v1/campaigns/{campaign.pk}/analytics").json()["data"]
    shown = api.get(f"/api/v1/campaigns/{campaign.pk}").json()["data"]["stats"]
    assert shown == analytics


def test_rates_are_floats_in_json(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    raw = api.get(f"/api/v1/campaigns/{campaign.pk}/analytics").content.decode()
    assert '"reply_rate":0.0' in raw.replace(" ", "")
