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
