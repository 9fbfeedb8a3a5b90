"""Celery entry points for the unified inbox: thin wrappers around unibox/imap_sync.py.

The task names are what queued messages and django-celery-beat's rows name: they stay.
"""

import uuid

from celery import shared_task
from django.conf import settings

from unibox import imap_sync


@shared_task(name="unibox.sync_inboxes", soft_time_limit=50, time_limit=60)
def sync_inboxes_task() -> None:
    """celery-beat's tick: one sync task per connected inbox not being synced now."""
    for inbox_id in imap_sync.inboxes_due():
        sync_inbox_task.delay(str(inbox_id))


# Routed to the `connections` queue (settings.CELERY_TASK_ROUTES): logins to tenants' mail
# servers never hold up sending. A pass stops taking messages after SYNC_PASS_SECONDS and the
# next tick goes on; the hard limit is shorter than the claim's lease (imap_sync.CLAIM_LEASE).
@shared_task(name="unibox.sync_inbox", soft_time_limit=270, time_limit=300)
def sync_inbox_task(inbox_id: str) -> None:
    imap_sync.sync_inbox(
        inbox_id=uuid.UUID(inbox_id), budget_seconds=float(settings.SYNC_PASS_SECONDS)
    )
