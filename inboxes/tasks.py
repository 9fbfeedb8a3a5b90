"""Celery entry points for inboxes: thin wrappers that load ids and call one service."""

import uuid

from celery import shared_task

from inboxes import services, warmup_passes


# Routed to the `connections` queue (settings.CELERY_TASK_ROUTES), away from sending. Both
# logins end by INBOX_CHECK_DEADLINE_SECONDS (90 at most), well inside these limits; the
# hard one is shorter than services.STALE_CHECK.
@shared_task(name="inboxes.check_connection", soft_time_limit=100, time_limit=120)
def inbox_check_connection_task(inbox_id: str) -> None:
    services.inbox_check_connection(inbox_id=uuid.UUID(inbox_id))


# Warmup's passes (inboxes/warmup_passes.py), ticked by beat. A send pass sends one email per
# inbox per gap and a receive pass reads each mailbox once: both end well inside the limits;
# a pass cut short loses nothing (its rows are recovered by the next).
@shared_task(name="inboxes.warmup_send", soft_time_limit=240, time_limit=300)
def warmup_send_task() -> None:
    warmup_passes.warmup_send_pass()


@shared_task(name="inboxes.warmup_receive", soft_time_limit=240, time_limit=300)
def warmup_receive_task() -> None:
    warmup_passes.warmup_receive_pass()
