"""Subjects of replies."""

import re

# "Re:", "AW:", "RE :", "Antw:", "RES:", "Fwd:", "[Ticket #1] Re:"… in front of a subject say
# nothing about the reply.
_REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|aw|wg|fw|fwd|tr|rv|res|antw|sv|vs|ref|réf|odp|отв)\s*(?:\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)


def without_reply_prefixes(subject: str) -> str:
    """The subject without its "Re:"/"AW:"/"RES:"… prefixes."""
    return _REPLY_PREFIX.sub("", subject).strip()
