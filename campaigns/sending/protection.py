"""Bounce protection: a campaign whose bounces pass the threshold pauses itself."""

import logging
import uuid

from django.conf import settings
from django.utils import timezone

from campaigns.models import Campaign, Send
from campaigns.sending import events
from reachkit.text import plural

logger = logging.getLogger("reachkit.sender")


def check_bounce_rate(campaign_id: uuid.UUID) -> None:
    """Pause a campaign whose bounces pass the threshold, through the status transitions
    every pause goes through (models.STATUS_TRANSITIONS)."""
    sends = Send.objects.filter(
        campaign_id=campaign_id, status__in=(Send.Status.SENT, Send.Status.BOUNCED)
    )
    total = sends.count()
    if total < settings.BOUNCE_PAUSE_MIN_SENDS:
        return
    bounced = sends.filter(status=Send.Status.BOUNCED).count()
    if bounced * 100 <= settings.BOUNCE_PAUSE_PERCENT * total:
        return
    reason = (
        f"Paused automatically: {bounced} of {plural(total, 'email')} bounced "
        f"({bounced * 100 / total:.1f}%, above {settings.BOUNCE_PAUSE_PERCENT}%). "
        "Clean the lead list, then resume."
    )
    # A conditional UPDATE: only a campaign whose status may become paused (active) moves,
    # so a person's concurrent pause or resume is never overwritten.
    pausable = Campaign.statuses_that_may_become(Campaign.Status.PAUSED)
    paused = Campaign.objects.filter(pk=campaign_id, status__in=pausable).update(
        status=Campaign.Status.PAUSED, paused_reason=reason, updated_at=timezone.now()
    )
    if paused:
        logger.warning("campaign paused for bounces", extra={"campaign": str(campaign_id)})
        events.campaign_paused(
            Campaign.objects.get(pk=campaign_id), reason=reason, by="bounce_protection"
        )
