"""The mail-understanding commands' shared loop: one JSON line per `.eml` file.

A file that cannot be read, or is no email (empty, no header), gets its own line with an
"error" field; the run goes on with the next file.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from email.message import EmailMessage
from typing import Any

from unibox import mail


def read_message(path: str) -> EmailMessage:
    """The email in a file; raises `mail.UnreadableMessage` with a reason a person can read."""
    try:
        with open(path, "rb") as file:
            raw = file.read(mail.MAX_MESSAGE_BYTES)
    except OSError as error:
        raise mail.UnreadableMessage(error.strerror or str(error)) from error
    return mail.parse(raw)


def json_lines(
    paths: Iterable[str], describe: Callable[[EmailMessage], dict[str, Any]]
) -> Iterator[str]:
    """For each path, `{"file": path, **describe(message)}` or `{"file": path, "error": …}`."""
    for path in paths:
        try:
            line = {"file": path, **describe(read_message(path))}
        except mail.UnreadableMessage as error:
            line = {"file": path, "error": str(error)}
        yield json.dumps(line)
