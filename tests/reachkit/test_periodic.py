"""Periodic tasks declared in settings are registered idempotently into django-celery-beat."""

import pytest
from django_celery_beat.models import PeriodicTask

from reachkit.periodic import register_periodic_tasks

TICK = {"name": "tick", "task": "reachkit.tests.tick", "every_seconds": 60}


@pytest.fixture
def declared(db, settings):
    settings.PERIODIC_TASKS = [TICK]
    return settings


def test_declared_tasks_are_registered_once_however_often_it_runs(declared):
    register_periodic_tasks()
    register_periodic_tasks()

    task = PeriodicTask.objects.get(name="reachkit: tick")
    assert task.task == "reachkit.tests.tick"
    assert task.enabled
    assert task.interval.every == 60
    assert PeriodicTask.objects.filter(name="reachkit: tick").count() == 1


def test_a_changed_interval_updates_the_task(declared):
    register_periodic_tasks()
    declared.PERIODIC_TASKS = [{**TICK, "every_seconds": 30}]
    register_periodic_tasks()
    assert PeriodicTask.objects.get(name="reachkit: tick").interval.every == 30


def test_tasks_no_longer_declared_are_disabled_and_hand_made_ones_kept(declared):
    register_periodic_tasks()
    PeriodicTask.objects.create(
        name="made by hand",
        task="x",
        interval=PeriodicTask.objects.get(name="reachkit: tick").interval,
    )
    declared.PERIODIC_TASKS = []

    assert register_periodic_tasks()["registered"] == 0
    assert not PeriodicTask.objects.filter(name__startswith="reachkit: ", enabled=True).exists()
    assert not PeriodicTask.objects.get(name="reachkit: tick").enabled
    assert PeriodicTask.objects.get(name="made by hand").enabled
