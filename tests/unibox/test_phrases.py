"""Large phrase sets matched by their literal prefixes first (unibox.phrases): the same
answers as the whole regular expression, on every text of the labelled set."""

import re

import pytest

from unibox import auto_replies, reply_cues, reply_model, unsubscribe_requests
from unibox.phrases import PhraseSet, literal_prefix, split_alternatives, trie_pattern

SETS = {
    "away": auto_replies.AWAY,
    "left": auto_replies.LEFT,
    "responder": auto_replies._RESPONDER,
    "receipt": auto_replies._RECEIPT,
    "receipt_strong": auto_replies._RECEIPT_STRONG,
    "unsubscribe": unsubscribe_requests._UNSUBSCRIBE,
    **{f"cue_{name}": phrases for name, phrases in reply_cues.CUES.items()},
}


@pytest.fixture(scope="module")
def texts():
    examples = reply_model.load_examples()
    raw = [example.text for example in examples]
    return (
        raw
        + [reply_cues.fold(text) for text in raw]
        + ["", "\u0130stanbul ofisi kapal\u0131", "a\nb"]
    )


@pytest.mark.parametrize("name", sorted(SETS))
def test_a_phrase_set_finds_what_its_whole_expression_finds(name, texts):
    phrases = SETS[name]
    whole = phrases._whole
    for text in texts:
        assert bool(phrases.search(text)) == bool(whole.search(text)), text
        starts = {match.start() for match in phrases.finditer(text)}
        assert {match.start() for match in whole.finditer(text)} <= starts, text


def test_alternatives_prefixes_and_tries():
    assert split_alternatives(r"a(b|c)|[|]d|e\|f") == ["a(b|c)", "[|]d", r"e\|f"]
    assert literal_prefix(r"\bout of (?:the )?office") == "out of "
    assert literal_prefix(r"(?<![a-z])e-?mail") == "e"
    assert literal_prefix(r"\bRe\.?sume") == "re"
    assert literal_prefix(r"[A-Z]\w+") == ""
    pattern = re.compile(trie_pattern({"out of", "outside", "on leave", "off", "ab", "abc"}))
    assert [match.group() for match in pattern.finditer("abc outside on leave")] == [
        "ab",
        "outside",
        "on leave",
    ]


def test_a_phrase_set_keeps_its_flags_and_case_sensitive_parts():
    phrases = PhraseSet(
        [r"\bhas left (?-i:[A-Z])\w+", r"^\W*thanks\b"], re.IGNORECASE | re.MULTILINE
    )
    assert phrases.search("She HAS LEFT Acme")
    assert not phrases.search("she has left a note")
    assert phrases.search("hello\n-- Thanks!")
