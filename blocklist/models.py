import uuid

from django.db import models


class BlocklistEntry(models.Model):
    """An address, or a whole domain, that a workspace never sends to.

    `value` is normalised (trimmed, lower-cased): `bob@acme.com` for an email entry,
    `acme.com` for a domain entry.
    """

    class Kind(models.TextChoices):
        EMAIL = "email"
        DOMAIN = "domain"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "reachkit.Workspace", on_delete=models.CASCADE, related_name="blocklist_entries"
    )
    value = models.CharField(max_length=254)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.EMAIL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "blocklist entry"
        verbose_name_plural = "blocklist"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "value"], name="blocklist_unique_value")
        ]
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="blocklist_created"),
            models.Index(fields=["workspace", "kind", "created_at"], name="blocklist_kind"),
        ]

    def __str__(self) -> str:
        return self.value
