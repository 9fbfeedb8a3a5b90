"""Celery entry points for webhooks, all on the `webhooks` queue (settings.CELERY_TASK_ROUTES):
a slow or dead receiver holds up other deliveries at most, never sending or syncing."""

import uuid
from collections.abc import Iterable

from celery import shared_task

from reachkit.webhooks import services


def enqueue_deliveries(endpoint_ids: Iterable[uuid.UUID]) -> None:
    for endpoint_id in endpoint_ids:
        deliver_task.delay(str(endpoint_id))


# A run stops claiming after services.RUN_BUDGET_SECONDS (50 s) and its last attempt ends
# within WEBHOOK_TIMEOUT_SECONDS, inside these limits.
@shared_task(name="webhooks.deliver", soft_time_limit=100, time_limit=120)
def deliver_task(endpoint_id: str) -> None:
    report = services.endpoint_deliver(endpoint_id=uuid.UUID(endpoint_id))
    if report.more:
        deliver_task.delay(endpoint_id)


@shared_task(name="webhooks.tick", soft_time_limit=20, time_limit=30)
def tick_task() -> None:
    """Retries that came due, and deliveries whose hand-over was lost."""
    enqueue_deliveries(services.endpoints_due())


@shared_task(name="webhooks.purge", soft_time_limit=240, time_limit=300)
def purge_task() -> None:
    services.webhooks_purge()
