"""reachkit.text: the one rule for what text may hold, by where it can end up."""

import pytest
from django.core.exceptions import ValidationError

from reachkit.text import (
    body_text_error,
    header_text_error,
    one_line,
    shown,
    text_error,
    validate_header_text,
)

# Every Unicode control character (category Cc), the line and paragraph separators, and a
# lone surrogate of each half.
CONTROLS = [chr(code) for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))]
HEADER_BREAKERS = [*CONTROLS, "\u2028", "\u2029", "\ud800", "\udfff"]


@pytest.mark.parametrize("char", HEADER_BREAKERS, ids=lambda char: f"U+{ord(char):04X}")
def test_header_text_refuses_every_control_character_separator_and_lone_surrogate(char):
    assert header_text_error(f"Eve{char}Bcc: x@evil.test") is not None


@pytest.mark.parametrize(
    "value", ["Ann", "Zoé Ünal-O'Brien", "李雷", "Ann 🚀", "", "a" * 10_000, "\u00a0Ann\u200b"]
)
def test_header_text_takes_any_printable_text(value):
    assert header_text_error(value) is None


@pytest.mark.parametrize("char", ["\t", "\r", "\n"])
def test_body_text_takes_tabs_and_line_breaks(char):
    assert body_text_error(f"line one{char}line two") is None


@pytest.mark.parametrize(
    "char",
    [c for c in CONTROLS if c not in "\t\r\n"] + ["\ud800", "\udc00"],
    ids=lambda char: f"U+{ord(char):04X}",
)
def test_body_text_refuses_nul_lone_surrogates_and_other_controls(char):
    assert body_text_error(f"a{char}b") is not None


def test_body_text_takes_line_separators_which_a_subject_renders_as_spaces():
    assert body_text_error("a\u2028b\u2029c") is None
    assert one_line("a\u2028b") == "a b"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("a\x00b", "This field must not contain a null character."),
        ("a\ud800b", "This field must not contain an unpaired surrogate (not valid Unicode)."),
        ("a\tb", None),
        ("a\r\nb", None),
        ("a\x01b", None),
    ],
)
def test_any_text_refuses_only_what_cannot_be_stored_or_encoded(value, error):
    assert text_error(value) == error


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\r\nBcc: x", "The name must not contain a line break."),
        ("a\nb", "The name must not contain a line break."),
        ("a\u2028b", "The name must not contain a line break."),
        ("a\x85b", "The name must not contain a line break."),
        ("a\tb", "The name must not contain a tab."),
        ("a\x00b", "The name must not contain a null character."),
        ("a\x1bb", "The name must not contain a control character (U+001B)."),
        ("a\x9bb", "The name must not contain a control character (U+009B)."),
    ],
)
def test_messages_say_what_was_found_without_quoting_it(value, message):
    assert header_text_error(value, "The name") == message


def test_one_line_makes_each_run_of_controls_one_space():
    assert one_line("Acme\r\n\r\nBcc: x\t\x00y\u2029") == "Acme Bcc: x y "


def test_shown_replaces_what_a_message_must_not_quote():
    assert shown("k\x00\ud800ey") == "k\ufffd\ufffdey"
    assert shown("Zoé") == "Zoé"


def test_the_django_validator_raises_the_same_message():
    with pytest.raises(ValidationError, match="must not contain a line break"):
        validate_header_text("Eve\r\nBcc: x")
    validate_header_text("Eve")
