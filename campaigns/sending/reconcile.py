"""Settling `unknown` sends: the connection broke after DATA, so the email may have left.

Such a row is never sent again blindly. Once the server has had time to file it, the
inbox's Sent folder is searched for the row's Message-ID over IMAP: found means `sent`
(and the lead moves on), not found means `failed`. A row that cannot be checked now (IMAP
unreachable) is tried again on later passes, and failed after a few days; one whose inbox
has no IMAP at all (or was deleted) is failed at once.
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from imapclient.exceptions import IMAPClientError

from campaigns.models import Send
from campaigns.sending import outbox
from inboxes import connection
from inboxes.connection import ConnectionCheckFailed
from inboxes.models import Inbox

logger = logging.getLogger("reachkit.reconcile")

GIVE_UP_AFTER = timedelta(days=3)
BATCH = 100


def reconcile_unknown() -> dict[str, int]:
    """Settle up to BATCH unknown rows, oldest first; returns how many went each way."""
    now = timezone.now()
    counts = {"sent": 0, "failed": 0}
    Send.objects.filter(status=Send.Status.UNKNOWN, attempted_at__lt=now - GIVE_UP_AFTER).update(
        status=Send.Status.FAILED, smtp_response="outcome unknown: could not be checked in time"
    )
    rows = list(
        Send.objects.filter(
            status=Send.Status.UNKNOWN,
            attempted_at__lte=now - timedelta(seconds=settings.SEND_RECONCILE_AFTER_SECONDS),
        )
        .select_related("inbox", "campaign")
        .order_by("attempted_at")[:BATCH]
    )
    by_inbox: dict[Inbox | None, list[Send]] = defaultdict(list)
    for send in rows:
        by_inbox[send.inbox].append(send)
    for inbox, sends in by_inbox.items():
        checkable = inbox is not None and bool(inbox.imap_host)
        found = _find_in_sent(inbox, sends) if inbox is not None and checkable else set()
        if found is None:
            continue  # could not look: try again next pass
        why_failed = (
            "outcome unknown: not found in the Sent folder"
            if checkable
            else "outcome unknown: the inbox has no IMAP to check, so it is not sent again"
        )
        for send in sends:
            if send.message_id in found:
                outbox.record_sent(
                    send,
                    code=None,
                    response="found in the Sent folder",
                    subject=None,
                    now=send.attempted_at or now,
                    from_status=Send.Status.UNKNOWN,
                )
                counts["sent"] += 1
            else:
                Send.objects.filter(pk=send.pk, status=Send.Status.UNKNOWN).update(
                    status=Send.Status.FAILED,
                    smtp_response=why_failed,
                )
                counts["failed"] += 1
    if rows:
        logger.info("reconciled unknown sends", extra=counts)
    return counts


def _find_in_sent(inbox: Inbox, sends: list[Send]) -> set[str] | None:
    """The Message-IDs among `sends` that the inbox's Sent folder holds; None if unreachable."""
    timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
    try:
        with connection.imap_session(inbox.imap_settings(), timeout=timeout) as client:
            client.select_folder(inbox.sent_folder or "Sent", readonly=True)
            return {
                send.message_id
                for send in sends
                if client.search(["HEADER", "Message-ID", send.message_id])
            }
    except (ConnectionCheckFailed, IMAPClientError, OSError) as error:
        logger.warning(
            "could not check the Sent folder", extra={"inbox": str(inbox.pk), "error": str(error)}
        )
        return None
