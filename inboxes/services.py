"""The inboxes' rules: adding a mailbox, checking its connection, editing and removing it."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from inboxes import connection, warmup
from inboxes.connection import ConnectionCheckFailed, ServerSettings
from inboxes.models import Inbox
from reachkit import mx
from reachkit.emails import email_domain
from reachkit.errors import Conflict, NotFound
from reachkit.models import Workspace
from reachkit.webhooks.events import emit
from reachkit.webhooks.models import EventType

logger = logging.getLogger("reachkit.inboxes")

# Inboxes know only these providers (ESP matching pairs them with leads); the others,
# Yahoo and Zoho included, are "other".
INBOX_PROVIDERS = {Inbox.Provider.GOOGLE, Inbox.Provider.MICROSOFT}

# A check queued or claimed longer ago than this was lost (its message, or its worker: the
# task's hard time limit is shorter): a new check may be queued.
STALE_CHECK = timedelta(minutes=3)

# The fields PATCH /inboxes/:id may change.
EDITABLE_FIELDS = (
    "is_active",
    "is_warming",
    "first_name",
    "last_name",
    "reply_to",
    "signature",
    "daily_campaign_limit",
    "daily_warmup_limit",
)

# The server settings: changed, with the address, only by inbox_connection_update, which
# checks them anew.
CONNECTION_FIELDS = (
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "smtp_password",
    "smtp_security",
    "imap_host",
    "imap_port",
    "imap_username",
    "imap_password",
    "imap_security",
)


def inbox_provider(*, domain: str, smtp_host: str, current: str | None = None) -> str:
    """google or microsoft when the domain's MX, or else the SMTP host, belongs to them.

    When DNS cannot answer, the SMTP host decides; failing that, a provider found before
    (`current`) is kept rather than forgotten over a passing DNS outage.
    """
    try:
        by_mx = mx.provider_for_mx(mx.resolve_mx(domain))
    except mx.DnsLookupFailed:
        by_mx = None
    if by_mx in INBOX_PROVIDERS:
        return by_mx
    by_host = mx.provider_for_host(smtp_host) if smtp_host else mx.OTHER
    if by_host in INBOX_PROVIDERS:
        return by_host
    if by_mx is None and current:
        return current
    return Inbox.Provider.OTHER


def inbox_create(
    *,
    workspace: Workspace,
    email: str,
    smtp: ServerSettings,
    imap: ServerSettings,
    first_name: str = "",
    last_name: str = "",
) -> Inbox:
    """Add an IMAP/SMTP mailbox as `pending` and queue its connection check.

    Raises Conflict when the workspace already has an inbox with this address.
    """
    email = email.strip().lower()
    if Inbox.objects.filter(workspace=workspace, email=email).exists():
        raise _duplicate(email)
    domain = email_domain(email)
    inbox = Inbox(
        workspace=workspace,
        email=email,
        domain=domain,
        provider=inbox_provider(domain=domain, smtp_host=smtp.host),
        connection_type=Inbox.ConnectionType.IMAP_SMTP,
        connection_status=Inbox.ConnectionStatus.PENDING,
        first_name=first_name,
        last_name=last_name,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_username=smtp.username,
        smtp_password=smtp.password,
        smtp_security=smtp.security,
        imap_host=imap.host,
        imap_port=imap.port,
        imap_username=imap.username,
        imap_password=imap.password,
        imap_security=imap.security,
    )
    try:
        with transaction.atomic():
            inbox.save(force_insert=True)
            _enqueue_check(inbox.pk)
    except IntegrityError:
        # A concurrent request added the same address first.
        raise _duplicate(email) from None
    return inbox


@transaction.atomic
def inbox_connect_sink(
    *,
    workspace: Workspace,
    email: str,
    host: str,
    port: int,
    first_name: str = "",
    last_name: str = "",
) -> tuple[Inbox, bool]:
    """Development only (`make run`'s demo): an inbox that sends to a local mail sink.

    The sink speaks plain SMTP (security none, any login) and has no IMAP. The connection
    check logs in to both servers, so it would fail: the inbox is set `connected` directly,
    without a check. Sending needs no IMAP: mail is copied to a Sent folder only for inboxes
    that have an IMAP server. Created once per address; each call points it at `host`:`port`
    again and marks it connected. Returns the inbox and whether it is new.
    """
    email = email.strip().lower()
    sink = {
        "smtp_host": host,
        "smtp_port": port,
        "smtp_username": email,
        "smtp_password": "sink",  # the sink takes any login
        "smtp_security": Inbox.Security.NONE,
        "connection_status": Inbox.ConnectionStatus.CONNECTED,
        "connection_error": "",
    }
    inbox = Inbox.objects.select_for_update().filter(workspace=workspace, email=email).first()
    if inbox is not None:
        for name, value in sink.items():
            setattr(inbox, name, value)
        inbox.save(update_fields=[*sink, "updated_at"])
        return inbox, False
    inbox = Inbox.objects.create(
        workspace=workspace,
        email=email,
        domain=email_domain(email),
        provider=Inbox.Provider.OTHER,
        connection_type=Inbox.ConnectionType.IMAP_SMTP,
        first_name=first_name,
        last_name=last_name,
        **sink,
    )
    return inbox, True


def _duplicate(email: str) -> Conflict:
    return Conflict(
        f"An inbox for {email} already exists in this workspace.",
        code="inbox_exists",
        details={"email": ["An inbox with this email already exists."]},
    )


def inbox_lock(inbox: Inbox) -> Inbox:
    """The inbox row as it is now, locked until the transaction ends; NotFound when it was
    deleted meanwhile. Deleting an inbox takes it first, so a write that waited finds it gone."""
    locked = Inbox.objects.select_for_update().filter(pk=inbox.pk).first()
    if locked is None:
        raise NotFound()
    return locked


@transaction.atomic
def inbox_update(*, inbox: Inbox, changes: dict[str, Any]) -> Inbox:
    """Apply already-validated editable settings; other keys are ignored."""
    inbox = inbox_lock(inbox)
    fields = [name for name in EDITABLE_FIELDS if name in changes]
    for name in fields:
        setattr(inbox, name, changes[name])
    if fields:
        inbox.save(update_fields=[*fields, "updated_at"])
    return inbox


@transaction.atomic
def inbox_connection_update(*, inbox: Inbox, changes: dict[str, Any]) -> Inbox:
    """Apply an already-validated address and server settings (other keys are ignored), and
    check them anew.

    A new address is normalised and must be the workspace's only inbox with it (Conflict),
    as in inbox_create; its domain follows. The inbox is `pending` until a check has logged
    in with the new settings. A check that was running read the old ones: its outcome is
    dropped, as it records only over the `validating` it claimed.
    """
    inbox = inbox_lock(inbox)
    fields = [name for name in CONNECTION_FIELDS if name in changes]
    if "email" in changes:
        email = changes["email"].strip().lower()
        duplicate = Inbox.objects.filter(workspace_id=inbox.workspace_id, email=email)
        if duplicate.exclude(pk=inbox.pk).exists():
            raise _duplicate(email)
        inbox.email, inbox.domain = email, email_domain(email)
        fields += ["email", "domain"]
    if not fields:
        return inbox
    for name in CONNECTION_FIELDS:
        if name in changes:
            setattr(inbox, name, changes[name])
    inbox.connection_status = Inbox.ConnectionStatus.PENDING
    try:
        with transaction.atomic():
            inbox.save(update_fields=[*fields, "connection_status", "updated_at"])
    except IntegrityError:
        # A concurrent request took the address first.
        raise _duplicate(inbox.email) from None
    _enqueue_check(inbox.pk)
    return inbox


def inbox_delete(*, inbox: Inbox) -> None:
    """Remove an inbox: detached from its campaigns, which stay as they are.

    Locked first: a campaign attaching it meanwhile (it locks the inbox too) either ends
    before, and its link is removed here, or waits and finds the inbox gone.
    """
    with transaction.atomic():
        inbox = inbox_lock(inbox)
        inbox.campaigns.clear()
        inbox.delete()


def inbox_request_check(*, inbox: Inbox) -> Inbox:
    """Queue a new connection check, unless one is queued or running already.

    One check per inbox at a time: while one is `pending` or `validating`, asking again
    queues nothing (a client calling in a loop costs one check), unless that check is
    stale (STALE_CHECK). One conditional UPDATE decides, so concurrent requests queue one.
    """
    now = timezone.now()
    in_progress = Q(
        connection_status__in=(Inbox.ConnectionStatus.PENDING, Inbox.ConnectionStatus.VALIDATING),
        updated_at__gt=now - STALE_CHECK,
    )
    with transaction.atomic():
        queued = (
            Inbox.objects.filter(pk=inbox.pk)
            .exclude(in_progress)
            .update(connection_status=Inbox.ConnectionStatus.PENDING, updated_at=now)
        )
        if queued:
            _enqueue_check(inbox.pk)
    try:
        inbox.refresh_from_db(fields=["connection_status", "connection_error", "updated_at"])
    except Inbox.DoesNotExist:  # deleted meanwhile
        raise NotFound() from None
    return inbox


def _enqueue_check(inbox_id: uuid.UUID) -> None:
    from inboxes.tasks import inbox_check_connection_task

    # robust: the inbox is saved, `pending`; with the broker down the answer must not be a 500
    # (a retried POST would find the address taken); POST /inboxes/:id/test runs it again.
    transaction.on_commit(lambda: inbox_check_connection_task.delay(str(inbox_id)), robust=True)


@dataclass(frozen=True)
class CheckOutcome:
    connected: bool
    error: str = ""
    sent_folder: str = ""
    junk_folder: str = ""


def inbox_check_connection(*, inbox_id: uuid.UUID) -> None:
    """Log in to the inbox's servers and record the outcome.

    1. Claim the check: pending → validating, in one conditional UPDATE. No row
       updated means another run has it, or the inbox is gone: nothing to do.
    2. Log in to SMTP, then IMAP, outside any transaction (network time).
    3. Record connected, or error with a readable `connection_error`, unless the
       inbox changed hands meanwhile (deleted, or a new check requested).
    """
    claimed = Inbox.objects.filter(
        pk=inbox_id, connection_status=Inbox.ConnectionStatus.PENDING
    ).update(connection_status=Inbox.ConnectionStatus.VALIDATING, updated_at=timezone.now())
    if not claimed:
        return
    inbox = Inbox.objects.get(pk=inbox_id)
    provider = inbox_provider(
        domain=inbox.domain, smtp_host=inbox.smtp_host, current=inbox.provider
    )
    outcome = _run_checks(inbox)
    now = timezone.now()
    with transaction.atomic():
        recorded = Inbox.objects.filter(
            pk=inbox_id, connection_status=Inbox.ConnectionStatus.VALIDATING
        ).update(
            connection_status=(
                Inbox.ConnectionStatus.CONNECTED
                if outcome.connected
                else Inbox.ConnectionStatus.ERROR
            ),
            connection_error=outcome.error,
            connection_checked_at=now,
            provider=provider,
            sent_folder=outcome.sent_folder or inbox.sent_folder,
            junk_folder=outcome.junk_folder or inbox.junk_folder,
            updated_at=now,
        )
        # The last check's error is kept until a check connects: it says an error came before.
        if recorded and not outcome.connected:
            _emit_connection_event(inbox, EventType.INBOX_ERROR, outcome.error)
        elif recorded and inbox.connection_error:
            _emit_connection_event(inbox, EventType.INBOX_RECOVERED, "")
    logger.info(
        "inbox connection checked",
        extra={
            "inbox": str(inbox_id),
            "connection_status": "connected" if outcome.connected else "error",
        },
    )


def inbox_mark_error(*, inbox: Inbox, error: str) -> None:
    """The inbox can no longer send (its server refused the login): nothing uses it until
    a new check connects it again."""
    now = timezone.now()
    with transaction.atomic():
        before = (
            Inbox.objects.select_for_update()
            .filter(pk=inbox.pk)
            .values_list("connection_status", flat=True)
            .first()
        )
        Inbox.objects.filter(pk=inbox.pk).update(
            connection_status=Inbox.ConnectionStatus.ERROR,
            connection_error=error,
            connection_checked_at=now,
            updated_at=now,
        )
        if before is not None and before != Inbox.ConnectionStatus.ERROR:
            _emit_connection_event(inbox, EventType.INBOX_ERROR, error)
    logger.warning("inbox login refused while sending", extra={"inbox": str(inbox.pk)})


def _emit_connection_event(inbox: Inbox, type: EventType, error: str) -> None:
    emit(
        workspace_id=inbox.workspace_id,
        type=type,
        payload={"inbox_id": inbox.pk, "inbox_email": inbox.email, "error": error},
        ordering_key=inbox.pk,
    )


def _run_checks(inbox: Inbox) -> CheckOutcome:
    """SMTP then IMAP, both within one deadline (INBOX_CHECK_DEADLINE_SECONDS)."""
    timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
    errors: list[str] = []
    folders = connection.ImapFolders(sent="", junk="")
    with connection.Deadline(float(settings.INBOX_CHECK_DEADLINE_SECONDS)) as deadline:
        try:
            connection.check_smtp(inbox.smtp_settings(), timeout=timeout, deadline=deadline)
        except ConnectionCheckFailed as failure:
            errors.append(failure.message)
        except Exception as error:  # a bug must not leave the inbox in "validating"
            errors.append(_unexpected("SMTP", error))
        try:
            folders = connection.check_imap(
                inbox.imap_settings(), timeout=timeout, deadline=deadline
            )
        except ConnectionCheckFailed as failure:
            errors.append(failure.message)
        except Exception as error:
            errors.append(_unexpected("IMAP", error))
    if errors:
        return CheckOutcome(connected=False, error="; ".join(errors))
    return CheckOutcome(connected=True, sent_folder=folders.sent, junk_folder=folders.junk)


def _unexpected(protocol: str, error: Exception) -> str:
    # The type only: an exception's text could quote a credential.
    logger.error("inbox check crashed", extra={"protocol": protocol, "error": type(error).__name__})
    return f"{protocol} check failed unexpectedly ({type(error).__name__}); try again"


def inbox_warmup_stats(*, inbox: Inbox, now: datetime | None = None) -> dict[str, Any]:
    """The last 7 days of warmup, oldest first, ending today (UTC), counted from the warmup
    rows (inboxes/warmup.py), with the warmup's status and today's target."""
    return warmup.warmup_stats(inbox, now or timezone.now())
