"""Celery entry points for the sending engine: thin wrappers around its public services.

The task names (`campaigns.send_due`, …) are what queued messages and django-celery-beat's
rows name: they stay as they are whatever the Python names become.
"""

import uuid

from celery import shared_task

from campaigns.sending import services

# A pass claims one round and hands it over (settings.SEND_PASS_SECONDS bounds an inline
# one); a delivery carries at most SEND_BATCH_SIZE emails per inbox. Both end well inside
# these limits, and the hard one is far below the claim lease (SEND_CLAIM_LEASE_SECONDS,
# 900 s), so a claim is never recovered while its task still runs.


@shared_task(name="campaigns.deliver_sends", soft_time_limit=240, time_limit=300)
def sends_deliver_task(send_ids: list[str]) -> None:
    services.sends_deliver(send_ids=[uuid.UUID(send_id) for send_id in send_ids])


def _deliver_later(send_ids: list[str]) -> None:
    sends_deliver_task.delay(send_ids)


@shared_task(name="campaigns.send_due", soft_time_limit=240, time_limit=300)
def send_pass_run_task() -> None:
    """celery-beat's tick: claim what may be sent now, one delivery task per inbox."""
    services.send_pass_run(deliver_later=_deliver_later)


@shared_task(name="campaigns.refresh_progress", soft_time_limit=240, time_limit=300)
def campaigns_progress_refresh_task() -> None:
    """Recount the cached `progress` of every running campaign (it reads all their leads)."""
    services.campaigns_progress_refresh()
