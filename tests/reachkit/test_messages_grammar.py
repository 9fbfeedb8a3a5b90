"""Messages people read say what they mean in plain, correct English (issue 16: "A active
campaign…", "at least 1 elements")."""

import pytest

from campaigns.models import Campaign
from reachkit.text import plural, with_article
from tests.campaigns.factories import CampaignFactory


def test_counts_take_the_right_number_and_words_their_article():
    assert [plural(1, "row"), plural(2, "row"), plural(0, "row")] == ["1 row", "2 rows", "0 rows"]
    assert plural(1_000, "inbox", "inboxes") == "1,000 inboxes"
    assert [with_article("active"), with_article("draft"), with_article("paused")] == [
        "an active",
        "a draft",
        "a paused",
    ]


@pytest.mark.parametrize(
    ("status", "to", "message"),
    [
        ("active", "active", "An active campaign cannot become active."),
        ("paused", "paused", "A paused campaign cannot become paused."),
    ],
)
def test_a_refused_status_change_reads_right(api, alice, status, to, message):
    campaign = CampaignFactory(workspace=alice.workspace, status=status)
    response = api.patch(f"/api/v1/campaigns/{campaign.pk}", {"status": to}, format="json")
    assert response.status_code == 422
    assert response.json()["details"]["status"] == [message]
    assert Campaign.objects.get().status == status


def test_list_lengths_are_said_with_their_items(api, alice):
    campaign = CampaignFactory(workspace=alice.workspace)
    attach = api.post(
        f"/api/v1/campaigns/{campaign.pk}/inboxes/attach", {"inbox_ids": []}, format="json"
    )
    assert attach.status_code == 422
    assert attach.json()["details"]["inbox_ids"] == ["Give at least 1 inbox id."]

    blocked = api.post("/api/v1/blocklist", {"emails": []}, format="json")
    assert blocked.json()["details"]["emails"] == ["Give at least 1 address or domain."]

    too_many = api.post(
        "/api/v1/blocklist", {"emails": [f"a{n}@x.com" for n in range(1001)]}, format="json"
    )
    assert too_many.json()["details"]["emails"] == ["Give at most 1,000 addresses or domains."]


def test_no_message_in_the_code_counts_with_s_in_parentheses():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    counted = re.compile(r"\b(key|inbox|minute|row|lead|email|entr|item)\w*\((s|es|y|ies)\)")
    offenders = []
    for app in ("reachkit", "campaigns", "leads", "inboxes", "blocklist", "unibox"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if counted.search(line):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []
