"""The webhooks' Celery tasks: on their own queue, declared periodic ones, idempotent."""

from reachkit.celery import app


def test_every_webhook_task_goes_to_the_webhooks_queue_and_nothing_else_does():
    app.loader.import_default_modules()
    names = {name for name in app.tasks if not name.startswith("celery.")}
    assert {"webhooks.deliver", "webhooks.tick", "webhooks.purge"} <= names
    queues = {name: app.amqp.router.route({}, name)["queue"].name for name in names}
    assert {name for name, queue in queues.items() if queue == "webhooks"} == {
        "webhooks.deliver",
        "webhooks.tick",
        "webhooks.purge",
    }


def test_the_tick_and_the_purge_are_periodic(settings):
    tasks = {entry["task"]: entry["every_seconds"] for entry in settings.PERIODIC_TASKS}
    assert tasks["webhooks.tick"] == 10
    assert tasks["webhooks.purge"] == 3600
