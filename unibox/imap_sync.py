"""Reading each connected inbox's new mail, for `unibox.ingest` to thread and act on.

For each inbox, one sync at a time across all workers:

1. Claim its `InboxSync` row: `SELECT … FOR UPDATE SKIP LOCKED`, then `claimed_until` (a
   lease renewed after every batch); a claim held by another worker means "busy", one past
   its lease died with its worker.
2. Log in through the inbox connection check's guarded path (`inboxes.connection`: the
   host's addresses checked against `REACHKIT_INBOX_ALLOWED_NETWORKS`, TLS verified).
   Refused credentials put the inbox in `error` with a readable reason, as the sender
   does; a network error is recorded and retried on the next tick.
3. Read INBOX and the Junk folder (found by its special-use flag, as the connection check
   finds it) with EXAMINE (read-only) and `BODY.PEEK[]`: nothing is marked `\\Seen`.
   Each folder is read by UID from where the last sync stopped; the first sync of a folder
   (or after its UIDVALIDITY changed) reads the last `REACHKIT_SYNC_SINCE_DAYS` days, and a
   message read twice is found by its Message-ID, never stored twice.
4. Batches: sizes first (`RFC822.SIZE`), then the bodies of those under the cap, in chunks
   of bounded bytes; a larger message is fetched as headers only and recorded without its
   body. After each batch the folder's last UID is saved, so a pass cut short (time budget,
   a dead connection) goes on where it stopped.
5. One message that cannot be read or ingested is logged and skipped; the rest go on.

Inboxes without an IMAP server that `make run`'s demo feeds through a Maildir (see
`unibox.maildir`) go through the same claim and the same ingest.
"""

import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from inboxes import connection
from inboxes.connection import ConnectionCheckFailed
from inboxes.models import Inbox
from inboxes.services import inbox_mark_error
from unibox import maildir
from unibox.ingest import Location, Outcome, ingest_message
from unibox.mail import UnreadableMessage
from unibox.models import InboxSync

logger = logging.getLogger("reachkit.unibox")

# A claim lasts this long unless renewed (after every batch); longer than the sync task's
# hard time limit, so a live sync never loses it.
CLAIM_LEASE = timedelta(minutes=10)
# UIDs per FETCH of sizes, and bytes (or messages) per FETCH of bodies.
SIZE_BATCH = 500
BODY_CHUNK_BYTES = 16 * 1024 * 1024
BODY_CHUNK_MESSAGES = 200

COUNTS = (
    "inboxes",
    "messages",
    *(outcome.value for outcome in Outcome),
    "errors",
    "failed",
    "busy",
)


def new_counts() -> Counter[str]:
    return Counter(dict.fromkeys(COUNTS, 0))


class _LostClaim(Exception):
    """Our claim expired and another worker took the inbox: stop at once."""


class _Network(Exception):
    """The server went away mid-sync: what is saved stays, the next tick goes on."""


# --- which inboxes ----------------------------------------------------------------------------


def syncable_inboxes() -> "Q":
    """Inboxes to sync: connected, with an IMAP server (or the demo's Maildir)."""
    with_imap = Q(connection_type=Inbox.ConnectionType.IMAP_SMTP) & ~Q(imap_host="")
    if settings.SYNC_DEMO_MAILDIR is not None:
        with_imap |= Q(imap_host="")
    return Q(connection_status=Inbox.ConnectionStatus.CONNECTED) & with_imap


def inboxes_due(*, now: datetime | None = None) -> list[uuid.UUID]:
    """The inboxes whose sync should be queued now: syncable, and not being synced."""
    now = now or timezone.now()
    busy = InboxSync.objects.filter(claimed_until__gt=now).values("inbox_id")
    return list(
        Inbox.objects.filter(syncable_inboxes())
        .exclude(pk__in=busy)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def sync_inboxes(*, inbox_id: uuid.UUID | None = None) -> Counter[str]:
    """One synchronous pass over every syncable inbox (or just `inbox_id`): the counts."""
    counts = new_counts()
    inboxes = Inbox.objects.filter(syncable_inboxes()).order_by("pk")
    if inbox_id is not None:
        inboxes = inboxes.filter(pk=inbox_id)
    for pk in inboxes.values_list("pk", flat=True):
        try:
            counts.update(sync_inbox(inbox_id=pk))
        except Exception:  # a bug or a server that answers nonsense: the others still go
            counts["failed"] += 1
            logger.exception("inbox sync crashed", extra={"inbox": str(pk)})
    return counts


# --- one inbox --------------------------------------------------------------------------------


def sync_inbox(*, inbox_id: uuid.UUID, budget_seconds: float | None = None) -> Counter[str]:
    """Sync one inbox if no one else is (see the module); the counts of what it did."""
    counts = new_counts()
    inbox = Inbox.objects.filter(pk=inbox_id).filter(syncable_inboxes()).first()
    if inbox is None:
        return counts
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    state = _claim(inbox.pk, worker)
    if state is None:
        counts["busy"] += 1
        return counts
    counts["inboxes"] += 1
    run = _Run(inbox, state, worker, counts, budget_seconds)
    error = ""
    try:
        if inbox.imap_host:
            run.imap()
        else:
            run.maildir()
    except ConnectionCheckFailed as failure:
        error = failure.message
        counts["failed"] += 1
        if failure.authentication:
            inbox_mark_error(inbox=inbox, error=failure.message)
        logger.warning("inbox sync failed", extra={"inbox": str(inbox.pk), "error": error})
    except _Network as failure:
        error = str(failure)
        counts["failed"] += 1
        logger.warning("inbox sync interrupted", extra={"inbox": str(inbox.pk), "error": error})
    except _LostClaim:
        logger.warning("inbox sync lost its claim", extra={"inbox": str(inbox.pk)})
        return counts
    finally:
        _release(inbox.pk, worker, run.folders, error)
    return counts


def _claim(inbox_id: uuid.UUID, worker: str) -> InboxSync | None:
    """The inbox's sync row, claimed for `worker`; None while another worker holds it."""
    InboxSync.objects.get_or_create(inbox_id=inbox_id)
    now = timezone.now()
    with transaction.atomic():
        row = (
            InboxSync.objects.select_for_update(skip_locked=True)
            .filter(inbox_id=inbox_id)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .first()
        )
        if row is None:
            return None
        # The conditional UPDATE decides where SKIP LOCKED does not exist (SQLite).
        taken = (
            InboxSync.objects.filter(inbox_id=inbox_id)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claimed_by=worker, claimed_until=now + CLAIM_LEASE)
        )
    return row if taken else None


def _release(inbox_id: uuid.UUID, worker: str, folders: dict[str, Any], error: str) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {
        "claimed_by": "",
        "claimed_until": None,
        "folders": folders,
        "last_synced_at": now,
        "last_error": error,
    }
    updated = InboxSync.objects.filter(inbox_id=inbox_id, claimed_by=worker).update(**fields)
    if updated:
        InboxSync.objects.filter(inbox_id=inbox_id, first_synced_at__isnull=True).update(
            first_synced_at=now
        )


class _Run:
    """One claimed sync of one inbox."""

    def __init__(
        self,
        inbox: Inbox,
        state: InboxSync,
        worker: str,
        counts: Counter[str],
        budget_seconds: float | None,
    ) -> None:
        self.inbox = inbox
        self.worker = worker
        self.counts = counts
        self.folders: dict[str, Any] = dict(state.folders or {})
        self.ends_at = None if budget_seconds is None else time.monotonic() + budget_seconds

    @property
    def out_of_time(self) -> bool:
        return self.ends_at is not None and time.monotonic() >= self.ends_at

    def save(self) -> None:
        """The folders' progress, and the claim renewed; _LostClaim if it is no longer ours."""
        renewed = InboxSync.objects.filter(inbox_id=self.inbox.pk, claimed_by=self.worker).update(
            folders=self.folders, claimed_until=timezone.now() + CLAIM_LEASE
        )
        if not renewed:
            raise _LostClaim()

    def ingest(self, raw: bytes, location: Location) -> None:
        """One message; whatever goes wrong with it is logged and counted, never raised."""
        self.counts["messages"] += 1
        try:
            outcome = ingest_message(inbox=self.inbox, raw=raw, location=location)
        except SoftTimeLimitExceeded:
            raise  # the task's time is up: the claim is released on the way out
        except UnreadableMessage as error:
            self.counts["errors"] += 1
            logger.warning(
                "unreadable message skipped",
                extra={"inbox": str(self.inbox.pk), "uid": location.uid, "error": str(error)},
            )
            return
        except Exception:
            self.counts["errors"] += 1
            logger.exception(
                "message skipped",
                extra={"inbox": str(self.inbox.pk), "folder": location.folder, "uid": location.uid},
            )
            return
        self.counts[outcome.value] += 1

    # --- IMAP ---------------------------------------------------------------------------------

    def imap(self) -> None:
        timeout = float(settings.INBOX_CONNECT_TIMEOUT_SECONDS)
        with connection.imap_session(self.inbox.imap_settings(), timeout=timeout) as client:
            try:
                for folder in self._folders(client):
                    if self.out_of_time:
                        break
                    self._sync_folder(client, folder)
            except (IMAPClientError, OSError) as error:
                raise _Network(_network_words(error)) from None

    def _folders(self, client: IMAPClient) -> list[str]:
        """INBOX and the Junk folder (by its special-use flag, else its usual names)."""
        junk = connection.special_use_folders(client.list_folders()).junk
        return ["INBOX", junk] if junk and junk.upper() != "INBOX" else ["INBOX"]

    def _sync_folder(self, client: IMAPClient, folder: str) -> None:
        selected = client.select_folder(folder, readonly=True)
        uidvalidity = int(selected[b"UIDVALIDITY"])
        uidnext = selected.get(b"UIDNEXT")
        state = self.folders.get(folder)
        if not isinstance(state, dict) or state.get("uidvalidity") != uidvalidity:
            # New, or renumbered: read the window again; what was stored is found by its
            # Message-ID.
            since = timezone.now().date() - timedelta(days=settings.SYNC_SINCE_DAYS)
            state = {"uidvalidity": uidvalidity, "last_uid": 0, "since": since.isoformat()}
            self.folders[folder] = state
        last_uid = int(state["last_uid"])
        criteria: list[Any] = ["UID", f"{last_uid + 1}:*"]
        if "since" in state:
            criteria += ["SINCE", date.fromisoformat(state["since"])]
        uids = sorted(uid for uid in client.search(criteria) if uid > last_uid)
        for start in range(0, len(uids), SIZE_BATCH):
            if self.out_of_time:
                self.save()
                return
            batch = uids[start : start + SIZE_BATCH]
            self._fetch_batch(client, folder, uidvalidity, batch)
            state["last_uid"] = batch[-1]
            self.save()
        # The whole window was read: from now on, only what comes after.
        state.pop("since", None)
        if uidnext:
            state["last_uid"] = max(int(state["last_uid"]), int(uidnext) - 1)
        self.save()

    def _fetch_batch(
        self, client: IMAPClient, folder: str, uidvalidity: int, uids: list[int]
    ) -> None:
        described = client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE"])
        cap = settings.SYNC_MAX_MESSAGE_BYTES
        whole: list[tuple[int, int]] = []
        for uid in uids:
            data = described.get(uid)
            if data is None:  # expunged meanwhile
                continue
            size = int(data.get(b"RFC822.SIZE") or 0)
            if size > cap:
                self._fetch_headers(client, folder, uidvalidity, uid, size, data)
            else:
                whole.append((uid, size))
        for chunk in _chunks(whole):
            bodies = client.fetch([uid for uid, _ in chunk], ["BODY.PEEK[]"])
            for uid, size in chunk:
                data = bodies.get(uid)
                raw = data.get(b"BODY[]") if data else None
                if not isinstance(raw, bytes):
                    continue
                location = Location(
                    folder=folder,
                    uidvalidity=uidvalidity,
                    uid=uid,
                    size=size or len(raw),
                    received_at=_aware(described[uid].get(b"INTERNALDATE")),
                )
                self.ingest(raw, location)

    def _fetch_headers(
        self,
        client: IMAPClient,
        folder: str,
        uidvalidity: int,
        uid: int,
        size: int,
        described: dict[bytes, Any],
    ) -> None:
        """A message over the size cap: its headers only, recorded without its body."""
        data = client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid)
        raw = data.get(b"BODY[HEADER]") if data else None
        if not isinstance(raw, bytes):
            return
        location = Location(
            folder=folder,
            uidvalidity=uidvalidity,
            uid=uid,
            size=size,
            body_skipped=True,
            received_at=_aware(described.get(b"INTERNALDATE")),
        )
        self.ingest(raw, location)

    # --- the demo's Maildir -------------------------------------------------------------------

    def maildir(self) -> None:
        root = settings.SYNC_DEMO_MAILDIR
        if root is None:
            return
        for found in maildir.new_messages(root, self.inbox.email):
            if self.out_of_time:
                break
            location = Location(
                folder="INBOX",
                size=found.size,
                body_skipped=found.body_skipped,
                received_at=found.received_at,
            )
            self.ingest(found.raw, location)
            found.mark_read()


def _chunks(messages: list[tuple[int, int]]) -> Iterator[list[tuple[int, int]]]:
    """(uid, size) pairs in FETCHes of bounded bytes and count."""
    chunk: list[tuple[int, int]] = []
    total = 0
    for uid, size in messages:
        if chunk and (total + size > BODY_CHUNK_BYTES or len(chunk) >= BODY_CHUNK_MESSAGES):
            yield chunk
            chunk, total = [], 0
        chunk.append((uid, size))
        total += size
    if chunk:
        yield chunk


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:  # imapclient gives local time without a zone by default
        return value.astimezone()
    return value


def _network_words(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "IMAP sync interrupted: the server stopped answering"
    if isinstance(error, OSError):
        return f"IMAP sync interrupted: {error.strerror or type(error).__name__}"
    return f"IMAP sync interrupted: {type(error).__name__}"


def counts_line(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """The counts in their stable order, for the command's JSON line."""
    values = dict(counts)
    return {name: int(values.get(name, 0)) for name in COUNTS}
