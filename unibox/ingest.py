"""What one incoming email does: threaded to the lead and send it answers, stored, acted on.

`ingest_message` reads one message found in an inbox (by IMAP sync or the demo's Maildir)
and applies its effect, once:

1. Warmup mail (`inboxes.warmup_marks`) and the inbox's own mail are not imported.
2. A bounce (read first, `unibox.bounces`): the send it reports on is found by the quoted
   Message-ID, else by the report's own threading headers, else by the failed address
   among this inbox's recent sends; `lead_bounced` marks it. Bounces are not conversations.
3. Otherwise the message is threaded: its `In-Reply-To`/`References` hold a send's
   Message-ID; else it comes from an address this inbox emailed within THREAD_DAYS with the
   same subject (`Re:`/`AW:`… stripped, `unibox.subjects`); else it answers an email sent
   through the API (an outgoing `Message` it references). Anything else is not imported.
4. A lead's message joins the lead's one conversation: a person's reply moves it to
   `primary` with the classifier's label and calls `lead_reply_received` with the effective
   label (a person's `label_override` wins), and `lead_unsubscribe` when it asks to stop;
   an automatic reply stays in `others` and calls `lead_auto_replied` (out of office pauses
   the lead, left the company stops it). A reply to an API thread joins that thread.

Applying an effect twice is prevented by the database, not by the caller's care: the
message's row is inserted first, unique per (inbox, folder, UIDVALIDITY, UID) and per
(inbox, Message-ID), and the effects run in the same transaction only when the insert
won. A re-sync, a replayed task or two racing workers find the row and do nothing. The
engine's bounce handling is itself idempotent (bounces have no row of their own), given
the report's own date, which is the same on every read.
"""

import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from enum import StrEnum
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Send
from campaigns.sending import services as engine
from inboxes.models import Inbox
from inboxes.warmup_marks import is_warmup_message
from leads.models import Lead
from unibox import mail
from unibox.bounces import Bounce, parse_bounce
from unibox.classify import Classification, classify_message
from unibox.models import Attachment, Conversation
from unibox.models import Message as StoredMessage
from unibox.reply_text import new_text
from unibox.subjects import without_reply_prefixes

logger = logging.getLogger("reachkit.unibox")

# A reply without threading headers is matched to an email this inbox sent this recently.
THREAD_DAYS = 30
# Bounds on what one message may make us store.
MAX_REFERENCES = 100
MAX_RECIPIENTS = 100
MAX_ATTACHMENTS = 50
MAX_HEADER_TEXT = 998
MAX_FILENAME = 200

# No control characters (NUL above all): Message-IDs are looked up and stored.
_MESSAGE_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,500}>")
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')

_AUTO_KINDS = {
    "out_of_office": engine.AutoReply.OUT_OF_OFFICE,
    "left_company": engine.AutoReply.LEFT_COMPANY,
    "other": engine.AutoReply.OTHER,
}


class Outcome(StrEnum):
    """What one message did; the sync counts them."""

    REPLY = "replies"  # a person's reply from a lead
    AUTO_REPLY = "auto_replies"  # an automatic reply from a lead
    BOUNCE = "bounces"  # a bounce report applied to its send
    KEPT = "kept"  # a reply to a conversation started through the API
    NOT_IMPORTED = "not_imported"  # not campaign mail (or a bounce about no send of ours)
    WARMUP = "warmup"  # warmup mail: never a conversation
    DUPLICATE = "duplicates"  # already stored: nothing applied again


@dataclass(frozen=True)
class Location:
    """Where the message was found, and what the server said about it."""

    folder: str = ""
    uidvalidity: int | None = None
    uid: int | None = None
    size: int = 0
    # True when the message passed the size cap: `raw` holds its headers only.
    body_skipped: bool = False
    # The server's arrival time (IMAP INTERNALDATE), for a message without a usable Date.
    received_at: datetime | None = None


@dataclass
class _Thread:
    lead: Lead | None = None
    send: Send | None = None
    conversation: Conversation | None = None  # an API thread (or a lead's, found through it)


def ingest_message(*, inbox: Inbox, raw: bytes, location: Location) -> Outcome:
    """Read one message that arrived in `inbox` and apply what it means (see the module).

    Raises `mail.UnreadableMessage` for bytes that are no email; other errors are bugs or
    database failures, for the caller to log and skip.
    """
    message = mail.parse(raw)
    if not location.size:
        location = replace(location, size=len(raw))
    if is_warmup_message(message):
        return Outcome.WARMUP
    sender_name, sender = _sender(message)
    if sender and sender == inbox.email.lower():
        return Outcome.NOT_IMPORTED  # a copy of our own mail
    date = _email_date(message, location.received_at)

    if not location.body_skipped:
        bounce = parse_bounce(message)
        if bounce.is_bounce:
            return _apply_bounce(inbox, message, bounce, date)

    thread = _thread(inbox, message, sender, date)
    if thread is None:
        return Outcome.NOT_IMPORTED
    message_id = _own_message_id(message, raw)
    if StoredMessage.objects.filter(inbox=inbox, message_id=message_id).exists():
        return Outcome.DUPLICATE  # the insert below would say so too, after classifying it
    classification = classify_message(message)
    stored = _message_row(inbox, message, message_id, location, date, sender, sender_name)
    stored.label = str(classification.label)
    stored.auto_reply_kind = classification.auto_reply.kind if classification.auto_reply else ""
    stored.send = thread.send
    with transaction.atomic():
        conversation = _conversation(inbox, thread, stored)
        stored.conversation = conversation
        stored.workspace_id = conversation.workspace_id
        try:
            with transaction.atomic():
                stored.save(force_insert=True)
        except IntegrityError:
            return Outcome.DUPLICATE
        if not location.body_skipped:
            _store_attachments(stored, message)
        return _apply(conversation, stored, thread, classification)


# --- reading the message ----------------------------------------------------------------------


def _clean(text: str, limit: int | None = None) -> str:
    """Text that PostgreSQL stores (no NUL, no lone surrogate), cut to `limit`."""
    text = text.replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit] if limit is not None else text


def _sender(message: Message) -> tuple[str, str]:
    """(name, address lower-cased) of From; ("", "") when there is none."""
    name, address = parseaddr(mail.header(message, "From"))
    address = address.strip().lower()
    if "@" not in address or len(address) > 254:
        return "", ""
    return name, address


def _message_ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value)[:MAX_REFERENCES]


def _own_message_id(message: Message, raw: bytes) -> str:
    """The message's Message-ID; a message without one gets one derived from its bytes, so
    reading it again (another folder, a new UIDVALIDITY) finds the same row."""
    found = _message_ids(mail.header(message, "Message-ID"))
    if found:
        return _clean(found[0], MAX_HEADER_TEXT)
    digest = hashlib.sha256(raw).hexdigest()[:40]
    return f"<{digest}@no-message-id.reachkit.invalid>"


def _email_date(message: Message, received_at: datetime | None) -> datetime:
    """When the message was written: its Date, never in the future; else the arrival time."""
    now = timezone.now()
    try:
        parsed = parsedate_to_datetime(mail.header(message, "Date"))
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        if parsed.year >= 1980:
            return min(parsed.astimezone(UTC), now)
    return min(received_at, now) if received_at is not None else now


def _recipients(message: Message, name: str) -> list[dict[str, str]]:
    values = message.get_all(name) or []
    try:
        pairs = getaddresses([str(value) for value in values])
    except (TypeError, ValueError, IndexError, RecursionError):  # comments nested deep
        return []
    found = []
    for display, address in pairs[:MAX_RECIPIENTS]:
        if "@" not in address:
            continue
        found.append({"email": _clean(address.strip(), 254), "name": _clean(display, 254)})
    return found


def _message_row(
    inbox: Inbox,
    message: EmailMessage,
    message_id: str,
    location: Location,
    date: datetime,
    sender: str,
    sender_name: str,
) -> StoredMessage:
    _plain, html = (None, None) if location.body_skipped else mail.body_parts(message)
    text = "" if location.body_skipped else mail.body_text(message)
    return StoredMessage(
        inbox=inbox,
        direction=StoredMessage.Direction.INCOMING,
        message_id=message_id,
        in_reply_to=_clean(" ".join(_message_ids(mail.header(message, "In-Reply-To"))), 998),
        references=_clean(" ".join(_message_ids(mail.header(message, "References")))),
        subject=_clean(mail.header(message, "Subject"), MAX_HEADER_TEXT),
        from_email=sender,
        from_name=_clean(sender_name, 254),
        to_recipients=_recipients(message, "To"),
        cc_recipients=_recipients(message, "Cc"),
        text_body=_clean(text),
        # Kept as it came: it is shown only through unibox.display.safe_html.
        html_body=_clean(html or ""),
        new_text="" if location.body_skipped else _clean(new_text(message)),
        email_date=date,
        folder=_clean(location.folder, 255),
        uidvalidity=location.uidvalidity,
        uid=location.uid,
        size=min(location.size, 2**31 - 1),
        body_skipped=location.body_skipped,
    )


def _filename(part: Message, index: int) -> str:
    try:
        name = part.get_filename() or ""
    except (TypeError, ValueError, IndexError, LookupError):
        name = ""
    # The last path segment only: a name is never a path.
    name = re.split(r"[/\\]", _clean(str(name)))[-1]
    name = _UNSAFE_FILENAME.sub("_", name).strip(" .")
    return name[-MAX_FILENAME:] or f"attachment-{index}"


def _attachment_parts(message: Message) -> list[Message]:
    """The message's files: parts given as attachments, or named parts that are not its
    text (an inline image); not those inside an embedded message."""
    found: list[Message] = []
    stack: list[Message] = [message]
    while stack and len(found) < MAX_ATTACHMENTS:
        part = stack.pop(0)
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                stack[0:0] = [child for child in children if isinstance(child, Message)]
            continue
        disposition = part.get_content_disposition()
        named = bool(
            part.get_param("name") or part.get_param("filename", header="content-disposition")
        )
        if disposition == "attachment" or (
            named and part.get_content_type() not in ("text/plain", "text/html")
        ):
            found.append(part)
    return found


def _store_attachments(stored: StoredMessage, message: Message) -> None:
    for index, part in enumerate(_attachment_parts(message), start=1):
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        content_type = _clean(part.get_content_type(), 255)
        attachment = Attachment(
            id=uuid.uuid4(),
            workspace_id=stored.workspace_id,
            message=stored,
            filename=_filename(part, index),
            content_type=content_type if content_type.isascii() else "application/octet-stream",
            size=len(payload),
        )
        attachment.file.save(attachment.filename, ContentFile(payload), save=False)
        attachment.save(force_insert=True)


# --- bounces ----------------------------------------------------------------------------------


def _apply_bounce(inbox: Inbox, message: Message, bounce: Bounce, date: datetime) -> Outcome:
    send = _bounced_send(inbox, message, bounce, date)
    if send is None:
        return Outcome.NOT_IMPORTED
    response = " ".join(part for part in (bounce.status or "", bounce.diagnostic) if part)
    engine.lead_bounced(send=send, hard=bounce.type != "soft", at=date, response=response)
    return Outcome.BOUNCE


def _bounced_send(inbox: Inbox, message: Message, bounce: Bounce, date: datetime) -> Send | None:
    """The send a bounce reports on: by the quoted Message-ID, the report's threading
    headers, or else the failed address among this inbox's recent sends."""
    candidates: list[str] = []
    if bounce.original_message_id:
        candidates += _message_ids(bounce.original_message_id)
    candidates += _message_ids(mail.header(message, "In-Reply-To"))
    candidates += reversed(_message_ids(mail.header(message, "References")))
    if candidates:
        found = engine.sends_by_message_id(workspace_id=inbox.workspace_id, message_ids=candidates)
        for message_id in candidates:
            if message_id in found:
                return found[message_id]
    recipients = [address for address in bounce.recipients if address][:MAX_RECIPIENTS]
    if not recipients:
        return None
    sends = engine.sends_to(
        inbox_id=inbox.pk, addresses=recipients, since=date - timedelta(days=THREAD_DAYS)
    )
    return sends[0] if sends else None


# --- threading --------------------------------------------------------------------------------


def _thread(inbox: Inbox, message: Message, sender: str, date: datetime) -> _Thread | None:
    references = _message_ids(mail.header(message, "In-Reply-To")) + list(
        reversed(_message_ids(mail.header(message, "References")))
    )
    if references:
        sends = engine.sends_by_message_id(workspace_id=inbox.workspace_id, message_ids=references)
        for message_id in references:
            if message_id in sends:
                send = sends[message_id]
                return _Thread(lead=send.lead, send=send)
    if sender:
        subject = _subject_key(mail.header(message, "Subject"))
        for send in engine.sends_to(
            inbox_id=inbox.pk, addresses=[sender], since=date - timedelta(days=THREAD_DAYS)
        ):
            if _subject_key(send.subject) == subject and send.lead.email.lower() == sender:
                return _Thread(lead=send.lead, send=send)
    if references:
        ours = (
            StoredMessage.objects.filter(
                workspace_id=inbox.workspace_id,
                message_id__in=references,
                direction=StoredMessage.Direction.OUTGOING,
            )
            .select_related("conversation__lead")
            .first()
        )
        if ours is not None:
            conversation = ours.conversation
            return _Thread(lead=conversation.lead, conversation=conversation)
    return None


def _subject_key(subject: str) -> str:
    return " ".join(without_reply_prefixes(subject).split()).casefold()


# --- storing and acting -----------------------------------------------------------------------


def _conversation(inbox: Inbox, thread: _Thread, stored: StoredMessage) -> Conversation:
    """The thread's conversation, locked: the lead's one (made on its first message), or
    the API thread it answers."""
    if thread.lead is None:
        assert thread.conversation is not None
        return Conversation.objects.select_for_update().get(pk=thread.conversation.pk)
    lead = thread.lead
    existing = Conversation.objects.select_for_update().filter(lead=lead).first()
    if existing is not None:
        return existing
    inbox_id = thread.send.inbox_id if thread.send and thread.send.inbox_id else inbox.pk
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                workspace_id=lead.workspace_id,
                lead=lead,
                inbox_id=inbox_id,
                subject=stored.subject,
                folder=Conversation.Folder.OTHERS,
                last_message_at=stored.email_date,
            )
    except IntegrityError:  # another worker made it first
        return Conversation.objects.select_for_update().get(lead=lead)


def _apply(
    conversation: Conversation,
    stored: StoredMessage,
    thread: _Thread,
    classification: Classification,
) -> Outcome:
    updates: dict[str, Any] = {"updated_at": timezone.now()}
    # An older message read late (the Junk folder is read after INBOX) tells nothing newer:
    # the label stays the latest reply's.
    latest = stored.email_date >= conversation.last_message_at
    if latest:
        updates["last_message_at"] = stored.email_date
        if stored.subject:
            updates["subject"] = stored.subject
    human = not classification.is_auto_reply
    if human:
        updates["folder"] = Conversation.Folder.PRIMARY
        if latest or conversation.folder == Conversation.Folder.OTHERS:
            updates["label"] = stored.label
    elif latest and conversation.folder == Conversation.Folder.OTHERS:
        # A person's reply's label is not replaced by a later out-of-office.
        updates["label"] = stored.label
    Conversation.objects.filter(pk=conversation.pk).update(**updates)

    lead = thread.lead
    if lead is None:
        return Outcome.KEPT
    if not human:
        assert classification.auto_reply is not None
        auto = classification.auto_reply
        engine.lead_auto_replied(
            lead=lead,
            kind=_AUTO_KINDS.get(auto.kind, engine.AutoReply.OTHER),
            received_at=stored.email_date,
            back_on=auto.return_date,
        )
        return Outcome.AUTO_REPLY
    label = conversation.label_override or updates.get("label", conversation.label)
    engine.lead_reply_received(
        lead=lead,
        received_at=stored.email_date,
        send=thread.send,
        label=label,
        is_positive=label in Conversation.POSITIVE_LABELS,
    )
    if classification.label == Conversation.Label.UNSUBSCRIBE:
        # A request to hear no more is honoured whatever label a person set earlier.
        engine.lead_unsubscribe(lead=lead)
    return Outcome.REPLY
