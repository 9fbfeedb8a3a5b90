"""Reading each connected inbox's new mail, for `unibox.ingest` to thread and act on.

For each inbox, one sync at a time across all workers:

1. Claim its `InboxSync` row: `SELECT … FOR UPDATE SKIP LOCKED`, then `claimed_until` (a
   lease renewed with every save of progress); a claim held by another worker means "busy", one past
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
4. Messages are read in UID order: sizes first (`RFC822.SIZE`, by batches), then bodies
   in FETCHes of bounded bytes and count; a message over the size cap is fetched as
   headers only and recorded without its body. Progress is saved, committed, around every
   message: before it, the UID in hand (`trying`); after it, the folder's `last_uid`. A
   pass cut short (time budget, soft time limit, a dead connection or worker) goes on
   right after the last message it finished. The time budget is checked before every
   FETCH and every message, so a pass ends cleanly well before the task's soft limit.
5. A message whose ingest raises (a bug, not an unreadable message: that one is skipped at
   once) joins the folder's `retry` list and the pass goes on; the next pass tries it
   again first. One found in hand at the start of a pass (`trying`: the last pass was cut
   off on it) is treated the same. A second failure in a row gives it up: logged with its
   inbox and UID (never its content), counted as `skipped`, its UID kept in the folder's
   `skipped` list. One poison message never holds up the messages after it.

Inboxes without an IMAP server that `make run`'s demo feeds through a Maildir (see
`unibox.maildir`) go through the same claim and the same ingest.
"""

import logging
import os
import socket
import time
import traceback
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

# A claim lasts this long unless renewed (at every save of progress); longer than the sync task's
# hard time limit, so a live sync never loses it.
CLAIM_LEASE = timedelta(minutes=10)
# UIDs per FETCH of sizes, and bytes (or messages) per FETCH of bodies.
SIZE_BATCH = 500
BODY_CHUNK_BYTES = 16 * 1024 * 1024
BODY_CHUNK_MESSAGES = 200
# A folder's messages that failed once, tried again on the next pass; past this many the
# pass stops reading that folder's new mail (many failing at once is a bug to fix, not mail
# to give up on). The last SKIPPED_KEPT UIDs given up are kept in the folder's state.
RETRY_LIMIT = 50
SKIPPED_KEPT = 100

COUNTS = (
    "inboxes",
    "messages",
    *(outcome.value for outcome in Outcome),
    "errors",
    "skipped",
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

    def ingest(self, raw: bytes, location: Location) -> bool:
        """One message; whatever goes wrong with it is logged and counted, never raised.

        False when it is worth another try: its ingest raised something unexpected (an
        unreadable message is skipped at once: reading it again would change nothing)."""
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
            return True
        except Exception as error:
            self.counts["errors"] += 1
            logger.warning(
                "message failed",
                extra={
                    "inbox": str(self.inbox.pk),
                    "folder": location.folder,
                    "uid": location.uid,
                    "error": _where(error),
                },
            )
            return False
        self.counts[outcome.value] += 1
        return True

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
        self._cut_off_before(folder, state)
        # What failed once goes first, then what is new; all in UID order.
        retry = sorted(state.get("retry", []))
        if retry and not self._read(client, folder, uidvalidity, state, retry):
            self.save()
            return
        last_uid = int(state["last_uid"])
        criteria: list[Any] = ["UID", f"{last_uid + 1}:*"]
        if "since" in state:
            criteria += ["SINCE", date.fromisoformat(state["since"])]
        uids = sorted(uid for uid in client.search(criteria) if uid > last_uid)
        if not self._read(client, folder, uidvalidity, state, uids):
            self.save()
            return
        # The whole window was read: from now on, only what comes after.
        state.pop("since", None)
        if uidnext:
            state["last_uid"] = max(int(state["last_uid"]), int(uidnext) - 1)
        self.save()

    def _read(
        self,
        client: IMAPClient,
        folder: str,
        uidvalidity: int,
        state: dict[str, Any],
        uids: list[int],
    ) -> bool:
        """These messages, in UID order; False when the pass stopped before the last."""
        cap = settings.SYNC_MAX_MESSAGE_BYTES
        for start in range(0, len(uids), SIZE_BATCH):
            if self.out_of_time:
                return False
            batch = uids[start : start + SIZE_BATCH]
            described = client.fetch(batch, ["RFC822.SIZE", "INTERNALDATE"])
            for chunk, headers_only in _chunks(batch, described, cap):
                if self.out_of_time:
                    return False
                item, key = (
                    ("BODY.PEEK[HEADER]", b"BODY[HEADER]")
                    if headers_only
                    else ("BODY.PEEK[]", b"BODY[]")
                )
                present = [uid for uid in chunk if uid in described]
                fetched = client.fetch(present, [item]) if present else {}
                for uid in chunk:
                    if self.out_of_time:
                        return False
                    retry = state.get("retry", [])
                    if uid not in retry and len(retry) >= RETRY_LIMIT:
                        return False  # many failing at once: a bug to fix, not mail to skip
                    data = fetched.get(uid)
                    raw = data.get(key) if data else None
                    if not isinstance(raw, bytes):  # expunged meanwhile
                        _passed(state, uid)
                        continue
                    size = int(described[uid].get(b"RFC822.SIZE") or 0)
                    location = Location(
                        folder=folder,
                        uidvalidity=uidvalidity,
                        uid=uid,
                        size=size or len(raw),
                        body_skipped=headers_only,
                        received_at=_aware(described[uid].get(b"INTERNALDATE")),
                    )
                    self._message(state, uid, raw, location)
        return True

    def _message(self, state: dict[str, Any], uid: int, raw: bytes, location: Location) -> None:
        """One message, its UID saved as the one in hand first (committed: a worker killed
        on it leaves it there for the next pass to find)."""
        retrying = uid in state.get("retry", [])
        state["trying"] = uid
        self.save()
        done = self.ingest(raw, location)
        del state["trying"]
        if done:
            _passed(state, uid)
        elif retrying:
            self._give_up(location.folder, state, uid, reason="failed twice")
        else:
            _to_retry(state, uid)

    def _cut_off_before(self, folder: str, state: dict[str, Any]) -> None:
        """The message the last pass was cut off on (the task's soft limit, a dead worker),
        if any: tried again, or given up if it had failed already."""
        uid = state.pop("trying", None)
        if not isinstance(uid, int):
            return
        if uid in state.get("retry", []):
            self._give_up(folder, state, uid, reason="cut off after failing")
            return
        _to_retry(state, uid)
        logger.warning(
            "message cut off: tried again",
            extra={"inbox": str(self.inbox.pk), "folder": folder, "uid": uid},
        )

    def _give_up(self, folder: str, state: dict[str, Any], uid: int, *, reason: str) -> None:
        _passed(state, uid)
        state["skipped"] = [*state.get("skipped", []), uid][-SKIPPED_KEPT:]
        self.counts["skipped"] += 1
        logger.warning(
            "message given up",
            extra={"inbox": str(self.inbox.pk), "folder": folder, "uid": uid, "reason": reason},
        )

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


def _chunks(
    uids: list[int], described: dict[int, dict[bytes, Any]], cap: int
) -> Iterator[tuple[list[int], bool]]:
    """UIDs in order, in FETCHes of bounded bytes and count: (uids, headers only). A message
    over the cap is a FETCH of its own, of headers only."""
    chunk: list[int] = []
    total = 0
    for uid in uids:
        data = described.get(uid)
        size = int(data.get(b"RFC822.SIZE") or 0) if data else 0
        if size > cap:
            if chunk:
                yield chunk, False
            chunk, total = [], 0
            yield [uid], True
            continue
        if chunk and (total + size > BODY_CHUNK_BYTES or len(chunk) >= BODY_CHUNK_MESSAGES):
            yield chunk, False
            chunk, total = [], 0
        chunk.append(uid)
        total += size
    if chunk:
        yield chunk, False


def _passed(state: dict[str, Any], uid: int) -> None:
    """A folder's progress: `uid` done (or given up)."""
    retry = state.get("retry", [])
    if uid in retry:
        retry.remove(uid)
    if not retry:
        state.pop("retry", None)
    state["last_uid"] = max(int(state["last_uid"]), uid)


def _to_retry(state: dict[str, Any], uid: int) -> None:
    """A folder's progress: `uid` failed once, tried again first on the next pass."""
    state.setdefault("retry", []).append(uid)
    state["last_uid"] = max(int(state["last_uid"]), uid)


def _where(error: BaseException) -> str:
    """An exception's type and stack, not its message: that may quote the mail."""
    stack = traceback.TracebackException.from_exception(error).stack
    return "".join(stack.format()) + type(error).__name__


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
