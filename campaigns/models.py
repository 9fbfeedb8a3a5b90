import uuid

from django.core.validators import MaxValueValidator
from django.db import models

from campaigns import windows
from campaigns.content import html_body

MAX_DELAY_DAYS = 365
# The campaign's options: what the API shows and takes as `options`, the admin edits, and
# campaign_update sets; in the order shown.
OPTION_FIELDS = (
    "daily_limit",
    "stop_on_reply",
    "stop_on_company_reply",
    "text_only",
    "esp_matching",
    "unsubscribe_option",
)


class Campaign(models.Model):
    """A sequence of emails sent to a list of leads from a set of inboxes, on a schedule."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "reachkit.Workspace", on_delete=models.CASCADE, related_name="campaigns"
    )
    name = models.CharField(max_length=150)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Why the campaign paused itself (bounce protection), empty when a person paused it.
    paused_reason = models.TextField(blank=True, default="")
    progress = models.PositiveSmallIntegerField(default=0)

    daily_limit = models.PositiveIntegerField(default=50)
    stop_on_reply = models.BooleanField(default=True)
    stop_on_company_reply = models.BooleanField(default=False)
    text_only = models.BooleanField(default=False)
    esp_matching = models.BooleanField(default=False)
    unsubscribe_option = models.BooleanField(default=False)

    inboxes = models.ManyToManyField(
        "inboxes.Inbox", through="CampaignInbox", related_name="campaigns", blank=True
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="campaign_created"),
            models.Index(fields=["workspace", "updated_at"], name="campaign_updated"),
            models.Index(fields=["workspace", "name"], name="campaign_name"),
            models.Index(fields=["workspace", "status"], name="campaign_status"),
        ]

    def __str__(self) -> str:
        return self.name

    def may_become(self, status: str) -> bool:
        """Whether `status` may follow the campaign's own (`STATUS_TRANSITIONS`)."""
        return status in STATUS_TRANSITIONS.get(self.status, frozenset())

    @staticmethod
    def statuses_that_may_become(status: str) -> list[str]:
        """The statuses `status` may follow: a conditional UPDATE's filter."""
        return [before for before, after in STATUS_TRANSITIONS.items() if status in after]


# Which status may follow which: a person's changes (API, admin) and bounce protection's
# pause all go through it. Launching (→ active) also needs the campaign to be ready
# (services.campaign_launch_problems).
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Campaign.Status.DRAFT: frozenset({Campaign.Status.ACTIVE}),
    Campaign.Status.ACTIVE: frozenset({Campaign.Status.PAUSED}),
    Campaign.Status.PAUSED: frozenset({Campaign.Status.ACTIVE}),
}


class CampaignInbox(models.Model):
    """An inbox attached to a campaign: the campaign may send from it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE)
    inbox = models.ForeignKey("inboxes.Inbox", on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "inbox"], name="campaign_inbox_unique")
        ]

    def __str__(self) -> str:
        return f"{self.inbox_id} on {self.campaign_id}"


class Schedule(models.Model):
    """When a campaign may send, in its own timezone.

    `days` maps monday…sunday to `{"enabled": bool, "start": "HH:MM"|null, "end": …}`;
    a null start or end falls back to the default window.
    """

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="schedule")
    timezone = models.CharField(max_length=64, default=windows.DEFAULT_TIMEZONE)
    start_time = models.TimeField()
    end_time = models.TimeField()
    days = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"schedule of {self.campaign}"

    def weekly(self) -> windows.WeeklySchedule:
        """The schedule as the pure value the scheduler and the validation work on."""
        return windows.WeeklySchedule(
            timezone=self.timezone,
            default=windows.Window(start=self.start_time, end=self.end_time),
            days=windows.days_from_json(self.days),
        )


class Sequence(models.Model):
    """One step of a campaign. `delay_days` is the wait before the next step."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The campaign's workspace, denormalised so the API scopes sequences like any resource.
    workspace = models.ForeignKey("reachkit.Workspace", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sequences")
    step = models.PositiveIntegerField()
    delay_days = models.PositiveIntegerField(
        default=3, validators=[MaxValueValidator(MAX_DELAY_DAYS)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["step"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "step"],
                name="sequence_unique_step",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.CheckConstraint(
                condition=models.Q(delay_days__lte=MAX_DELAY_DAYS), name="sequence_delay_days"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "step"], name="sequence_step")]

    def __str__(self) -> str:
        return f"{self.campaign} step {self.step}"


class Variant(models.Model):
    """An A/B version of a step's email. Leads are spread evenly over the enabled ones."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The campaign's workspace, denormalised so the API scopes variants like any resource.
    workspace = models.ForeignKey("reachkit.Workspace", on_delete=models.CASCADE, related_name="+")
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="variants")
    letter = models.CharField(max_length=2)
    subject = models.TextField(null=True, blank=True)
    body_html = models.TextField(null=True, blank=True)
    body_text = models.TextField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["letter"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "letter"], name="variant_unique_letter")
        ]

    def __str__(self) -> str:
        return f"{self.sequence} variant {self.letter}"

    @property
    def has_subject(self) -> bool:
        return bool((self.subject or "").strip())

    @property
    def has_body(self) -> bool:
        """Whether the body says something beyond the unsubscribe link block."""
        content = html_body.remove_unsubscribe_link(self.body_html or "")
        return bool(content and (html_body.html_to_text(content).strip() or "<img" in content))

    def set_body(self, body_html: str | None) -> None:
        """Store normalised HTML (or None) with its derived plain-text version."""
        self.body_html = body_html
        self.body_text = None if body_html is None else html_body.html_to_text(body_html)


class Send(models.Model):
    """One email of a campaign's sequence to one lead: the outbox row.

    The row exists before the SMTP conversation does. `claimed` rows belong to a sender;
    `attempted_at` is set just before the SMTP transaction starts, so a claim whose sender
    died without it is safely sent again, and one with it is `unknown` until reconciled
    against the inbox's Sent folder. A lead gets each step at most once: unique (lead,
    sequence), the step itself rather than its number, which moves when an earlier step is
    deleted (`step` follows it; a deleted step's rows keep their number as history).
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"  # waiting for `due_at` (a retry after a temporary failure)
        CLAIMED = "claimed"  # taken by a sender: rendering and SMTP under way
        SENT = "sent"
        FAILED = "failed"
        BOUNCED = "bounced"
        UNKNOWN = "unknown"  # the connection broke after DATA: reconciled, never resent blindly
        SKIPPED = "skipped"  # a stop rule held it back; `skip_reason` says which

    class SkipReason(models.TextChoices):
        """Why a step was not sent: on a `skipped` row (or a retry failed for want of its
        inbox). Stored, and read back by diagnostics: a value never changes meaning."""

        UNSUBSCRIBED = "unsubscribed"
        BOUNCED = "bounced"
        BLOCKLISTED = "blocklisted"
        REPLIED = "replied"
        COMPANY_REPLIED = "company_replied"
        LEFT_COMPANY = "left_company"  # an automatic reply said the person left
        INBOX_DETACHED = "inbox_detached"  # a follow-up whose thread's inbox left the campaign
        INBOX_DELETED = "inbox_deleted"  # a retry whose inbox was deleted: failed

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No single-column indexes on these foreign keys: the composite indexes below lead with
    # them (the unique one with the lead), and every index costs each send a write.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="sends", db_index=False
    )
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="sends", db_index=False
    )
    step = models.PositiveSmallIntegerField()
    # Steps and variants can be deleted after the fact; the history keeps its numbers.
    sequence = models.ForeignKey(
        Sequence, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    variant = models.ForeignKey(
        Variant,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sends",
        db_index=False,
    )
    # Deleting an inbox keeps its sent history: the row keeps the address it went from.
    inbox = models.ForeignKey(
        "inboxes.Inbox",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sends",
        db_index=False,
    )
    from_email = models.CharField(max_length=254, blank=True, default="")
    to_email = models.CharField(max_length=254)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True, default="")
    attempted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    message_id = models.CharField(max_length=255, unique=True)
    subject = models.TextField(blank=True, default="")
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    smtp_response = models.TextField(blank=True, default="")
    skip_reason = models.CharField(
        max_length=32, choices=SkipReason.choices, blank=True, default=""
    )
    # The lead's reply, attributed to the last email it got before replying.
    replied_at = models.DateTimeField(null=True, blank=True)
    # A soft bounce (mailbox full, deferred for good…) came back for it: the step is sent
    # once more the next day; another soft bounce after that counts as a bounce.
    soft_bounced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "sequence"], name="send_unique_lead_step"),
        ]
        indexes = [
            # Retries due: the scheduler's first queue.
            models.Index(
                fields=["campaign", "due_at"],
                condition=models.Q(status="scheduled"),
                name="send_retry_due",
            ),
            # Stale claims and unknown outcomes to recover and reconcile.
            models.Index(
                fields=["status", "claimed_at"],
                condition=models.Q(status__in=["claimed", "unknown"]),
                name="send_in_flight",
            ),
            # Daily caps: per campaign (its timezone's day) and per inbox (the UTC day).
            models.Index(fields=["campaign", "claimed_at"], name="send_campaign_claimed"),
            models.Index(fields=["inbox", "claimed_at"], name="send_inbox_claimed"),
            # Analytics: sent per day, per variant.
            models.Index(fields=["campaign", "sent_at"], name="send_campaign_sent"),
            models.Index(fields=["variant", "status"], name="send_variant_status"),
            # Bounces per day (a bounce has no `sent_at`): a handful of rows per campaign.
            models.Index(
                fields=["campaign", "attempted_at"],
                condition=models.Q(status="bounced"),
                name="send_campaign_bounced",
            ),
        ]

    def __str__(self) -> str:
        return f"step {self.step} to {self.to_email} ({self.status})"
