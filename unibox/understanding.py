"""What an incoming message is, in the one order the unified inbox reads it.

1. A bounce first: delivery reports carry `Auto-Submitted: auto-replied` (RFC 3464 asks
   servers to set it), so asked second they would pass for automatic replies.
2. Otherwise its label (`classify`): an automatic reply gets its kind's label, a person's
   reply is labelled from its new text and subject.

Nothing here touches the database or the network (except the optional LLM backend).
"""

from dataclasses import dataclass
from email.message import EmailMessage

from unibox.bounces import Bounce, parse_bounce
from unibox.classify import Classification, classify_message


@dataclass(frozen=True)
class Understanding:
    """A bounce (`bounce.is_bounce`), or a reply with its `classification`."""

    bounce: Bounce
    classification: Classification | None = None

    @property
    def is_bounce(self) -> bool:
        return self.bounce.is_bounce


def understand(message: EmailMessage, *, use_llm: bool = True) -> Understanding:
    """Read `message` (from `unibox.mail.parse`): a bounce, or a labelled reply."""
    bounce = parse_bounce(message)
    if bounce.is_bounce:
        return Understanding(bounce=bounce)
    return Understanding(bounce=bounce, classification=classify_message(message, use_llm=use_llm))
