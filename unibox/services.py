"""The unified inbox's writes: what the Conversation API and the admin do to a conversation.

- `conversation_update`: a person's label (it wins over the classifier's everywhere: the
  conversation, its lead, the campaign's analytics) and read or unread for every message.
- `conversation_reply`: a reply in the thread, from the conversation's inbox.
- `conversation_create`: a new thread, the first email to one or more people.

Email goes through the sending engine's public surface (`campaigns.sending.services`):
the same message building, header checks, guarded connect and filing in Sent as campaign
email. An email the server refuses raises `EmailNotSent` (502, `send_failed`), and nothing
is stored.
"""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.models import Send
from campaigns.sending.services import SentEmail, email_send, lead_relabel
from inboxes.models import Inbox
from reachkit.errors import NotFound, ValidationFailed
from reachkit.models import Workspace
from reachkit.text import one_line
from unibox import threads
from unibox.models import Attachment, Conversation, Message
from unibox.subjects import without_reply_prefixes

# What a client may not set (`label_override` may be null: "no override").
UNSET: Any = object()

# A reply's subject, however long the one it answers.
MAX_SUBJECT = 1000
# A References header keeps the first Message-ID of the thread and the latest ones (RFC 5322
# 3.6.4 lets a long chain lose its middle): a long thread never makes a huge header.
MAX_REFERENCES = 20
# A Message-ID fit to write back in In-Reply-To/References: `<…>`, printable ASCII, no spaces
# or angle brackets inside. Anything else a hostile message stored is left out.
_SAFE_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str = ""


# --- Label and read state ------------------------------------------------------------------


@transaction.atomic
def conversation_update(
    *, conversation: Conversation, label_override: Any = UNSET, is_read: Any = UNSET
) -> Conversation:
    """Set a person's label (None clears it: the classifier's label again) and/or mark every
    message read or unread. Omitted arguments change nothing.

    The effective label and whether it is positive reach the conversation's lead through
    `lead_relabel`, so analytics count what the person decided.
    """
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if label_override is not UNSET:
        if label_override is not None and label_override not in Conversation.Label.values:
            raise ValidationFailed(
                "Not a label.", details={"label_override": [f'"{label_override}" is not a label.']}
            )
        conversation.label_override = label_override
        conversation.save(update_fields=["label_override", "updated_at"])
        if conversation.lead_id is not None:
            assert conversation.lead is not None
            lead_relabel(
                lead=conversation.lead,
                label=conversation.effective_label,
                is_positive=conversation.is_positive,
            )
    if is_read is not UNSET:
        Message.objects.filter(conversation=conversation).update(is_read=bool(is_read))
        conversation.campaign_emails_read = bool(is_read)
        conversation.save(update_fields=["campaign_emails_read", "updated_at"])
    return conversation


# --- Sending ---------------------------------------------------------------------------------


def conversation_reply(*, conversation: Conversation, content: str) -> Message:
    """Reply in the thread, from the conversation's inbox, to whoever wrote last.

    Threaded as mail clients expect: `In-Reply-To` the Message-ID of the last message that
    came back (else the last one sent), `References` its chain, and the thread's subject
    with one `Re: ` (an `AW:`, `RE :` or `Re: Re:` becomes it). Sent over SMTP and filed in
    the inbox's Sent folder by the sending engine, then stored as an outgoing message.
    """
    conversation = Conversation.objects.select_related("lead", "inbox").get(pk=conversation.pk)
    inbox = _inbox_of(conversation)
    thread = threads.thread_of(conversation)
    incoming = [entry for entry in thread if entry.direction == Message.Direction.INCOMING]
    parent = incoming[-1] if incoming else (thread[-1] if thread else None)
    if parent is None:
        if conversation.lead is None:
            raise ValidationFailed("The conversation has no message to reply to.")
        to = [Recipient(conversation.lead.email, conversation.lead.full_name)]
    elif parent.direction == Message.Direction.INCOMING:
        to = [Recipient(parent.from_email.strip(), one_line(parent.from_name).strip())]
    else:
        to = [
            Recipient(r["email"].strip(), one_line(r["name"]).strip())
            for r in parent.to_recipients
            if r["email"]
        ]
    if not to or not all(recipient.email for recipient in to):
        raise ValidationFailed("The conversation has no address to reply to.")
    base = parent.subject if parent is not None and parent.subject else conversation.subject
    sent = email_send(
        inbox=inbox,
        to=[(recipient.email, recipient.name) for recipient in to],
        subject=reply_subject(base),
        html=content,
        in_reply_to=_safe_id(parent.message_id) if parent is not None else "",
        references=_references(thread, parent),
    )
    with transaction.atomic():
        message = _store_sent(conversation.workspace_id, conversation, inbox, sent)
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=sent.date, updated_at=timezone.now()
        )
    return message


def conversation_create(
    *,
    workspace: Workspace,
    to: Sequence[Recipient],
    subject: str,
    content: str,
    inbox_id: uuid.UUID | None = None,
) -> Conversation:
    """A new thread: the first email, to one or more people, from `inbox_id` or else the
    workspace's first active connected inbox (ValidationFailed when it has none; NotFound
    for an inbox that is not the workspace's). Stored in `primary`, with no lead."""
    inbox = _sending_inbox(workspace, inbox_id)
    recipients: dict[str, Recipient] = {}
    for recipient in to:  # an address given twice gets one copy, with its first name
        recipients.setdefault(recipient.email.lower(), recipient)
    sent = email_send(
        inbox=inbox,
        to=[(r.email, r.name) for r in recipients.values()],
        subject=subject,
        html=content,
    )
    with transaction.atomic():
        conversation = Conversation.objects.create(
            workspace=workspace,
            lead=None,
            inbox=inbox,
            subject=sent.subject,
            folder=Conversation.Folder.PRIMARY,
            last_message_at=sent.date,
        )
        _store_sent(workspace.pk, conversation, inbox, sent)
    return conversation


def reply_subject(subject: str) -> str:
    """`Re: ` and the subject without the reply prefixes it had (never `Re: Re: …`), on one
    line (a stranger's subject may hold line breaks) and at most MAX_SUBJECT characters."""
    return f"Re: {without_reply_prefixes(one_line(subject))}".strip()[:MAX_SUBJECT]


def _inbox_of(conversation: Conversation) -> Inbox:
    """The inbox the thread goes through: the conversation's, else the one that emailed the
    lead (its last campaign email's)."""
    if conversation.inbox is not None:
        return conversation.inbox
    if conversation.lead_id is not None:
        inbox_id = (
            Send.objects.filter(
                lead_id=conversation.lead_id, status=Send.Status.SENT, inbox__isnull=False
            )
            .order_by("-sent_at")
            .values_list("inbox_id", flat=True)
            .first()
        )
        if inbox_id is not None:
            found = Inbox.objects.filter(pk=inbox_id, workspace_id=conversation.workspace_id)
            inbox = found.first()
            if inbox is not None:
                return inbox
    raise ValidationFailed(
        "The conversation's inbox was deleted: there is no inbox to reply from.",
        code="no_inbox",
    )


def _sending_inbox(workspace: Workspace, inbox_id: uuid.UUID | None) -> Inbox:
    inboxes = Inbox.objects.filter(workspace=workspace)
    if inbox_id is not None:
        inbox = inboxes.filter(pk=inbox_id).first()
        if inbox is None:
            raise NotFound(f"No inbox {inbox_id}.", details={"inbox_id": [str(inbox_id)]})
        return inbox
    inbox = (
        inboxes.filter(is_active=True, connection_status=Inbox.ConnectionStatus.CONNECTED)
        .order_by("created_at", "pk")
        .first()
    )
    if inbox is None:
        raise ValidationFailed(
            "The workspace has no active connected inbox to send from.",
            code="no_inbox",
            details={"inbox_id": ["No active connected inbox: connect one, or give inbox_id."]},
        )
    return inbox


def _safe_id(message_id: str) -> str:
    value = message_id.strip()
    return value if _SAFE_MESSAGE_ID.fullmatch(value) else ""


def _references(thread: Sequence[threads.Entry], parent: threads.Entry | None) -> list[str]:
    """The parent's References and its Message-ID; when it kept none (a campaign email, a
    client that drops them), the Message-IDs of the thread up to it."""
    if parent is None:
        return []
    chain = list(parent.references)
    if not chain:
        upto = thread[: thread.index(parent)]
        chain = [entry.message_id for entry in upto]
    ids = list(dict.fromkeys(i for i in map(_safe_id, [*chain, parent.message_id]) if i))
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def _store_sent(
    workspace_id: uuid.UUID, conversation: Conversation, inbox: Inbox, sent: SentEmail
) -> Message:
    return Message.objects.create(
        workspace_id=workspace_id,
        conversation=conversation,
        inbox=inbox,
        direction=Message.Direction.OUTGOING,
        message_id=sent.message_id,
        in_reply_to=sent.in_reply_to,
        references=" ".join(sent.references),
        subject=sent.subject,
        from_email=sent.from_email,
        from_name=sent.from_name,
        to_recipients=[{"email": email, "name": name} for email, name in sent.to],
        text_body=sent.text,
        html_body=sent.html,
        email_date=sent.date,
        is_read=True,
    )


# --- Deleting (the back office) ------------------------------------------------------------


@transaction.atomic
def conversation_delete(*, conversation: Conversation) -> None:
    """The conversation, its messages and their attachments' files (once committed). The
    lead and its campaign emails stay."""
    files = list(
        Attachment.objects.filter(message__conversation=conversation)
        .exclude(file="")
        .values_list("file", flat=True)
    )
    Conversation.objects.filter(pk=conversation.pk).delete()
    storage = Attachment._meta.get_field("file").storage  # type: ignore[attr-defined]

    def delete_files() -> None:
        for name in files:
            storage.delete(name)

    transaction.on_commit(delete_files)
