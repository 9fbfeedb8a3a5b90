"""The unified inbox: conversations, their messages and attachments, and each inbox's sync.

A conversation is one thread: with a lead (the campaign emails it got and everything that
came back), or one started through the API. The campaign emails a lead got are its send
rows (`campaigns.Send`), shown as the conversation's outgoing messages; what came back, and
what is sent through the API, are `Message` rows.
"""

import uuid

from django.db import models


class Conversation(models.Model):
    """One thread, in one of two folders: `primary` holds people's replies from leads and
    threads started through the API; `others` holds automatic replies and the rest."""

    class Folder(models.TextChoices):
        PRIMARY = "primary"
        OTHERS = "others"

    class Label(models.TextChoices):
        INTERESTED = "interested"
        NOT_INTERESTED = "not_interested"
        NEEDS_MORE_INFO = "needs_more_info"
        MEETING_REQUESTED = "meeting_requested"
        WRONG_PERSON = "wrong_person"
        OUT_OF_OFFICE = "out_of_office"
        REFERRAL = "referral"
        QUESTION = "question"
        NEUTRAL = "neutral"
        UNSUBSCRIBE = "unsubscribe"
        LEFT_COMPANY = "left_company"

    POSITIVE_LABELS = frozenset({Label.INTERESTED, Label.MEETING_REQUESTED})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "reachkit.Workspace", on_delete=models.CASCADE, related_name="conversations"
    )
    # None for a thread started through the API. A lead's conversation goes with the lead.
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The inbox the thread goes through (a lead's: the inbox that emailed it).
    inbox = models.ForeignKey(
        "inboxes.Inbox", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.TextField(blank=True, default="")
    folder = models.CharField(max_length=16, choices=Folder.choices, default=Folder.OTHERS)
    # The classifier's label of the latest reply, and the one a person set through the API,
    # which wins everywhere (`effective_label`).
    label = models.CharField(max_length=32, choices=Label.choices, null=True, blank=True)
    label_override = models.CharField(max_length=32, choices=Label.choices, null=True, blank=True)
    # Whether the lead's campaign emails (its sent rows, shown as outgoing messages) read as
    # read: they have no `Message` row to hold `is_read`, and marking a thread unread marks
    # every message of it.
    campaign_emails_read = models.BooleanField(default=True)
    # When the newest message of the thread was written (sent or received): lists sort by it.
    last_message_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=models.Q(lead__isnull=False),
                name="conversation_unique_lead",
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "folder", "-last_message_at"], name="conversation_folder"
            ),
            models.Index(fields=["workspace", "-last_message_at"], name="conversation_recent"),
        ]

    def __str__(self) -> str:
        return self.subject or str(self.id)

    @property
    def effective_label(self) -> str | None:
        return self.label_override or self.label

    @property
    def is_positive(self) -> bool:
        return self.effective_label in self.POSITIVE_LABELS


class Message(models.Model):
    """One email of a conversation that is not a campaign send: one that came back (from
    IMAP), or one sent through the API (a reply, a new thread)."""

    class Direction(models.TextChoices):
        INCOMING = "incoming"
        OUTGOING = "outgoing"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("reachkit.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    inbox = models.ForeignKey(
        "inboxes.Inbox", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    direction = models.CharField(max_length=16, choices=Direction.choices)
    # The campaign email this one answers, when it answers one.
    send = models.ForeignKey(
        "campaigns.Send", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    message_id = models.CharField(max_length=998, blank=True, default="")
    in_reply_to = models.CharField(max_length=998, blank=True, default="")
    references = models.TextField(blank=True, default="")
    subject = models.TextField(blank=True, default="")
    from_email = models.CharField(max_length=254, blank=True, default="")
    # An inbox's display name is first + " " + last name: up to 301 characters.
    from_name = models.CharField(max_length=320, blank=True, default="")
    # [{"email": …, "name": …}, …]
    to_recipients = models.JSONField(default=list, blank=True)
    cc_recipients = models.JSONField(default=list, blank=True)
    bcc_recipients = models.JSONField(default=list, blank=True)
    text_body = models.TextField(blank=True, default="")
    # Incoming HTML as it came: shown only sanitised (unibox.display.safe_html).
    html_body = models.TextField(blank=True, default="")
    # What the sender newly wrote (unibox.reply_text), for search and the label.
    new_text = models.TextField(blank=True, default="")
    email_date = models.DateTimeField()
    is_read = models.BooleanField(default=False)

    # How the message was read, for an incoming one: its label, and whether it was written
    # by a machine (an out-of-office, "left the company", a ticket system).
    label = models.CharField(
        max_length=32, choices=Conversation.Label.choices, null=True, blank=True
    )
    auto_reply_kind = models.CharField(max_length=32, blank=True, default="")

    # Where an incoming message was found (IMAP): unique per inbox, folder, UIDVALIDITY and
    # UID, and per Message-ID within the inbox across folders.
    folder = models.CharField(max_length=255, blank=True, default="")
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    size = models.PositiveIntegerField(default=0)
    # True when the message was larger than the size cap and recorded without its body.
    body_skipped = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email_date", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["inbox", "folder", "uidvalidity", "uid"],
                condition=models.Q(uid__isnull=False),
                name="message_unique_imap_uid",
            ),
            models.UniqueConstraint(
                fields=["inbox", "message_id"],
                condition=~models.Q(message_id=""),
                name="message_unique_message_id",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "email_date"], name="message_conversation"),
            models.Index(fields=["workspace", "message_id"], name="message_message_id"),
        ]

    def __str__(self) -> str:
        return self.subject or str(self.id)


def attachment_path(attachment: "Attachment", filename: str) -> str:
    """Stored under the workspace, by the attachment's id: never by the sender's file name."""
    return f"attachments/{attachment.workspace_id}/{attachment.id}"


class Attachment(models.Model):
    """A file attached to a message, its bytes kept through Django's storage API."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("reachkit.Workspace", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    file = models.FileField(upload_to=attachment_path, max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename


class InboxSync(models.Model):
    """Where each of an inbox's folders was read up to, and who is reading it now.

    `folders` maps a folder's name to {"uidvalidity": int, "last_uid": int}, and while they
    matter: "since" (a first read's window), "trying" (the UID in hand, saved before it is
    read), "retry" (UIDs that failed once), "skipped" (the last UIDs given up on); see
    `unibox.imap_sync`. A worker claims
    the row (`SELECT … FOR UPDATE SKIP LOCKED`, then `claimed_until`) so one sync of an inbox
    runs at a time across all workers; a claim past `claimed_until` died with its worker.
    """

    inbox = models.OneToOneField(
        "inboxes.Inbox", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    folders = models.JSONField(default=dict, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    first_synced_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"sync of {self.inbox_id}"
