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


def test_the_purge_task_forgets_what_is_past_its_retention(alice):
    from datetime import timedelta

    from django.utils import timezone

    from reachkit.models import IdempotencyKey
    from reachkit.webhooks.events import emit
    from reachkit.webhooks.models import Event, EventType
    from reachkit.webhooks.tasks import purge_task

    emit(workspace_id=alice.workspace.pk, type=EventType.EMAIL_SENT, payload={"n": 1})
    emit(workspace_id=alice.workspace.pk, type=EventType.EMAIL_SENT, payload={"n": 2})
    Event.objects.filter(payload__n=1).update(created_at=timezone.now() - timedelta(days=31))
    IdempotencyKey.objects.create(
        workspace=alice.workspace,
        key="old",
        fingerprint="x",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    purge_task.delay()
    purge_task.delay()  # again: nothing more
    assert [event.payload["n"] for event in Event.objects.all()] == [2]
    assert not IdempotencyKey.objects.exists()


def test_the_api_schema_documents_webhooks_and_the_feed(db):
    from django.test import Client

    paths = Client().get("/api/v1/schema/").json()["paths"]
    assert {
        "/api/v1/webhooks",
        "/api/v1/webhooks/{id}",
        "/api/v1/webhooks/{id}/test",
        "/api/v1/webhooks/{id}/rotate-secret",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        "/api/v1/events",
    } <= set(paths)
    feed = paths["/api/v1/events"]["get"]
    assert {p["name"] for p in feed["parameters"]} >= {"after", "types", "since", "limit"}
