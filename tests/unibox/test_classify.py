"""Reply labels (unibox.classify): automatic replies by their kind, unsubscribe requests by
rule, the rest by the offline model; the shipped labelled set; the raw replies never
trained on."""

import json
from collections import Counter
from pathlib import Path

import pytest

from unibox import mail, reply_model
from unibox.classify import LABELS, POSITIVE_LABELS, classify_message, classify_text

DATA = Path(__file__).parent / "data" / "classify"
LANGUAGES = {"en", "de", "fr", "es", "nl", "pt"}


def test_the_labels_are_the_specs_eleven_and_two_are_positive():
    assert {
        "interested",
        "not_interested",
        "needs_more_info",
        "meeting_requested",
        "wrong_person",
        "out_of_office",
        "referral",
        "question",
        "neutral",
        "unsubscribe",
        "left_company",
    } == set(LABELS)
    assert {"interested", "meeting_requested"} == POSITIVE_LABELS
    assert classify_text("Yes, let's talk on Thursday at 2pm.", use_llm=False).is_positive


def test_the_labelled_set_has_at_least_60_varied_replies_per_label_in_six_languages():
    lines = reply_model.DATA_FILE.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len({row["id"] for row in rows}) == len(rows)
    per_label = Counter(row["label"] for row in rows)
    assert set(per_label) == set(LABELS)
    assert min(per_label.values()) >= 70
    for label in LABELS:
        assert {row["lang"] for row in rows if row["label"] == label} == LANGUAGES
    # Real-world noise: HTML-only bodies, quoted history, signatures and mobile footers.
    assert sum("html" in row for row in rows) >= 100
    assert (
        sum("wrote:" in row.get("text", "") or "\nFrom: " in row.get("text", "") for row in rows)
        >= 50
    )
    assert sum("iPhone" in row.get("text", row.get("html", "")) for row in rows) >= 30
    # Varied, not one template: nine in ten new texts appear once.
    texts = Counter(example.new_text for example in reply_model.load_examples())
    assert len(texts) >= 0.9 * len(rows)


def test_an_automatic_reply_gets_its_kinds_label_whatever_the_body_says():
    raw = (
        b"From: ada@acme.example\r\nTo: sam@reachkit.test\r\nSubject: Automatic reply: Hi\r\n"
        b"Date: Mon, 06 Jan 2025 10:00:00 +0000\r\nAuto-Submitted: auto-replied\r\n\r\n"
        b"I am out of the office until 14 January. Interested in our services? Let's meet: "
        b"book a call with sales@acme.example. To unsubscribe from our newsletter, reply "
        b"STOP.\r\n"
    )
    result = classify_message(mail.parse(raw), use_llm=False)
    assert (result.label, result.source, result.is_auto_reply) == (
        "out_of_office",
        "auto_reply",
        True,
    )
    assert result.auto_reply is not None
    assert str(result.auto_reply.return_date) == "2025-01-14"


def test_other_automatic_mail_is_neutral():
    raw = (
        b"From: Support <noreply@help.example>\r\nTo: sam@reachkit.test\r\n"
        b"Subject: [Ticket #4821] Re: Hi\r\nAuto-Submitted: auto-generated\r\n\r\n"
        b"We have received your request. Your ticket number is 4821.\r\n"
    )
    result = classify_message(mail.parse(raw), use_llm=False)
    assert (result.label, result.is_auto_reply, result.is_positive) == ("neutral", True, False)


def test_an_unsubscribe_request_wins_over_an_away_note_without_headers():
    text = (
        "I'm on holiday until 14 January with limited access to email. "
        "Please remove me from your list."
    )
    assert classify_text(text, use_llm=False).label == "unsubscribe"


def test_only_the_new_text_is_read_not_the_quoted_history():
    raw = (
        b"From: ada@acme.example\r\nTo: sam@reachkit.test\r\nSubject: Re: Hi\r\n\r\n"
        b"Yes, let's set up a call on Tuesday at 3pm.\r\n\r\n"
        b"On Mon, 6 Jan 2025 at 10:00, Sam <sam@reachkit.test> wrote:\r\n"
        b"> If you'd rather not hear from me, please remove me... I mean, reply stop.\r\n"
        b"> Unsubscribe: https://app.reachkit.test/u/Zx81kq\r\n"
    )
    assert classify_message(mail.parse(raw), use_llm=False).label == "meeting_requested"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Sounds great, we're in. Send over the contract.", "interested"),
        ("Can we do a call on Thursday at 2pm?", "meeting_requested"),
        ("Could you send me a deck and your pricing?", "needs_more_info"),
        ("Does it integrate with Salesforce?", "question"),
        ("No thanks, we already have a tool for this.", "not_interested"),
        ("I'm not the right person for this, I work in finance.", "wrong_person"),
        ("Please talk to my colleague Anna (anna@acme.example), she runs sales.", "referral"),
        ("Thanks, received.", "neutral"),
        ("Kein Interesse, danke.", "not_interested"),
        ("Pouvez-vous m'envoyer une présentation ?", "needs_more_info"),
        ("¿Podemos hablar el martes a las 10?", "meeting_requested"),
        ("Ik ben niet de juiste persoon.", "wrong_person"),
    ],
)
def test_plain_replies_get_their_label(text, label):
    assert classify_text(text, use_llm=False).label == label


def test_the_raw_replies_never_trained_on_are_mostly_right_and_never_miss_a_stop():
    """The figures are in the README (bench/classify_eval.py); this keeps them from
    silently getting worse."""
    expected = json.loads((DATA / "expected.json").read_text())
    results = {
        name: classify_message(mail.parse((DATA / name).read_bytes()), use_llm=False)
        for name in expected
    }
    right = sum(results[name].label == want["label"] for name, want in expected.items())
    assert right / len(expected) >= 0.85
    for name, want in expected.items():
        if want["label"] in ("unsubscribe", "out_of_office", "left_company"):
            assert results[name].label == want["label"], name
        assert results[name].is_auto_reply == ("auto_reply_kind" in want), name
