import uuid

from django.db import models
from django.db.models.functions import Lower


class Lead(models.Model):
    """A person a campaign writes to. Unique per campaign by email, case-insensitively.

    `variables` holds the merge-tag values (`{"company": "Acme"}`); `provider` is the
    lead's mail provider, null until detected from the domain's MX records.
    """

    class Status(models.TextChoices):
        UNCONTACTED = "uncontacted"
        CONTACTED = "contacted"
        REPLIED = "replied"

    class Provider(models.TextChoices):
        GOOGLE = "google"
        MICROSOFT = "microsoft"
        YAHOO = "yahoo"
        ZOHO = "zoho"
        OTHER = "other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("reachkit.Workspace", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="leads"
    )
    email = models.CharField(max_length=254)
    domain = models.CharField(max_length=253)
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    variables = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNCONTACTED)
    is_bounced = models.BooleanField(default=False)
    is_unsubscribed = models.BooleanField(default=False)
    is_blocklisted = models.BooleanField(default=False)
    provider = models.CharField(max_length=16, choices=Provider.choices, null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), "campaign", name="lead_unique_email"),
        ]
        indexes = [
            models.Index(fields=["campaign", "created_at"], name="lead_created"),
            models.Index(fields=["campaign", "status"], name="lead_status"),
            models.Index(fields=["campaign", "provider"], name="lead_provider"),
            models.Index(fields=["domain"], name="lead_domain"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
