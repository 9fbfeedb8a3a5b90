"""Which characters text may hold, by where it can end up: the one rule every way in shares.

- Any text: no NUL (PostgreSQL cannot store it) and no lone surrogate (not valid Unicode:
  it cannot be written as UTF-8).
- Header text: a lead's or an inbox's name, a variable's name, a subject, an address.
  Whatever can reach an email header holds no control character at all (Unicode category
  Cc: the C0 controls with TAB, CR, LF and NUL, DEL, the C1 controls), no line or paragraph
  separator (U+2028, U+2029) and no lone surrogate: a line break there would end the header
  and start another (`Bcc:`), or end the headers and push the rest into the body.
- Body text: a variable's value, which can fill a body as well as a subject. TAB, CR and
  LF are allowed; NUL, lone surrogates and the other controls are not. Subjects render
  such values on one line (`one_line`).

The checks return a message for the client, never the offending character itself.
"""

import re

from django.core.exceptions import ValidationError

# Category Cc is exactly U+0000 to U+001F and U+007F to U+009F.
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
_NOT_HEADER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NOT_BODY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _describe(char: str) -> str:
    if char in _LINE_BREAKS:
        return "a line break"
    if char == "\x00":
        return "a null character"
    if "\ud800" <= char <= "\udfff":
        return "an unpaired surrogate (not valid Unicode)"
    if char == "\t":
        return "a tab"
    return f"a control character (U+{ord(char):04X})"


def _error(pattern: re.Pattern[str], value: str, subject: str) -> str | None:
    found = pattern.search(value)
    if found is None:
        return None
    return f"{subject} must not contain {_describe(found.group())}."


def text_error(value: str, subject: str = "This field") -> str | None:
    """Why `value` cannot be stored as text at all (NUL, a lone surrogate), or None.

    `subject` names what is checked in the message: "This field must not contain …".
    """
    return _error(_NOT_TEXT, value, subject)


def header_text_error(value: str, subject: str = "This field") -> str | None:
    """Why `value` cannot go into an email header (any control character, U+2028/U+2029,
    a lone surrogate), or None."""
    return _error(_NOT_HEADER, value, subject)


def body_text_error(value: str, subject: str = "This field") -> str | None:
    """Why `value` cannot fill an email body (NUL, a lone surrogate, a control character other
    than TAB, CR and LF), or None."""
    return _error(_NOT_BODY, value, subject)


def validate_header_text(value: str) -> None:
    """`header_text_error` as a Django validator, for forms (the admin)."""
    message = header_text_error(value)
    if message is not None:
        raise ValidationError(message, code="control_characters")


_NOT_ONE_LINE = re.compile(f"{_NOT_HEADER.pattern}+")


def one_line(value: str) -> str:
    """`value` with each run of the characters header text may not hold made one space."""
    return _NOT_ONE_LINE.sub(" ", value)


def shown(value: str) -> str:
    """`value` fit to quote in a message: what header text may not hold becomes U+FFFD."""
    return _NOT_HEADER.sub("\ufffd", value)


def with_article(word: str) -> str:
    """`a draft`, `an active`: the indefinite article a word takes (by its first letter)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 row`, `2 rows`, `1,000 entries`: a count with its noun in the right number."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"
