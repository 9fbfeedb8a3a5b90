"""Sessions in the database, never looked up by a key Django could not have made."""

import re

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

# Django makes session keys of 32 characters from [a-z0-9] (VALID_KEY_CHARS).
_SESSION_KEY = re.compile(r"[a-z0-9]{32}")


class SessionStore(DatabaseSessionStore):
    """A session cookie of any other shape is no session: with a NUL in it, the look-up
    failed on PostgreSQL (a 500 on every admin page)."""

    def _validate_session_key(self, key: str | None) -> bool:
        return key is not None and _SESSION_KEY.fullmatch(key) is not None
