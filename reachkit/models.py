import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models

from reachkit.crypto import EncryptedTextField

API_KEY_PREFIX_LENGTH = 8
API_KEY_SECRET_BYTES = 24
# last_used_at is a hint for humans: refresh it at most this often, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Workspace(models.Model):
    """The tenant: every campaign, inbox, lead and blocklist entry belongs to one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=150, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="workspaces", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's seat in a workspace."""

    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace}"


def hash_api_key(raw_key: str) -> str:
    # Keys carry 192 random bits, so a fast hash is safe: nothing to brute-force.
    return hashlib.sha256(raw_key.encode()).hexdigest()


# `rk_<8 hex>_<token_urlsafe>`: anything else (NUL, other control or non-ASCII characters,
# which PostgreSQL would refuse in the prefix look-up) is malformed before any query.
_API_KEY_SHAPE = re.compile(rf"rk_([0-9a-f]{{{API_KEY_PREFIX_LENGTH}}})_[A-Za-z0-9_-]{{1,256}}")


def parse_api_key(raw_key: str) -> str | None:
    """The lookup prefix of a well-formed key (`rk_<prefix>_<secret>`), else None."""
    match = _API_KEY_SHAPE.fullmatch(raw_key)
    return match.group(1) if match else None


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A workspace's API key. Only its prefix is readable; the key itself is stored hashed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=API_KEY_PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    # The whole key, in memory only, after `assign_new_secret` (never saved): the admin's
    # page for a new key shows it once.
    new_raw_key: str | None = None

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def masked(self) -> str:
        return f"rk_{self.prefix}_…"

    def assign_new_secret(self) -> str:
        """Give this key a fresh secret and return it: the only time it is ever readable."""
        self.prefix = secrets.token_hex(API_KEY_PREFIX_LENGTH // 2)
        raw_key = f"rk_{self.prefix}_{secrets.token_urlsafe(API_KEY_SECRET_BYTES)}"
        self.key_hash = hash_api_key(raw_key)
        self.new_raw_key = raw_key
        return raw_key

    def matches(self, raw_key: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_api_key(raw_key))

    def needs_last_used_refresh(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION


class IdempotencyKey(models.Model):
    """A POST's `Idempotency-Key` and the answer it got, replayed to a retry for a day.

    `fingerprint` is a hash of the method, path and body: the same key with another request
    is refused. `status_code` is null while the first request runs (reachkit/api/idempotency.py).
    `body` is encrypted at rest: an answer can hold a secret shown once (a webhook's).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    body = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_key_unique")
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_key_expiry")]

    def __str__(self) -> str:
        return self.key
