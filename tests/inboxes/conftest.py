"""Helpers for the inbox tests (the real mailbox itself is `tests/services/mailbox.py`)."""

from typing import Any

import pytest

from inboxes.connection import ServerSettings


def settings_of(body: dict[str, Any]) -> ServerSettings:
    """The connection module's settings for one of the API's `smtp`/`imap` objects."""
    return ServerSettings(**body)


@pytest.fixture
def fast_timeout(settings) -> float:
    """Dead-host tests wait this long per connect or read."""
    settings.INBOX_CONNECT_TIMEOUT_SECONDS = 1
    return 1.0
