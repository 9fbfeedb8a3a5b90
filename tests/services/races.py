"""Racing a deletion on PostgreSQL: hold one transaction open (its locks taken, its rows gone
but not committed), send another request on another thread, wait until it waits on a lock,
then let the deletion commit. Row locks decide these races, so tests using this need
PostgreSQL (SQLite runs one writer at a time).
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, transaction


class HeldDeletion:
    """Runs `delete` in a transaction on its own thread and keeps it open until released."""

    def __init__(self, delete: Callable[[], None]) -> None:
        self._delete = delete
        self._deleted = threading.Event()
        self._release = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        assert self._deleted.wait(10), "the deletion did not run"
        assert self.error is None, self.error

    def _run(self) -> None:
        try:
            with transaction.atomic():
                self._delete()
                self._deleted.set()
                self._release.wait(10)
        except BaseException as error:  # reported by the test thread
            self.error = error
            self._deleted.set()
        finally:
            connections.close_all()

    def commit(self) -> None:
        self._release.set()
        self._thread.join(10)
        assert self.error is None, self.error


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def race(deletion: HeldDeletion, request: Callable[[], Any]) -> Any:
    """Send `request` while `deletion` is open; commit the deletion once the request waits."""
    result: dict[str, Any] = {}

    def send() -> None:
        try:
            result["response"] = request()
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 10
    while not _waiting_on_a_lock():
        assert time.monotonic() < deadline, "the request never waited for the deletion"
        assert sender.is_alive(), f"the request did not wait: {result.get('response')}"
        time.sleep(0.01)
    deletion.commit()
    sender.join(10)
    return result["response"]
