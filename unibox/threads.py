"""A conversation's messages as the API shows them, oldest first.

A lead's conversation holds the campaign emails the lead got, which are its sent rows
(`campaigns.Send`: the subject and Message-ID as they went, the bodies rendered again by the
sending engine, `sends_rendered`), and the `Message` rows: what came back, and what was sent
through the API. A conversation started through the API holds only `Message` rows.

Lists load every page's threads in a fixed number of queries (`with_threads`, then
`attach_threads`): the conversations with their leads, their messages, those messages'
attachments, the leads' sent rows, and the variants, inboxes and campaigns to render them.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from campaigns.models import Send
from campaigns.sending.services import sends_rendered
from unibox.display import safe_html
from unibox.models import Attachment, Conversation, Message


@dataclass(frozen=True)
class Entry:
    """One message of a thread: a `Message` row or a campaign email (a sent row)."""

    direction: str
    inbox_id: uuid.UUID | None
    subject: str
    text_body: str
    html_body: str
    from_email: str
    from_name: str
    to_recipients: list[dict[str, str]]
    cc_recipients: list[dict[str, str]]
    bcc_recipients: list[dict[str, str]]
    email_date: datetime
    is_read: bool
    attachments: Sequence[Attachment] = ()
    # For threading a reply: the message's own Message-ID and the ids it answered.
    message_id: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)


def with_threads(queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """The conversations with what `attach_threads` reads, prefetched."""
    return queryset.select_related("lead").prefetch_related(
        Prefetch(
            "messages",
            queryset=Message.objects.order_by("email_date", "created_at", "pk").prefetch_related(
                Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "pk"))
            ),
        ),
        Prefetch(
            "lead__sends",
            queryset=Send.objects.filter(status=Send.Status.SENT, sent_at__isnull=False).order_by(
                "sent_at", "pk"
            ),
            to_attr="sent_rows",
        ),
    )


def attach_threads(conversations: Iterable[Conversation]) -> None:
    """Set each conversation's `thread`: its entries, oldest first. The conversations come
    from `with_threads`; the campaign emails of them all are rendered together."""
    rows = list(conversations)
    sends = [send for conversation in rows for send in _sent_rows(conversation)]
    content = sends_rendered(sends=sends) if sends else {}
    for conversation in rows:
        entries: list[tuple[tuple[Any, ...], Entry]] = []
        for send in _sent_rows(conversation):
            assert send.sent_at is not None
            shown = content[send.pk]
            lead = conversation.lead
            assert lead is not None
            entry = Entry(
                direction=Message.Direction.OUTGOING,
                inbox_id=send.inbox_id,
                subject=shown.subject,
                text_body=shown.text,
                html_body=shown.html,
                from_email=send.from_email,
                from_name="",
                to_recipients=[{"email": send.to_email, "name": lead.full_name}],
                cc_recipients=[],
                bcc_recipients=[],
                email_date=send.sent_at,
                is_read=conversation.campaign_emails_read,
                message_id=send.message_id,
            )
            entries.append(((send.sent_at, 0, send.created_at, send.pk), entry))
        for message in conversation.messages.all():
            entries.append(
                ((message.email_date, 1, message.created_at, message.pk), entry_of(message))
            )
        entries.sort(key=lambda item: item[0])
        conversation.thread = [entry for _, entry in entries]  # type: ignore[attr-defined]


def thread_of(conversation: Conversation) -> list[Entry]:
    """One conversation's entries, oldest first (loaded now)."""
    loaded = with_threads(Conversation.objects.filter(pk=conversation.pk)).get()
    attach_threads([loaded])
    return loaded.thread  # type: ignore[attr-defined,no-any-return]


def _sent_rows(conversation: Conversation) -> list[Send]:
    if conversation.lead is None:
        return []
    return getattr(conversation.lead, "sent_rows", [])


def _recipients(value: Any) -> list[dict[str, str]]:
    """Stored recipients as the API shows them: `{"email", "name"}`, both strings."""
    if not isinstance(value, list):
        return []
    shown = []
    for item in value:
        if isinstance(item, dict):
            shown.append(
                {"email": str(item.get("email") or ""), "name": str(item.get("name") or "")}
            )
    return shown


def entry_of(message: Message) -> Entry:
    """A `Message` row as an entry of its thread."""
    incoming = message.direction == Message.Direction.INCOMING
    return Entry(
        direction=message.direction,
        inbox_id=message.inbox_id,
        subject=message.subject,
        text_body=message.text_body,
        # Sanitised when stored; again on the way out, whoever stored it.
        html_body=safe_html(message.html_body) if incoming else message.html_body,
        from_email=message.from_email,
        from_name=message.from_name,
        to_recipients=_recipients(message.to_recipients),
        cc_recipients=_recipients(message.cc_recipients),
        bcc_recipients=_recipients(message.bcc_recipients),
        email_date=message.email_date,
        is_read=message.is_read,
        attachments=list(message.attachments.all()),
        message_id=message.message_id,
        references=tuple(message.references.split()),
    )
