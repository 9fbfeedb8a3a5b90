import uuid

from celery import shared_task

from campaigns import scheduler, sender


@shared_task(name="campaigns.send_due")
def send_due_task() -> None:
    """celery-beat's tick: claim what may be sent now, one delivery task per inbox."""
    scheduler.run_pass(inline=False)


@shared_task(name="campaigns.deliver_sends")
def deliver_sends_task(send_ids: list[str]) -> None:
    sender.deliver([uuid.UUID(send_id) for send_id in send_ids])
