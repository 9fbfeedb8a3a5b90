import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from leads.lookups import Matches
from leads.querysets import DomainProviderQuerySet, LeadQuerySet
from reachkit.lookups import AnyOf


class Lead(models.Model):
    """A person a campaign writes to. Unique per campaign by email, case-insensitively.

    `email` keeps the local part as given and lower-cases the domain; `email_key` is the
    whole address lower-cased, the column uniqueness (and upserts) work on. `variables`
    holds the merge-tag values under normalised names (`{"company": "Acme"}`);
    `search_text` is what the list's `search` matches (email, names, company, lower-cased),
    kept in step by the services that write names and variables. `provider` is the lead's
    mail provider, null until detected from the domain's MX records.
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
    # No single-column indexes on the two foreign keys: every lead query starts from a
    # campaign and the composite indexes below lead with it; deleting a workspace is rare.
    # Each index costs every import a little (see bench/leads_import.py).
    workspace = models.ForeignKey(
        "reachkit.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="leads", db_index=False
    )
    email = models.CharField(max_length=254)
    email_key = models.CharField(max_length=254, editable=False)
    domain = models.CharField(max_length=253)
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    variables = models.JSONField(default=dict, blank=True)
    search_text = models.TextField(blank=True, default="", editable=False)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNCONTACTED)
    is_bounced = models.BooleanField(default=False)
    is_unsubscribed = models.BooleanField(default=False)
    is_blocklisted = models.BooleanField(default=False)
    provider = models.CharField(max_length=16, choices=Provider.choices, null=True, blank=True)

    # Where the lead is in the campaign's sequence, kept by the sending engine
    # (campaigns/sending/): `next_step` is due at `next_due_at` (at the next open
    # window); null means nothing to send now (finished, stopped, or an email in flight).
    # Database defaults, so leads written with COPY are due for step 1 as well.
    next_step = models.PositiveSmallIntegerField(default=1, db_default=1)
    next_due_at = models.DateTimeField(
        null=True, blank=True, default=timezone.now, db_default=Now()
    )
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # The inbox step 1 went from: follow-ups reply in its thread. An id, not a foreign key:
    # leads do not depend on inboxes (the scheduler checks the inbox is still attached).
    thread_inbox_id = models.UUIDField(null=True, blank=True)
    # Set by the unified inbox when the lead replies: what analytics and the stop rules read.
    replied_at = models.DateTimeField(null=True, blank=True)
    label = models.CharField(max_length=32, null=True, blank=True)
    is_positive = models.BooleanField(default=False, db_default=False)
    # Set by the unified inbox when an automatic reply says the person left the company: a
    # stop rule, like a bounce (campaigns/sending/rules.py).
    left_company_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "email_key"], name="lead_unique_email_key"),
        ]
        # The list's filters and sorts, each backed by an index that leads with the campaign.
        # The boolean filters are partial: they cost nothing for the many leads that are not
        # bounced, unsubscribed or blocklisted. `lead_provider_pending` holds only the leads
        # whose provider is still unknown: ESP detection updates and sweeps through it.
        indexes = [
            models.Index(fields=["campaign", "created_at"], name="lead_created"),
            models.Index(fields=["campaign", "first_name"], name="lead_first_name"),
            models.Index(fields=["campaign", "last_name"], name="lead_last_name"),
            models.Index(fields=["campaign", "status", "created_at"], name="lead_status"),
            models.Index(fields=["campaign", "provider", "created_at"], name="lead_provider"),
            models.Index(
                fields=["campaign", "created_at"], condition=Q(is_bounced=True), name="lead_bounced"
            ),
            models.Index(
                fields=["campaign", "created_at"],
                condition=Q(is_unsubscribed=True),
                name="lead_unsubscribed",
            ),
            models.Index(
                fields=["campaign", "created_at"],
                condition=Q(is_blocklisted=True),
                name="lead_blocklisted",
            ),
            models.Index(
                fields=["domain"], condition=Q(provider__isnull=True), name="lead_provider_pending"
            ),
            # The blocklist's mark: a domain entry finds its leads by domain, an address
            # entry by domain and address (and by the unique email key).
            models.Index(fields=["campaign", "domain"], name="lead_domain"),
            # Analytics' replies (per campaign, per day): only the leads that replied, so it
            # costs imports nothing.
            models.Index(
                fields=["campaign", "replied_at"],
                condition=Q(replied_at__isnull=False),
                name="lead_replied",
            ),
            # The scheduler's two queues: leads due for their first email, and follow-ups.
            # Each holds only leads with something due, so a tick costs what is due.
            models.Index(
                fields=["campaign", "next_due_at"],
                condition=Q(next_step=1, next_due_at__isnull=False),
                name="lead_due_first",
            ),
            models.Index(
                fields=["campaign", "thread_inbox_id", "next_due_at"],
                condition=Q(next_step__gt=1, next_due_at__isnull=False),
                name="lead_due_followup",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class DomainProvider(models.Model):
    """The mail provider behind a domain, from its MX records: the ESP detection cache.

    One row per domain for every workspace (MX records are public). The row is also the
    claim that keeps concurrent look-ups of one domain from stampeding: a worker sets
    `claimed_until` with a conditional UPDATE before it asks DNS, and whoever finds the
    claim taken leaves the domain to it. A failed look-up sets `retry_at` (backoff with
    jitter); after the last attempt the domain is `other`, with a short expiry.
    """

    domain = models.CharField(max_length=253, primary_key=True)
    provider = models.CharField(max_length=16, choices=Lead.Provider.choices, null=True, blank=True)
    mx_hosts = models.JSONField(default=list, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    objects = DomainProviderQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["retry_at"], condition=Q(retry_at__isnull=False), name="domain_retry_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.domain}: {self.provider or 'unknown'}"


# The list's `search`: `search_text__matches=term`.
Lead._meta.get_field("search_text").register_lookup(Matches)
# Batches look up thousands of emails and domains at once.
Lead._meta.get_field("email_key").register_lookup(AnyOf)
Lead._meta.get_field("domain").register_lookup(AnyOf)
DomainProvider._meta.get_field("domain").register_lookup(AnyOf)
