"""Deliveries to a real HTTP receiver on loopback: signatures, retries, order, disabling."""

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from reachkit.webhooks import services
from reachkit.webhooks.events import emit
from reachkit.webhooks.models import Delivery, Event, EventType, WebhookEndpoint
from reachkit.webhooks.tasks import deliver_task, tick_task
from tests.webhooks.receiver import Answer

SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)


def _endpoint(workspace, url, **fields):
    endpoint, secret = services.endpoint_create(workspace=workspace, url=url, **fields)
    return endpoint, secret


def _event(workspace, lead="lead-1", type=EventType.EMAIL_SENT, **payload):
    emit(
        workspace_id=workspace.pk,
        type=type,
        payload={"lead_id": lead, **payload},
        ordering_key=lead,
    )
    return Event.objects.order_by("-seq").first()


def _verify(secret, received):
    return Webhook(secret).verify(received.body, received.headers)


def test_a_delivery_is_signed_per_standard_webhooks(alice, receiver):
    endpoint, secret = _endpoint(alice.workspace, receiver.url)
    event = _event(alice.workspace, lead_email="ada@acme.com")

    report = services.endpoint_deliver(endpoint_id=endpoint.pk)

    assert report.delivered == 1
    (received,) = receiver.received
    assert received.path == "/hooks/reachkit?token=abc"
    assert received.headers["webhook-id"] == str(event.id)
    assert received.headers["content-type"] == "application/json"
    assert received.headers["host"] == f"127.0.0.1:{receiver.port}"
    body = _verify(secret, received)
    assert body["type"] == "email_sent"
    assert body["id"] == str(event.id)
    assert body["data"] == {"lead_id": "lead-1", "lead_email": "ada@acme.com"}
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(received.body, received.headers)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.response_code == 200
    assert delivery.attempt == 1
    assert delivery.duration_ms is not None


def test_the_webhook_url_is_never_logged(alice, receiver, caplog):
    # A secret path or query is how a receiver authenticates us (credentials in the URL are
    # refused): it must not land in the worker's log with every delivery.
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace)
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    assert len(receiver.received) == 1
    assert "token=abc" not in caplog.text


def test_an_endpoint_hears_only_the_types_it_asked_for(alice, receiver):
    _endpoint(alice.workspace, receiver.url, event_types=["reply_received"])
    _event(alice.workspace, type=EventType.EMAIL_SENT)
    _event(alice.workspace, type=EventType.REPLY_RECEIVED)
    assert list(Delivery.objects.values_list("event_type", flat=True)) == ["reply_received"]


def test_an_inactive_or_another_workspaces_endpoint_gets_nothing(alice, charlie, receiver):
    _endpoint(alice.workspace, receiver.url, is_active=False)
    _endpoint(charlie.workspace, receiver.url)
    _event(alice.workspace)
    assert not Delivery.objects.exists()


def test_retries_follow_the_schedule_with_jitter_then_give_up(alice, receiver):
    receiver.answers = [Answer(status=503)]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _event(alice.workspace)
        waits = []
        for _ in range(len(SCHEDULE) + 1):
            services.endpoint_deliver(endpoint_id=endpoint.pk)
            delivery = Delivery.objects.get()
            if delivery.next_attempt_at is None:
                break
            wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
            waits.append(wait)
            clock.move_to(delivery.next_attempt_at - timedelta(seconds=1))
            # Not yet due: nothing is sent.
            services.endpoint_deliver(endpoint_id=endpoint.pk)
            clock.move_to(delivery.next_attempt_at)
    assert len(waits) == len(SCHEDULE)
    for wait, planned in zip(waits, SCHEDULE, strict=True):
        assert planned * 0.8 <= wait <= planned * 1.2
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempt == len(SCHEDULE) + 1
    assert delivery.response_code == 503
    assert delivery.error.startswith("HTTP 503")
    assert len(receiver.received) == len(SCHEDULE) + 1
    # Every attempt carries the same webhook-id, for the receiver to deduplicate.
    assert len({received.headers["webhook-id"] for received in receiver.received}) == 1


def test_retry_after_is_honoured(alice, receiver):
    receiver.answers = [Answer(status=429, headers={"Retry-After": "120"}), Answer()]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace)
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() >= 120


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_client_errors_are_never_retried(alice, receiver, status):
    receiver.answers = [Answer(status=status)]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace)
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.next_attempt_at is None
    assert delivery.response_code == status


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502])
def test_timeouts_conflicts_throttles_and_server_errors_are_retried(alice, receiver, status):
    receiver.answers = [Answer(status=status)]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace)
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    assert Delivery.objects.get().status == Delivery.Status.PENDING


def test_redirects_are_not_followed(alice, receiver_factory):
    target = receiver_factory()
    source = receiver_factory([Answer(status=307, headers={"Location": target.url})])
    endpoint, _ = _endpoint(alice.workspace, source.url)
    _event(alice.workspace)
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "not followed" in delivery.error
    assert target.received == []


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_timeout(alice, receiver):
    # Each byte comes well within the timeout, the whole answer long after it: the timeout
    # bounds the attempt, not each read (else a receiver could hold a worker for good).
    receiver.answers = [Answer(trickle=0.25)]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace)

    started = time.monotonic()
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    took = time.monotonic() - started

    delivery = Delivery.objects.get()
    assert took < 3.5
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempt == 1
    assert delivery.error == "no answer within 2 s"


def test_a_connection_refused_is_retried(alice):
    from tests.services.blackhole import closed_port

    endpoint, _ = _endpoint(alice.workspace, f"http://127.0.0.1:{closed_port()}/")
    _event(alice.workspace)
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.error.startswith("connection failed")


def test_one_leads_events_arrive_in_order_and_others_do_not_wait(alice, receiver):
    receiver.answers = [Answer(status=500), Answer()]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    first = _event(alice.workspace, lead="a", step=1)
    second = _event(alice.workspace, lead="a", step=2)
    other = _event(alice.workspace, lead="b", step=1)

    services.endpoint_deliver(endpoint_id=endpoint.pk)
    ids = [received.headers["webhook-id"] for received in receiver.received]
    # a's first failed: a's second waits behind it; b's goes.
    assert ids == [str(first.id), str(other.id)]

    with time_machine.travel(timezone.now() + timedelta(seconds=10)):
        services.endpoint_deliver(endpoint_id=endpoint.pk)
    ids = [received.headers["webhook-id"] for received in receiver.received]
    assert ids == [str(first.id), str(other.id), str(first.id), str(second.id)]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_retrying_deliveries_filling_a_batch_do_not_hold_up_other_leads(
    alice, receiver, monkeypatch
):
    # More retrying deliveries at the head of the queue than a batch reads: the later
    # events of other leads must still go (only a lead's own retry holds its events back).
    monkeypatch.setattr(services, "RUN_BATCH", 2)
    receiver.answers = [Answer(status=500), Answer(status=500), Answer()]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace, lead="a")
    _event(alice.workspace, lead="b")
    other = _event(alice.workspace, lead="c")
    later = _event(alice.workspace, lead="a")

    report = services.endpoint_deliver(endpoint_id=endpoint.pk)

    ids = [received.headers["webhook-id"] for received in receiver.received]
    assert ids[2:] == [str(other.id)]  # a's second waits behind a's first retry
    assert (report.delivered, report.retrying) == (1, 2)
    assert Delivery.objects.get(event=later).attempt == 0


def test_replaying_the_delivery_task_sends_nothing_twice(alice, receiver):
    endpoint, secret = _endpoint(alice.workspace, receiver.url)
    event = _event(alice.workspace)
    deliver_task.delay(str(endpoint.pk))
    deliver_task.delay(str(endpoint.pk))
    assert len(receiver.received) == 1

    # A worker that died after the POST, before recording it: the next run sends it once
    # more, with the same webhook-id.
    Delivery.objects.update(status=Delivery.Status.PENDING)
    deliver_task.delay(str(endpoint.pk))
    deliver_task.delay(str(endpoint.pk))
    assert [r.headers["webhook-id"] for r in receiver.received] == [str(event.id)] * 2
    _verify(secret, receiver.received[1])


def test_a_run_holds_its_endpoint_so_a_second_one_does_nothing(alice, receiver):
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        lease_until=timezone.now() + timedelta(minutes=1)
    )
    assert services.endpoint_deliver(endpoint_id=endpoint.pk).claimed is False
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_hangs_does_not_hold_up_another_endpoint(
    alice, receiver_factory, settings, monkeypatch
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 3
    # Each run is started by hand below, in its own thread (a worker of its own).
    monkeypatch.setattr("reachkit.webhooks.tasks.enqueue_deliveries", lambda ids: None)
    hung = receiver_factory([Answer(delay=6)])
    quick = receiver_factory()
    slow_endpoint, _ = _endpoint(alice.workspace, hung.url)
    quick_endpoint, _ = _endpoint(alice.workspace, quick.url)
    _event(alice.workspace)

    def worker() -> None:
        try:
            services.endpoint_deliver(endpoint_id=slow_endpoint.pk)
        finally:
            connection.close()  # the thread's own connection

    slow_run = threading.Thread(target=worker)
    slow_run.start()
    try:
        while not hung.received:
            time.sleep(0.05)
        started = time.monotonic()
        report = services.endpoint_deliver(endpoint_id=quick_endpoint.pk)
        took = time.monotonic() - started
    finally:
        slow_run.join(timeout=10)
    assert report.delivered == 1
    assert took < 1.5
    slow = Delivery.objects.get(endpoint=slow_endpoint)
    assert slow.status == Delivery.Status.PENDING
    assert slow.error == "no answer within 3 s"
    assert 2.5 <= slow.duration_ms / 1000 < 5


def test_an_endpoint_failing_for_three_days_is_disabled_and_says_why(alice, receiver, api):
    receiver.answers = [Answer(status=500, body=b"database down")]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _event(alice.workspace, lead="a")
        services.endpoint_deliver(endpoint_id=endpoint.pk)
        assert WebhookEndpoint.objects.get().failing_since == start
        clock.move_to(start + timedelta(days=2))
        _event(alice.workspace, lead="b")
        services.endpoint_deliver(endpoint_id=endpoint.pk)
        assert WebhookEndpoint.objects.get().is_active
        clock.move_to(start + timedelta(days=3, seconds=1))
        _event(alice.workspace, lead="c")
        services.endpoint_deliver(endpoint_id=endpoint.pk)

    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "every delivery failed" in endpoint.disabled_reason
    assert "HTTP 500: database down" in endpoint.disabled_reason
    assert not Delivery.objects.filter(status=Delivery.Status.PENDING).exists()
    data = api.get(f"/api/v1/webhooks/{endpoint.pk}").json()["data"]
    assert data["is_active"] is False
    assert data["disabled_reason"] == endpoint.disabled_reason
    # It stops: no run, no new delivery; the events wait in the feed.
    sent = len(receiver.received)
    _event(alice.workspace, lead="d")
    assert services.endpoint_deliver(endpoint_id=endpoint.pk).claimed is False
    assert len(receiver.received) == sent
    assert len(api.get("/api/v1/events").json()["data"]) == 4


def test_a_success_ends_the_failing_streak(alice, receiver):
    receiver.answers = [Answer(status=500), Answer()]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace, lead="a")
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    assert WebhookEndpoint.objects.get().failing_since is not None
    _event(alice.workspace, lead="b")
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert endpoint.last_success_at is not None


def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(alice, receiver):
    endpoint, old = _endpoint(alice.workspace, receiver.url)
    endpoint, new = services.endpoint_rotate_secret(endpoint=endpoint, overlap_seconds=3600)
    _event(alice.workspace, lead="a")
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    assert _verify(old, receiver.received[0])
    assert _verify(new, receiver.received[0])
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        _event(alice.workspace, lead="b")
        services.endpoint_deliver(endpoint_id=endpoint.pk)
        assert _verify(new, receiver.received[1])
        with pytest.raises(Exception, match="signature"):
            _verify(old, receiver.received[1])


def test_addresses_are_checked_again_at_delivery(alice, receiver, settings, dns_zone):
    """DNS can change between creation and delivery: the check runs at every attempt."""
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    settings.WEBHOOK_ALLOW_PRIVATE = False  # the operator closes the private networks
    _event(alice.workspace, lead="a")
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "127.0.0.1 (loopback)" in delivery.error
    assert receiver.received == []

    dns_zone.add_address("hooks.example.com", "93.184.215.14")
    settings.WEBHOOK_ALLOW_HTTP = True
    moved, _ = _endpoint(alice.workspace, "http://hooks.example.com/")
    dns_zone.reset()
    dns_zone.add_address("hooks.example.com", "169.254.169.254")  # rebound to metadata
    _event(alice.workspace, lead="b")
    services.endpoint_deliver(endpoint_id=moved.pk)
    assert "169.254.169.254 (link-local)" in Delivery.objects.get(endpoint=moved).error


def test_the_test_action_sends_a_signed_test_message_once(api, alice, receiver):
    created = api.post("/api/v1/webhooks", {"url": receiver.url}, format="json").json()["data"]
    response = api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "succeeded"
    assert data["response_code"] == 200
    assert data["event_type"] == "webhook.test"
    body = _verify(created["secret"], receiver.received[0])
    assert body["type"] == "webhook.test"
    assert body["data"]["webhook_id"] == created["id"]
    assert not Event.objects.exists()  # not an event of the feed

    receiver.answers = [Answer(status=500)]
    failed = api.post(f"/api/v1/webhooks/{created['id']}/test").json()["data"]
    assert failed["status"] == "failed"
    assert failed["next_attempt_at"] is None
    assert WebhookEndpoint.objects.get().failing_since is None  # tests never disable


def test_deliveries_are_listed_newest_first_filtered_and_paged(api, alice, receiver):
    created = api.post("/api/v1/webhooks", {"url": receiver.url}, format="json").json()["data"]
    _event(alice.workspace, lead="a")
    services.endpoint_deliver(endpoint_id=created["id"])
    url = f"/api/v1/webhooks/{created['id']}/deliveries"
    with CaptureQueriesContext(connection) as small:
        body = api.get(url).json()
    assert body["metadata"]["total_count"] == 1
    item = body["data"][0]
    assert item["status"] == "succeeded"
    assert item["response_code"] == 200
    assert item["attempt"] == 1
    assert set(item) >= {"duration_ms", "error", "message_id", "event_type"}

    receiver.answers = [Answer(status=500)]
    for lead in "bcdef":
        _event(alice.workspace, lead=lead)
    services.endpoint_deliver(endpoint_id=created["id"])
    with CaptureQueriesContext(connection) as large:
        body = api.get(url).json()
    assert body["metadata"]["total_count"] == 6
    assert len(large) <= len(small)
    assert api.get(url + "?status=pending").json()["metadata"]["total_count"] == 5
    assert api.get(url + "?status=bogus").status_code == 422


def test_committed_events_are_handed_to_a_worker(
    alice, receiver, django_capture_on_commit_callbacks
):
    _endpoint(alice.workspace, receiver.url)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _event(alice.workspace, lead="a")
        _event(alice.workspace, lead="b")
    assert len(receiver.received) == 2


def test_the_tick_delivers_what_came_due(alice, receiver):
    _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace)  # no hand-over: the test's transaction never commits
    tick_task.delay()
    assert len(receiver.received) == 1
    tick_task.delay()
    assert len(receiver.received) == 1


def test_old_events_and_deliveries_are_purged(alice, receiver, settings):
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace, lead="old")
    Event.objects.update(created_at=timezone.now() - timedelta(days=31))
    Delivery.objects.update(created_at=timezone.now() - timedelta(days=31))
    _event(alice.workspace, lead="new")
    services.endpoint_delete(endpoint=endpoint)
    WebhookEndpoint.objects.update(deleted_at=timezone.now() - timedelta(hours=2))
    counts = services.webhooks_purge()
    assert counts == {"events": 1, "deliveries": 1, "endpoints": 1, "idempotency_keys": 0}
    assert [event.payload["lead_id"] for event in Event.objects.all()] == ["new"]
    assert not WebhookEndpoint.objects.exists()


def test_bodies_are_compact_json_with_the_envelope(alice, receiver):
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    _event(alice.workspace, name="Zoë")
    services.endpoint_deliver(endpoint_id=endpoint.pk)
    body = json.loads(receiver.received[0].body)
    assert set(body) == {"id", "type", "timestamp", "workspace_id", "data"}
    assert body["workspace_id"] == str(alice.workspace.pk)
    assert uuid.UUID(body["id"])
    assert body["data"]["name"] == "Zoë"


def test_a_receiver_that_looks_down_stops_the_run_and_rests_a_minute(alice, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.answers = [Answer(delay=3)]
    endpoint, _ = _endpoint(alice.workspace, receiver.url)
    for lead in "abcde":
        _event(alice.workspace, lead=lead)

    report = services.endpoint_deliver(endpoint_id=endpoint.pk)

    assert report.retrying == 3  # the last two wait, untried, for the next run
    assert len(receiver.received) == 3
    assert Delivery.objects.filter(attempt=0).count() == 2
    endpoint.refresh_from_db()
    assert endpoint.lease_until > timezone.now() + timedelta(seconds=50)
    assert services.endpoints_due() == []
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert services.endpoints_due() == [endpoint.pk]
