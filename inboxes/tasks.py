"""Celery entry points for inboxes: thin wrappers that load ids and call one service."""

import uuid

from celery import shared_task

from inboxes import services


# Routed to the `connections` queue (settings.CELERY_TASK_ROUTES), away from sending. Both
# logins end by INBOX_CHECK_DEADLINE_SECONDS (90 at most), well inside these limits; the
# hard one is shorter than services.STALE_CHECK.
@shared_task(name="inboxes.check_connection", soft_time_limit=100, time_limit=120)
def inbox_check_connection_task(inbox_id: str) -> None:
    services.inbox_check_connection(inbox_id=uuid.UUID(inbox_id))
