import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from inboxes.connection import ServerSettings
from reachkit.crypto import EncryptedTextField


class Inbox(models.Model):
    """A mailbox the workspace sends from and reads replies in.

    Passwords (and OAuth tokens) are encrypted at rest; the API and the admin never show them.
    """

    class Provider(models.TextChoices):
        GOOGLE = "google"
        MICROSOFT = "microsoft"
        OTHER = "other"

    class ConnectionType(models.TextChoices):
        OAUTH = "oauth"
        IMAP_SMTP = "imap_smtp"

    class ConnectionStatus(models.TextChoices):
        PENDING = "pending"
        VALIDATING = "validating"
        CONNECTED = "connected"
        ERROR = "error"

    class Security(models.TextChoices):
        SSL = "ssl"
        STARTTLS = "starttls"
        NONE = "none"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "reachkit.Workspace", on_delete=models.CASCADE, related_name="inboxes"
    )
    email = models.CharField(max_length=254)
    domain = models.CharField(max_length=253)
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.OTHER)
    connection_type = models.CharField(
        max_length=16, choices=ConnectionType.choices, default=ConnectionType.IMAP_SMTP
    )
    connection_status = models.CharField(
        max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING
    )
    connection_error = models.TextField(blank=True, default="")
    connection_checked_at = models.DateTimeField(null=True, blank=True)

    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    reply_to = models.CharField(max_length=254, blank=True, default="")
    signature = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    is_warming = models.BooleanField(default=False)
    daily_campaign_limit = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    daily_warmup_limit = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )

    smtp_host = models.CharField(max_length=253, blank=True, default="")
    smtp_port = models.PositiveIntegerField(null=True, blank=True)
    smtp_username = models.CharField(max_length=254, blank=True, default="")
    smtp_password = EncryptedTextField(blank=True, default="")
    smtp_security = models.CharField(
        max_length=16, choices=Security.choices, default=Security.STARTTLS
    )
    imap_host = models.CharField(max_length=253, blank=True, default="")
    imap_port = models.PositiveIntegerField(null=True, blank=True)
    imap_username = models.CharField(max_length=254, blank=True, default="")
    imap_password = EncryptedTextField(blank=True, default="")
    imap_security = models.CharField(max_length=16, choices=Security.choices, default=Security.SSL)
    # Found by their special-use flags (RFC 6154) when the connection is checked.
    sent_folder = models.CharField(max_length=255, blank=True, default="")
    junk_folder = models.CharField(max_length=255, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "inboxes"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "email"], name="inbox_unique_email")
        ]
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="inbox_created"),
            models.Index(fields=["workspace", "provider"], name="inbox_provider"),
            models.Index(fields=["workspace", "connection_status"], name="inbox_status"),
            models.Index(fields=["workspace", "is_active"], name="inbox_active"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def smtp_settings(self) -> ServerSettings:
        return ServerSettings(
            host=self.smtp_host,
            port=self.smtp_port or 0,
            username=self.smtp_username,
            password=self.smtp_password,
            security=self.smtp_security,
        )

    def imap_settings(self) -> ServerSettings:
        return ServerSettings(
            host=self.imap_host,
            port=self.imap_port or 0,
            username=self.imap_username,
            password=self.imap_password,
            security=self.imap_security,
        )


class InboxPace(models.Model):
    """When an inbox may send its next email, campaign or warmup: the randomised gap between
    sends (inboxes/pace.py).

    The row is also the inbox's lock while a sender hands it work (SELECT … FOR UPDATE
    SKIP LOCKED), so concurrent schedulers and warmup passes never put one inbox over its
    gap or its caps.
    """

    inbox = models.OneToOneField(
        "inboxes.Inbox", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    next_send_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"pace of {self.inbox_id}"


class WarmupState(models.Model):
    """An inbox's place on the warmup ramp (inboxes/warmup.py).

    `ramp_days` counts the UTC days on which the inbox warmed; the day's target grows with
    it. A pause of less than WARMUP_RESTART_AFTER_DAYS keeps it; a longer one starts over.
    """

    inbox = models.OneToOneField(
        "inboxes.Inbox", on_delete=models.CASCADE, primary_key=True, related_name="warmup_state"
    )
    ramp_days = models.PositiveIntegerField(default=0)
    last_warmed_on = models.DateField(null=True, blank=True)
    # A receive pass reading this inbox's mailbox holds it until then (one reader at a time).
    receiving_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"warmup of {self.inbox_id}"


class WarmupEmail(models.Model):
    """One warmup email from an inbox of the pool to another: an outbox row with a status,
    as campaign sends are, and what its recipient's side found (placement, rescue, reply).

    Sending: `scheduled` → `claimed` → (attempted) → `sent`, `failed`, or `unknown` when the
    connection broke after DATA (never resent: the recipient's side marks it sent if it
    arrives). Receiving: `received_at` once the recipient's IMAP pass found it, in INBOX
    (`placement` inbox) or in Junk (`placement` spam, then moved: `saved_from_spam`).
    """

    class Kind(models.TextChoices):
        FIRST = "first"
        REPLY = "reply"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        CLAIMED = "claimed"
        SENT = "sent"
        FAILED = "failed"
        UNKNOWN = "unknown"

    class Placement(models.TextChoices):
        PENDING = "", "not seen yet"
        INBOX = "inbox"
        SPAM = "spam"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.ForeignKey("inboxes.Inbox", on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey("inboxes.Inbox", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.FIRST)
    # The email a reply answers; one reply at most per email.
    parent = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="reply"
    )
    # The sender's UTC day the email counts for, and its number that day (first emails).
    day = models.DateField()
    seq = models.PositiveSmallIntegerField(default=0)
    message_id = models.CharField(max_length=255, unique=True)
    subject = models.CharField(max_length=255, blank=True, default="")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    smtp_response = models.TextField(blank=True, default="")

    received_at = models.DateTimeField(null=True, blank=True)
    placement = models.CharField(
        max_length=8, choices=Placement.choices, blank=True, default=Placement.PENDING
    )
    saved_from_spam = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "day", "seq"],
                condition=models.Q(kind="first"),
                name="warmup_unique_first_of_day",
            )
        ]
        indexes = [
            # The send pass: due rows, oldest first.
            models.Index(
                fields=["due_at"], condition=models.Q(status="scheduled"), name="warmup_due"
            ),
            # Stats and today's count for a sender.
            models.Index(fields=["sender", "sent_at"], name="warmup_sender_sent"),
            models.Index(fields=["sender", "day"], name="warmup_sender_day"),
            # The receive pass and stats for a recipient.
            models.Index(fields=["recipient", "received_at"], name="warmup_recipient_received"),
            # The send pass: claims lost by a dead worker; new emails a sender took today.
            models.Index(
                fields=["claimed_at"], condition=models.Q(status="claimed"), name="warmup_claimed"
            ),
            models.Index(
                fields=["sender", "claimed_at"],
                condition=models.Q(kind="first"),
                name="warmup_sender_claimed",
            ),
            # The receive pass: emails received long enough ago to clean up.
            models.Index(
                fields=["received_at"],
                condition=models.Q(archived_at__isnull=True, received_at__isnull=False),
                name="warmup_to_archive",
            ),
        ]

    def __str__(self) -> str:
        return f"warmup {self.kind} {self.sender_id} → {self.recipient_id} ({self.status})"
