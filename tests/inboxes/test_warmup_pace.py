"""One pace for all an inbox sends: a warmup email pushes the inbox's next campaign email
a gap on, as a campaign email pushes its next warmup email (tests/inboxes/
test_warmup_passes.py), and campaign caps stay campaigns' own."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.sending.scheduler import InboxPool
from inboxes import pace, warmup_passes
from inboxes.models import InboxPace, WarmupEmail
from tests.campaigns.factories import CampaignFactory, make_ready
from tests.inboxes.factories import InboxFactory

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_a_warmup_email_holds_the_inboxes_next_campaign_email_for_a_gap(settings):
    settings.SEND_GAP_SECONDS = (300, 300)
    inbox = InboxFactory(connection_status="connected", is_warming=True)
    partner = InboxFactory(
        workspace=inbox.workspace, connection_status="connected", is_warming=True
    )
    campaign = make_ready(CampaignFactory(workspace=inbox.workspace), inbox)
    assert set(InboxPool.lock(campaign, NOW).inboxes) == {inbox.pk}

    row_id = uuid.uuid4()
    WarmupEmail.objects.create(
        id=row_id,
        sender=inbox,
        recipient=partner,
        day=NOW.date(),
        seq=1,
        message_id=f"<{row_id.hex}@acme.com>",
        due_at=NOW,
    )
    assert [row.pk for row in warmup_passes.claim(NOW)] == [row_id]

    assert InboxPace.objects.get(inbox=inbox).next_send_at == NOW + timedelta(seconds=300)
    assert InboxPool.lock(campaign, NOW + timedelta(seconds=299)).inboxes == {}
    assert set(InboxPool.lock(campaign, NOW + timedelta(seconds=300)).inboxes) == {inbox.pk}


def test_the_day_room_of_each_kind_is_its_own():
    inbox = InboxFactory(daily_campaign_limit=30)
    assert pace.campaign_room(inbox, 29) == 1
    assert pace.campaign_room(inbox, 30) == 0
    assert pace.warmup_room(4, 3) == 1
    assert pace.warmup_room(4, 6) == 0
