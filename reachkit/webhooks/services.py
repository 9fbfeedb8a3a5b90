"""Webhook endpoints and their deliveries: every write, and the delivery run.

Delivery, per endpoint (`endpoint_deliver`, one run at a time per endpoint, on the
`webhooks` queue):

1. Claim the endpoint with a lease (a conditional UPDATE): a second run for it, a replayed
   task say, finds it taken and does nothing.
2. Read its pending deliveries in event order. One due and not held behind an earlier
   delivery with the same ordering key (one lead's events) is POSTed, signed; one not due
   yet, or retrying, holds the later ones of its key.
3. Record each attempt: delivered; retried after the next delay of
   WEBHOOK_RETRY_DELAYS_SECONDS (±20 %, never before a Retry-After) on a timeout, a
   connection error, a 5xx, 408, 409 or 429; failed otherwise or when the delays run out.
   An endpoint whose every attempt failed for WEBHOOK_DISABLE_AFTER_SECONDS is disabled,
   with the reason; its pending deliveries fail, and its events stay in the feed.
4. Release the lease. Runs stop after a time budget and hand the rest to the next run; a
   run that met three retryable failures in a row (a receiver down or hanging) stops and
   keeps the endpoint for a minute, so a dead receiver costs a worker three timeouts a
   minute at most, not one per waiting event.
"""

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from reachkit import netguard
from reachkit.api import idempotency
from reachkit.errors import DomainError, ValidationFailed
from reachkit.models import Workspace
from reachkit.webhooks import feed, signing, transport
from reachkit.webhooks.models import (
    LEASE,
    TEST_EVENT_TYPE,
    Delivery,
    Event,
    EventType,
    WebhookEndpoint,
)

MAX_ENDPOINTS_PER_WORKSPACE = 20
JITTER = 0.2
# A run hands over to the next one after this long (each attempt takes at most the timeout).
RUN_BUDGET_SECONDS = 50.0
RUN_BATCH = 200
SAVE_EVERY = 25  # attempts recorded per commit
ENDPOINT_DOWN_AFTER = 3
ENDPOINT_DOWN_PAUSE = timedelta(minutes=1)
# Soft-deleted endpoints are removed this long after (see WebhookEndpoint).
PURGE_DELETED_AFTER = timedelta(hours=1)


class TooManyEndpoints(DomainError):
    status_code = 422
    code = "too_many_webhooks"
    message = f"A workspace has at most {MAX_ENDPOINTS_PER_WORKSPACE} webhooks."


# --- Endpoints ---------------------------------------------------------------------------------


URL_REFUSED = "webhook_url_refused"


def _checked_url(raw: str) -> str:
    """The URL, refused (422 on `url`) when its form is not allowed (`validation_error`) or
    where its host resolves to is not (`webhook_url_refused`: the form was fine)."""
    try:
        url = transport.parse_url(raw)
    except transport.UrlRefused as refused:
        raise ValidationFailed(str(refused), details={"url": [str(refused)]}) from None
    try:
        transport.destination(url)
    except transport.UrlRefused as refused:
        message = str(refused)
    except netguard.HostNotFound:
        message = f"{url.host} does not resolve to an address."
    except netguard.LookupFailed:
        return raw  # DNS is down for now: checked again at every delivery
    else:
        return raw
    raise ValidationFailed(message, code=URL_REFUSED, details={"url": [message]})


def _checked_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - set(EventType.values))
    if unknown:
        message = f"Unknown event types: {', '.join(unknown)}."
        raise ValidationFailed(message, details={"event_types": [message]})
    return sorted(set(types))


@transaction.atomic
def endpoint_create(
    *,
    workspace: Workspace,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
    is_active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned once: it is stored encrypted, never shown
    again). It hears events from now on; earlier ones are in the feed."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    if (
        WebhookEndpoint.objects.filter(workspace=workspace, deleted_at__isnull=True).count()
        >= MAX_ENDPOINTS_PER_WORKSPACE
    ):
        raise TooManyEndpoints()
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace,
        url=_checked_url(url),
        event_types=_checked_types(event_types or []),
        description=description,
        is_active=is_active,
        secret=secret,
    )
    return endpoint, secret


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, changes: dict[str, Any]) -> WebhookEndpoint:
    """Change the URL, event types, description or `is_active`, all or nothing. Turning a
    disabled endpoint back on clears the reason; deliveries resume with new events."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    fields = ["updated_at"]
    if "url" in changes and changes["url"] != endpoint.url:
        endpoint.url = _checked_url(changes["url"])
        fields.append("url")
    if "event_types" in changes:
        endpoint.event_types = _checked_types(changes["event_types"])
        fields.append("event_types")
    if "description" in changes:
        endpoint.description = changes["description"]
        fields.append("description")
    if "is_active" in changes and changes["is_active"] != endpoint.is_active:
        endpoint.is_active = changes["is_active"]
        fields.append("is_active")
        if endpoint.is_active:
            endpoint.disabled_reason = ""
            endpoint.disabled_at = None
            endpoint.failing_since = None
            fields += ["disabled_reason", "disabled_at", "failing_since"]
    endpoint.save(update_fields=fields)
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Gone from the API now; its pending deliveries are dropped; the row goes at the next
    purge (a transaction writing deliveries for it meanwhile never meets a missing row)."""
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        deleted_at=now, is_active=False, updated_at=now
    )
    Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED, error="the webhook was deleted", next_attempt_at=None
    )


@transaction.atomic
def endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, overlap_seconds: int | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned once). The previous one keeps signing too, beside it, for
    `overlap_seconds` (WEBHOOK_SECRET_OVERLAP_SECONDS by default; 0 ends it now)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    overlap = (
        settings.WEBHOOK_SECRET_OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds
    )
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret if overlap > 0 else ""
    endpoint.previous_secret_expires_at = (
        timezone.now() + timedelta(seconds=overlap) if overlap > 0 else None
    )
    endpoint.secret = secret
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    return endpoint, secret


def endpoint_test(*, endpoint: WebhookEndpoint) -> Delivery:
    """Send a `webhook.test` message now, once (no retry), and record it among the
    endpoint's deliveries. Disabled endpoints can be tested; the test never counts toward
    disabling one."""
    delivery = Delivery.objects.create(
        workspace_id=endpoint.workspace_id,
        endpoint=endpoint,
        message_id=uuid.uuid4(),
        event_type=TEST_EVENT_TYPE,
        status=Delivery.Status.FAILED,  # until the attempt says otherwise; never queued
    )
    with transport.new_client() as client:
        result = _post(endpoint, delivery, client)
    _record(delivery, result, final=True)
    _save([delivery])
    return delivery


# --- Delivery --------------------------------------------------------------------------------


@dataclass
class RunReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    more: bool = False  # the budget ran out with deliveries due: run again
    claimed: bool = True  # False: another run has the endpoint, or it is inactive
    # The receiver looked down (ENDPOINT_DOWN_AFTER retryable failures in a row): the run
    # stopped, and no run takes the endpoint again before this.
    paused_until: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
            "more": self.more,
        }


def endpoint_deliver(
    *,
    endpoint_id: uuid.UUID,
    client: httpx.Client | None = None,
    budget_seconds: float = RUN_BUDGET_SECONDS,
) -> RunReport:
    """Deliver the endpoint's due deliveries, in order (see the module's docstring)."""
    now = timezone.now()
    claimed = (
        WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True, deleted_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    if not claimed:
        return RunReport(claimed=False)
    report = RunReport()
    own_client = client is None
    http = client or transport.new_client()
    try:
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        _run(endpoint, http, time.monotonic() + budget_seconds, report)
    finally:
        if own_client:
            http.close()
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(lease_until=report.paused_until)
    return report


def _run(
    endpoint: WebhookEndpoint, client: httpx.Client, deadline: float, report: RunReport
) -> None:
    checked: dict[str, netguard.IPAddress] = {}
    unsaved: list[Delivery] = []
    try:
        _run_batches(endpoint, client, deadline, report, checked, unsaved)
    finally:
        _save(unsaved)


def _run_batches(
    endpoint: WebhookEndpoint,
    client: httpx.Client,
    deadline: float,
    report: RunReport,
    checked: dict[str, netguard.IPAddress],
    unsaved: list[Delivery],
) -> None:
    # The queue is read in event order, a batch after another (`position` is the event's
    # `seq`, one delivery per event and endpoint): deliveries waiting for a retry hold back
    # their own key's later ones, never the batches behind them.
    held: set[str] = set()
    after = -1
    down = 0
    while True:
        batch = list(
            Delivery.objects.filter(
                endpoint=endpoint, status=Delivery.Status.PENDING, position__gt=after
            )
            .select_related("event")
            .order_by("position", "created_at")[:RUN_BATCH]
        )
        for delivery in batch:
            after = delivery.position
            key = delivery.ordering_key
            due = delivery.next_attempt_at is None or delivery.next_attempt_at <= timezone.now()
            if not due or (key and key in held):
                if key:
                    held.add(key)
                continue
            if time.monotonic() > deadline:
                report.more = True
                return
            result = _post(endpoint, delivery, client, checked)
            _record(delivery, result, final=False)
            unsaved.append(delivery)
            if len(unsaved) >= SAVE_EVERY:
                _save(unsaved)
            if delivery.status == Delivery.Status.SUCCEEDED:
                report.delivered += 1
            elif delivery.status == Delivery.Status.PENDING:
                report.retrying += 1
                if key:
                    held.add(key)
            else:
                report.failed += 1
            down = down + 1 if result.outcome == transport.Outcome.RETRY else 0
            if down >= ENDPOINT_DOWN_AFTER:
                # A dead or hanging receiver would hold this worker a timeout per event:
                # its other events wait (their order kept) instead of trying each now.
                report.paused_until = timezone.now() + ENDPOINT_DOWN_PAUSE
                _health(endpoint, delivery, result, unsaved)
                return
            if not _health(endpoint, delivery, result, unsaved):
                return  # disabled
        _save(unsaved)
        if len(batch) < RUN_BATCH:
            return
        if time.monotonic() > deadline:
            report.more = True
            return


def _body(delivery: Delivery) -> str:
    if delivery.event is not None:
        message = feed.envelope(delivery.event)
    else:
        message = {
            "id": str(delivery.message_id),
            "type": delivery.event_type,
            "timestamp": feed.iso(delivery.created_at),
            "workspace_id": str(delivery.workspace_id),
            "data": {
                "webhook_id": str(delivery.endpoint_id),
                "message": "A test message from Reachkit: this endpoint receives webhooks.",
            },
        }
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _post(
    endpoint: WebhookEndpoint,
    delivery: Delivery,
    client: httpx.Client,
    checked: dict[str, netguard.IPAddress] | None = None,
) -> transport.Attempt:
    body = _body(delivery)
    at = timezone.now()
    headers = signing.headers(
        message_id=str(delivery.message_id),
        timestamp=at,
        body=body,
        secrets_=endpoint.signing_secrets(at),
    )
    delivery.last_attempt_at = at
    return transport.post(
        client, endpoint.url, body=body.encode(), headers=headers, checked=checked
    )


def retry_delay(attempt: int, retry_after: float | None = None) -> float | None:
    """Seconds before the next attempt after attempt number `attempt` (1 for the first)
    failed, or None when none is left: the schedule's delay ±20 %, never before the
    receiver's Retry-After (capped at a day)."""
    delays = settings.WEBHOOK_RETRY_DELAYS_SECONDS
    if attempt > len(delays):
        return None
    delay = delays[attempt - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, 86_400.0))
    return delay


def _record(delivery: Delivery, result: transport.Attempt, *, final: bool) -> None:
    delivery.attempt += 1
    delivery.response_code = result.code
    delivery.duration_ms = result.duration_ms
    delivery.error = result.error[:1000]
    delay = None
    if result.outcome == transport.Outcome.DELIVERED:
        delivery.status = Delivery.Status.SUCCEEDED
    elif result.outcome == transport.Outcome.RETRY and not final:
        delay = retry_delay(delivery.attempt, result.retry_after)
        delivery.status = Delivery.Status.FAILED if delay is None else Delivery.Status.PENDING
    else:
        delivery.status = Delivery.Status.FAILED
    assert delivery.last_attempt_at is not None
    delivery.next_attempt_at = (
        delivery.last_attempt_at + timedelta(seconds=delay) if delay is not None else None
    )


_ATTEMPT_FIELDS = [
    "status",
    "attempt",
    "next_attempt_at",
    "last_attempt_at",
    "response_code",
    "duration_ms",
    "error",
]


def _save(deliveries: list[Delivery]) -> None:
    """Record attempts, a few at a time in one commit (a commit each cost more than the POST).
    A worker that dies before the commit sends those again, with the same webhook-id: at
    least once, as promised."""
    if not deliveries:
        return
    if connection.vendor == "postgresql":
        # One statement from one JSON document (bulk_update's CASE per row and field cost
        # more than the POSTs).
        rows = [
            {"id": str(d.pk), **{name: getattr(d, name) for name in _ATTEMPT_FIELDS}}
            for d in deliveries
        ]
        with connection.cursor() as cursor:
            cursor.execute(_SAVE_POSTGRESQL, [json.dumps(rows, cls=DjangoJSONEncoder)])
    else:
        with transaction.atomic():
            for delivery in deliveries:
                Delivery.objects.filter(pk=delivery.pk).update(
                    **{name: getattr(delivery, name) for name in _ATTEMPT_FIELDS}
                )
    deliveries.clear()


_SAVE_POSTGRESQL = """
UPDATE webhooks_delivery AS delivery
SET status = row.status, attempt = row.attempt, next_attempt_at = row.next_attempt_at,
    last_attempt_at = row.last_attempt_at, response_code = row.response_code,
    duration_ms = row.duration_ms, error = row.error
FROM jsonb_to_recordset(%s::jsonb) AS row(
    id uuid, status text, attempt int, next_attempt_at timestamptz, last_attempt_at timestamptz,
    response_code int, duration_ms int, error text
)
WHERE delivery.id = row.id
"""


def _health(
    endpoint: WebhookEndpoint,
    delivery: Delivery,
    result: transport.Attempt,
    unsaved: list[Delivery],
) -> bool:
    """Track the endpoint's failing streak; False once it is disabled."""
    now = timezone.now()
    if result.outcome == transport.Outcome.DELIVERED:
        stale = endpoint.last_success_at is None or now - endpoint.last_success_at > timedelta(
            minutes=1
        )
        if endpoint.failing_since is not None or stale:
            endpoint.failing_since = None
            endpoint.last_success_at = now
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                failing_since=None, last_success_at=now
            )
        return True
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)
        return True
    if now - endpoint.failing_since < timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS):
        return True
    _save(unsaved)
    endpoint_disable(endpoint=endpoint, last_error=delivery.error, at=now)
    return False


@transaction.atomic
def endpoint_disable(*, endpoint: WebhookEndpoint, last_error: str, at: datetime) -> None:
    """Every attempt failed for too long: the endpoint stops, saying why."""
    since = endpoint.failing_since or at
    days = settings.WEBHOOK_DISABLE_AFTER_SECONDS / 86_400
    reason = (
        f"Disabled automatically on {feed.iso(at)}: every delivery failed since "
        f"{feed.iso(since)} ({days:g} days). Last error: {last_error or 'unknown'}. "
        "Its events are in the feed (GET /api/v1/events); fix the receiver, then set "
        "is_active to true."
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason=reason, disabled_at=at, updated_at=at
    )
    Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED,
        next_attempt_at=None,
        error="not sent: the webhook was disabled",
    )
    endpoint.is_active = False
    endpoint.disabled_reason = reason


def endpoints_due(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Active endpoints with a delivery due and no run holding them (the periodic tick)."""
    now = now or timezone.now()
    due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now).values(
        "endpoint_id"
    )
    return list(
        WebhookEndpoint.objects.filter(pk__in=due, is_active=True, deleted_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .values_list("pk", flat=True)
    )


def webhooks_purge(*, now: datetime | None = None, batch: int = 10_000) -> dict[str, int]:
    """Forget events and deliveries older than WEBHOOK_EVENT_RETENTION_DAYS, and endpoints
    deleted a while ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)
    counts = {"events": 0, "deliveries": 0, "endpoints": 0}
    counts["idempotency_keys"] = idempotency.purge(now=now)
    while True:
        ids = list(
            Delivery.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        counts["deliveries"] += Delivery.objects.filter(pk__in=ids).delete()[0]
    while True:
        seqs = list(
            Event.objects.filter(created_at__lt=cutoff).values_list("seq", flat=True)[:batch]
        )
        if not seqs:
            break
        Delivery.objects.filter(event_id__in=seqs).delete()
        counts["events"] += Event.objects.filter(seq__in=seqs).delete()[0]
    gone = WebhookEndpoint.objects.filter(deleted_at__lt=now - PURGE_DELETED_AFTER)
    for endpoint_id in gone.values_list("pk", flat=True):
        Delivery.objects.filter(endpoint_id=endpoint_id).delete()
        counts["endpoints"] += WebhookEndpoint.objects.filter(pk=endpoint_id).delete()[0]
    return counts
