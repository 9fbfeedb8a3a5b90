"""`Idempotency-Key` on every POST of the API: a retry gets the first answer, not a second write.

1. A POST with the header runs in one transaction, which first inserts the key's row (the
   workspace's key, a hash of method, path and body, no answer yet).
2. The view runs; its answer is stored on the row before the transaction commits, so the
   write and its recorded answer commit together or not at all (a 4xx is an answer too,
   replayed like a success). A server error rolls both back: a retry runs anew.
3. A request whose key is already there: the same request gets the stored answer again
   (with `Idempotent-Replayed: true`); another request with that key is a 422
   `idempotency_key_reused`. A concurrent request with the same key waits on the first
   one's insert (PostgreSQL's unique index; SQLite takes one writer at a time) and then
   replays its answer; one that still finds it running gets a 409 `idempotency_key_in_use`.

Keys are kept IDEMPOTENCY_KEY_HOURS (24) and then forgotten (the periodic purge).
"""

import hashlib
import re
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from reachkit.errors import Conflict, DomainError, ValidationFailed
from reachkit.models import IdempotencyKey, Workspace

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class KeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with another request."


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still running; retry shortly."


class Replay(Exception):
    """The stored answer to send back instead of running the view."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(b"\0" + request.get_full_path().encode() + b"\0")
    digest.update(request._request.body)
    return digest.hexdigest()


class IdempotentPosts:
    """Mixed into WorkspaceViewSet: every POST honours `Idempotency-Key`."""

    _idempotency: IdempotencyKey | None = None

    def _wants_idempotency(self, request: Any) -> bool:
        return request.method == "POST" and HEADER in request.headers

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._wants_idempotency(request):
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            record = self._idempotency
            if response.status_code >= 500 or transaction.get_rollback():
                # Whatever the failed request wrote goes, its key too: a retry runs anew.
                transaction.set_rollback(True)
            elif record is not None:
                if isinstance(response, Response):
                    response.render()
                record.status_code = response.status_code
                record.content_type = response.get("Content-Type", "")
                record.body = response.content.decode("utf-8", "replace")
                record.save(update_fields=["status_code", "content_type", "body"])
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if self._wants_idempotency(request):
            self._idempotency = claim(
                workspace=self.workspace,  # type: ignore[attr-defined]
                key=request.headers[HEADER],
                fingerprint=_fingerprint(request),
            )

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, Replay):
            return exc.response
        return super().handle_exception(exc)  # type: ignore[misc]


def claim(*, workspace: Workspace, key: str, fingerprint: str) -> IdempotencyKey:
    """The key's new row, inside the caller's transaction; raises Replay, KeyReused or KeyInUse
    when the key is known."""
    if not _KEY.fullmatch(key):
        message = "1 to 255 printable ASCII characters, without spaces."
        raise ValidationFailed(f"{HEADER}: {message}", details={HEADER: [message]})
    now = timezone.now()
    IdempotencyKey.objects.filter(workspace=workspace, key=key, expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                workspace=workspace, key=key, fingerprint=fingerprint, expires_at=now + KEEP
            )
    except IntegrityError:
        pass
    existing = IdempotencyKey.objects.filter(workspace=workspace, key=key).first()
    if existing is None:  # forgotten meanwhile: the next try starts afresh
        raise KeyInUse()
    if existing.fingerprint != fingerprint:
        raise KeyReused(details={HEADER: [KeyReused.message]})
    if existing.status_code is None:
        raise KeyInUse()
    replay = HttpResponse(
        existing.body, status=existing.status_code, content_type=existing.content_type or None
    )
    replay["Idempotent-Replayed"] = "true"
    raise Replay(replay)


def purge(*, now: Any = None) -> int:
    """Forget keys past their day."""
    return IdempotencyKey.objects.filter(expires_at__lt=now or timezone.now()).delete()[0]
