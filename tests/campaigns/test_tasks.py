"""The engine's Celery tasks: names that queued messages and django-celery-beat rows hold
stay as they are, each task wraps one public service and has its time limits."""

import pytest
from celery import current_app
from django.conf import settings

from campaigns import tasks

TASKS = {
    "campaigns.send_due": tasks.send_pass_run_task,
    "campaigns.deliver_sends": tasks.sends_deliver_task,
    "campaigns.refresh_progress": tasks.campaigns_progress_refresh_task,
}


@pytest.mark.parametrize(("name", "task"), TASKS.items(), ids=list(TASKS))
def test_each_task_keeps_its_name_and_has_time_limits(name, task):
    assert task.name == name
    assert current_app.tasks[name].run.__name__ == task.run.__name__
    assert 0 < task.soft_time_limit < task.time_limit
    # A delivery still running when its claims' lease ends would be recovered under it.
    assert task.time_limit < settings.SEND_CLAIM_LEASE_SECONDS


def test_every_periodic_task_of_the_engine_names_a_registered_task():
    engine = [entry["task"] for entry in settings.PERIODIC_TASKS if entry["task"] in TASKS]
    assert engine == ["campaigns.send_due", "campaigns.refresh_progress"]
    assert all(name in current_app.tasks for name in engine)
