import uuid

from celery import shared_task

from campaigns import scheduler, sender
from campaigns.models import Campaign


@shared_task(name="campaigns.send_due")
def send_due_task() -> None:
    """celery-beat's tick: claim what may be sent now, one delivery task per inbox."""
    scheduler.run_pass(inline=False)


@shared_task(name="campaigns.deliver_sends")
def deliver_sends_task(send_ids: list[str]) -> None:
    sender.deliver([uuid.UUID(send_id) for send_id in send_ids])


@shared_task(name="campaigns.refresh_progress")
def refresh_progress_task() -> None:
    """Recount the cached `progress` of every running campaign (it reads all their leads)."""
    for campaign_id in Campaign.objects.exclude(status=Campaign.Status.DRAFT).values_list(
        "pk", flat=True
    ):
        sender.refresh_progress(campaign_id, force=True)
