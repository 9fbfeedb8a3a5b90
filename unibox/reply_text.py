"""What the sender of a reply newly wrote: the body without quoted history, earlier messages,
signatures or mobile footers (issue 11 grows this into the full extractor).

`new_text(message)` is the interface the classifier and the unified inbox call; `extract`
works on a body already turned into text (`unibox.mail.body_text`).
"""

import re
from email.message import Message

from unibox.mail import body_text

# Where quoted history starts: "On … wrote:", Outlook's separator, a run of `>` lines.
_HISTORY = re.compile(
    r"^(On\b.*\bwrote:\s*$|-{2,}\s*Original Message\s*-{2,}|>)", re.IGNORECASE | re.MULTILINE
)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)


def extract(text: str) -> str:
    """The newly written part of a body given as text ("\\n" line ends)."""
    for pattern in (_HISTORY, _SIGNATURE):
        found = pattern.search(text)
        if found is not None:
            text = text[: found.start()]
    return text.strip()


def new_text(message: Message) -> str:
    """The newly written part of an email's body."""
    return extract(body_text(message))
