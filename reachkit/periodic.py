"""Periodic tasks are declared in code (settings.PERIODIC_TASKS) and registered idempotently.

`migrate` registers them (post_migrate), so every deployment's beat schedule matches the code:
declared tasks are created or updated by name; tasks this code once declared and no longer does
are disabled. Tasks people add by hand in the admin are left alone.
"""

from typing import Any

from django.conf import settings
from django.db import transaction

MANAGED_PREFIX = "reachkit: "


@transaction.atomic
def register_periodic_tasks() -> dict[str, int]:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    declared = {f"{MANAGED_PREFIX}{entry['name']}": entry for entry in settings.PERIODIC_TASKS}
    for name, entry in declared.items():
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=entry["every_seconds"], period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={"task": entry["task"], "interval": interval, "enabled": True},
        )
    retired = (
        PeriodicTask.objects.filter(name__startswith=MANAGED_PREFIX, enabled=True)
        .exclude(name__in=declared)
        .update(enabled=False)
    )
    return {"registered": len(declared), "retired": retired}


def register_after_migrate(sender: Any, **kwargs: Any) -> None:
    if sender.name == "reachkit":
        register_periodic_tasks()
