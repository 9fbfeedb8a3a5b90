"""The file cache `make run` uses (no Redis), with the atomic `add` and `incr` counters need."""

import os
import pickle
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache.backends import filebased
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.files import locks
from django.core.files.move import file_move_safe


class FileBasedCache(filebased.FileBasedCache):
    """Django's file cache, but `add` and `incr` hold a lock and `incr` keeps the expiry.

    Django's versions read then write, so parallel requests read the same count (and both
    go through), and its `incr` rewrites the entry with the default timeout. Here both run
    under an exclusive lock on one file beside the entries: one machine, any number of
    threads and processes, as the file cache itself assumes.
    """

    # Django's own, undeclared in its type stubs.
    _dir: str
    _createdir: Callable[[], None]
    _key_to_file: Callable[[Any, int | None], str]
    _delete: Callable[[str], bool]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._createdir()
        with open(os.path.join(self._dir, "counters.lock"), "ab") as lock_file:
            locks.lock(lock_file, locks.LOCK_EX)
            try:
                yield
            finally:
                locks.unlock(lock_file)

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        with self._locked():
            return super().add(key, value, timeout, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        fname = self._key_to_file(key, version)
        with self._locked():
            try:
                with open(fname, "rb") as entry:
                    expiry = pickle.load(entry)
                    value: int = pickle.loads(zlib.decompress(entry.read()))
            except (FileNotFoundError, EOFError):
                raise ValueError(f"Key '{key}' not found") from None
            if expiry is not None and expiry < time.time():
                self._delete(fname)
                raise ValueError(f"Key '{key}' not found")
            value += delta
            fd, tmp_path = tempfile.mkstemp(dir=self._dir)
            try:
                with open(fd, "wb") as tmp:
                    tmp.write(pickle.dumps(expiry, self.pickle_protocol))
                    tmp.write(zlib.compress(pickle.dumps(value, self.pickle_protocol)))
                file_move_safe(tmp_path, fname, allow_overwrite=True)
            except BaseException:
                if os.path.exists(tmp_path):
                    os.remove(tmp_path)
                raise
            return value
