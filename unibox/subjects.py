"""Subjects of replies."""

import re

# "Re:", "AW:", "RE :", "Antw:", "RES:", "Fwd:", "Re[2]:"… in front of a subject say nothing
# about the reply. A tag in brackets ("[Ticket #1] Re:") is kept: it may be part of the subject.
_REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|aw|wg|fw|fwd|tr|rv|res|antw|sv|vs|ref|réf|odp|отв)\s*(?:\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)


def without_reply_prefixes(subject: str) -> str:
    """The subject without its "Re:"/"AW:"/"RES:"… prefixes."""
    return _REPLY_PREFIX.sub("", subject).strip()
