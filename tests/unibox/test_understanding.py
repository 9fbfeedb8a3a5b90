"""The chain the unified inbox calls: a bounce is a bounce, even with auto-reply headers."""

from pathlib import Path

from unibox import mail
from unibox.understanding import understand

DATA = Path(__file__).parent / "data"


def test_a_bounce_marked_auto_replied_is_read_as_a_bounce_not_an_automatic_reply():
    raw = (DATA / "bounces" / "exchange-fr-unknown-user-cp1252.eml").read_bytes()
    message = mail.parse(raw)
    assert "auto-replied" in mail.header(message, "Auto-Submitted")
    found = understand(message, use_llm=False)
    assert found.is_bounce
    assert found.bounce.type == "hard"
    assert found.classification is None


def test_a_person_s_reply_is_labelled():
    raw = (DATA / "classify" / "unsubscribe-en-plain.eml").read_bytes()
    found = understand(mail.parse(raw), use_llm=False)
    assert not found.is_bounce
    assert found.classification is not None
    assert found.classification.label == "unsubscribe"
