"""What does a reply mean? One of the spec's 11 labels for an incoming reply.

1. An automatic reply (`unibox.auto_replies`) gets its kind's label: out_of_office,
   left_company, and `neutral` for other automatic mail (ticket systems, "we received your
   message"): nobody answered yet, and neutral is the label that changes nothing. When only
   the text, no header, says the person is away, an unsubscribe request in it still wins.
2. An unsubscribe request ("please remove me", "stop emailing me", "abmelden",
   "désabonnez-moi", "darme de baja", "uitschrijven", "descadastrar"…) is `unsubscribe`, by
   rules that are never left to a statistical guess: missing one keeps mailing someone who
   said stop.
3. Everything else goes to a linear model on word and character n-grams of the reply's new
   text and subject (`unibox.reply_model`), or, when `REACHKIT_LLM_URL` is set, to an
   OpenAI-compatible model (`unibox.llm`), which falls back to the linear model on any error.

Only what the sender newly wrote is read (`unibox.reply_text.new_text`), never the quoted
history. Offline, deterministic, no database. `is_positive` is true for interested and
meeting_requested.
"""

from dataclasses import dataclass
from datetime import date
from email.message import Message
from typing import Literal

from unibox import llm, reply_model
from unibox.auto_replies import AutoReply, detect, detect_text
from unibox.mail import header
from unibox.reply_text import new_text
from unibox.unsubscribe_requests import asks_to_unsubscribe

LABELS = reply_model.LABELS
POSITIVE_LABELS = frozenset({"interested", "meeting_requested"})
_AUTO_LABELS = {
    "out_of_office": "out_of_office",
    "left_company": "left_company",
    "other": "neutral",
}

Source = Literal["auto_reply", "rule", "model", "llm"]


@dataclass(frozen=True)
class Classification:
    """A reply's label, and how it was reached."""

    label: str
    source: Source
    auto_reply: AutoReply | None = None

    @property
    def is_positive(self) -> bool:
        return self.label in POSITIVE_LABELS

    @property
    def is_auto_reply(self) -> bool:
        return self.auto_reply is not None


# --- the label ------------------------------------------------------------------------------


def classify_text(
    text: str,
    subject: str = "",
    *,
    sent: date | None = None,
    use_llm: bool = True,
    model: reply_model.Model | None = None,
) -> Classification:
    """The label of a reply given only its new text and subject (no headers).

    `sent` is the message's date, for return dates without a year; `use_llm=False` keeps to
    the offline classifier whatever the settings say; `model` replaces the shipped set's
    (the evaluation trains one per fold).
    """
    return _decide(text, subject, detect_text(text, subject, sent=sent), use_llm, model)


def classify_message(
    message: Message, *, use_llm: bool = True, model: reply_model.Model | None = None
) -> Classification:
    """The label of an incoming reply: its headers, then its new text and subject."""
    text = new_text(message)
    subject = header(message, "Subject")
    found = detect(message, text=text, subject=subject)
    return _decide(text, subject, found, use_llm, model)


def _decide(
    text: str,
    subject: str,
    found: AutoReply | None,
    use_llm: bool,
    model: reply_model.Model | None,
) -> Classification:
    whole = reply_model.model_input(subject, text)
    unsubscribe = asks_to_unsubscribe(text, subject)
    if found is not None and (found.by_headers or not unsubscribe):
        return Classification(_AUTO_LABELS[found.kind], "auto_reply", found)
    if unsubscribe:
        return Classification("unsubscribe", "rule")
    if use_llm:
        label = llm.label(subject=subject, text=text)
        if label is not None:
            return Classification(label, "llm")
    return Classification(reply_model.predict(whole, model), "model")
