import uuid
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from reachkit.crypto import EncryptedTextField


class EventType(models.TextChoices):
    """The catalogue (README, *Webhooks and the event feed*): what a workspace can hear of."""

    EMAIL_SENT = "email_sent"
    EMAIL_BOUNCED = "email_bounced"
    REPLY_RECEIVED = "reply_received"
    LEAD_LABELED = "lead_labeled"
    LEAD_INTERESTED = "lead_interested"
    LEAD_UNSUBSCRIBED = "lead_unsubscribed"
    AUTO_REPLY_RECEIVED = "auto_reply_received"
    CAMPAIGN_COMPLETED = "campaign_completed"
    CAMPAIGN_PAUSED = "campaign_paused"
    INBOX_ERROR = "inbox_error"
    INBOX_RECOVERED = "inbox_recovered"


# Sent by `POST /webhooks/:id/test` only: never an event of the feed.
TEST_EVENT_TYPE = "webhook.test"


class Event(models.Model):
    """Something that happened in a workspace, written in the transaction that made it happen.

    `seq` orders events as they were written; `txid` (PostgreSQL: the writing transaction's
    id, set by the column's default) lets a reader skip events whose transaction may still
    commit, so a cursor never passes an event that appears later (reachkit/webhooks/feed.py).
    On SQLite, where one writer commits at a time, `txid` stays 0 and `seq` alone orders.
    `ordering_key` groups events whose order matters to a receiver (one lead's).
    """

    seq = models.BigAutoField(primary_key=True)
    id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(
        "reachkit.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    type = models.CharField(max_length=64, choices=EventType.choices)
    created_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)
    ordering_key = models.CharField(max_length=64, blank=True, default="")
    txid = models.BigIntegerField(db_default=0, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "txid", "seq"], name="event_feed"),
            models.Index(fields=["workspace", "type", "txid", "seq"], name="event_feed_type"),
            models.Index(fields=["workspace", "created_at"], name="event_feed_since"),
            models.Index(fields=["created_at"], name="event_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookEndpoint(models.Model):
    """A URL of the workspace's that receives its events, signed with its own secret.

    `event_types` empty means every type. The secret is encrypted at rest and shown once
    (at creation and at each rotation); after a rotation the previous one still signs
    until `previous_secret_expires_at`, so a receiver can switch without losing a message.
    An endpoint that failed every delivery for WEBHOOK_DISABLE_AFTER_SECONDS is disabled,
    with the reason in `disabled_reason`. Deleting one sets `deleted_at` (it is gone from
    the API at once) and a periodic purge removes the row later: a transaction that is
    writing deliveries for it meanwhile never meets a missing row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "reachkit.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=500, blank=True, default="")
    event_types = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # A delivery run holds the endpoint until then (one run per endpoint: its order holds).
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "webhook endpoint"
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="webhook_created"),
            models.Index(fields=["workspace", "is_active"], name="webhook_active"),
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    def signing_secrets(self, at: datetime) -> list[str]:
        """The secrets that sign a message now: the current one, and during a rotation's
        overlap the previous one too."""
        secrets = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and at < expires:
            secrets.append(self.previous_secret)
        return secrets


class Delivery(models.Model):
    """One event (or a test message) on its way to one endpoint, with its last attempt.

    `message_id` is the `webhook-id` header: the event's id, the same on every attempt,
    so a receiver deduplicates. `position` is the event's `seq`: an endpoint's deliveries
    go in that order, and one lead's (`ordering_key`) never overtake each other.
    """

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for its first attempt or a retry (`next_attempt_at`)
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # no retry left, or an answer that is never retried

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "reachkit.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    message_id = models.UUIDField()
    event_type = models.CharField(max_length=64)
    position = models.BigIntegerField(default=0)
    ordering_key = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt = models.PositiveSmallIntegerField(default=0)  # attempts made so far
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # The endpoint's queue, in event order; the list of its deliveries.
            models.Index(fields=["endpoint", "status", "position"], name="delivery_queue"),
            models.Index(fields=["endpoint", "created_at"], name="delivery_list"),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["created_at"], name="delivery_expiry"),
            models.Index(fields=["event"], name="delivery_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id}"


# How long a delivery run may hold its endpoint (a run ends well before; a dead one's lease
# runs out).
LEASE = timedelta(minutes=5)
