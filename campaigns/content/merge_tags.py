"""Merge tags: the one template language of variant subjects and bodies.

Syntax, the same for a subject (text) and a body (HTML):

- `{{variable}}` — the lead's value; `{{ First Name }}`, `{{first_name}}` and `{{firstName}}` are
  one key (`normalize_variable_name`, applied to the tag and to the mapping's keys).
- `{{variable|fallback}}` — the fallback when the value is missing, None or "". Everything after
  the first `|` is the fallback, so a fallback may contain `|`. An empty fallback (`{{x|}}`)
  renders nothing and is not reported missing.
- `{{LOOM|column|fallback}}` — the column's value, a video URL, as a link in HTML and as the URL
  in text; the fallback (optional) when the value is empty. A value that is not an http(s) URL
  is inserted as plain text, never as a link.
- `{{SPINTAX|opt1|opt2|…}}` — one option (empty options allowed, at least one non-blank).
- `{{unsubscribe_url}}` — the given URL; with no URL the tag stays as written.
- `\\{{` — a literal `{{`. Backslashes count only right before `{{`: in a run of n of them,
  each pair is one literal backslash and an odd one escapes the `{{` (`\\\\{{x}}` is a backslash
  and the value of x). Anywhere else a backslash is plain text. There are no escapes inside a tag.
- A lone `}}` outside a tag is plain text. Names, keywords (case-insensitive), columns,
  fallbacks and options are trimmed.

Errors (`MergeTagError.offset` is always the index of the `{{` that opens the bad tag):

- "Unclosed merge tag": no `}}` after it.
- "Merge tag not closed before the next '{{'": another `{{` comes before its `}}`. The offset
  is the OUTER tag's, the one left open (`{{a {{b}}` → 0): it is the tag that is unbalanced,
  and in the common case — a forgotten `}}` — the one to fix.
- "Empty merge tag" (`{{}}`, `{{ }}`, `{{|x}}`); "Merge tag name needs a letter or digit"
  (`{{!!}}`); "Spintax tag has no options"; "Loom tag needs a column".

HTML mode (`escape_html=True`, for a body): the template is HTML, so a tag's fallback and options
are HTML text — entities are decoded (nh3 stores `Smith & Co` as `Smith &amp; Co`) — and every
inserted string (value, fallback, option, URL) is escaped. Names and columns are always
entity-decoded, in both modes, so a name means the same thing in a subject and in a body. Markup
inside a tag is not interpreted: `{{x|<b>hi</b>}}` inserts the text `<b>hi</b>`.

Spintax choices hash the seed, the tag's options and how many identical tags came before it
(its ordinal among its equals), not its absolute index. Two tags therefore vary independently
(different options, or a later occurrence), and the HTML and plain-text versions of one body pick
alike even though `html_to_text` moves a link's URL after its text and drops an image's `src`.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from leads.variables import normalize_variable_name

OPEN = "{{"
CLOSE = "}}"
UNSUBSCRIBE_URL = "unsubscribe_url"

_HTTP_URL = re.compile(r"https?://\S+\Z", re.IGNORECASE)


class MergeTagError(ValueError):
    """A template that does not parse; `offset` indexes the `{{` of the offending tag."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message, offset)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return f"{self.message} at offset {self.offset}"


class TooLong(ValueError):
    """Rendering passed its `limit` of characters, and stopped there. `field`, when the caller
    names it, says what was being rendered ("subject", "body_html", "body_text")."""

    def __init__(self, limit: int, field: str = "") -> None:
        super().__init__(limit, field)
        self.limit = limit
        self.field = field

    def __str__(self) -> str:
        what = _FIELD_NAMES.get(self.field, "The text")
        return f"{what} is longer than {self.limit:,} characters once its merge tags are filled"


_FIELD_NAMES = {
    "subject": "The subject",
    "body_html": "The HTML body",
    "body_text": "The text body",
}


@dataclass(frozen=True)
class Rendered:
    text: str
    # Normalised names that had no value and no fallback, unique, in order of first use.
    missing: tuple[str, ...]


@dataclass(frozen=True)
class _Tag:
    source: str  # the tag as written, "{{" to "}}"
    kind: Literal["variable", "loom", "spintax", "unsubscribe"]
    name: str  # normalised variable name, or the Loom column's; "" for spintax
    fallback: str | None  # raw, untrimmed; None when the tag has no `|fallback`
    options: tuple[str, ...]  # raw spintax options


def _tag(text: str, start: int, end: int) -> _Tag:
    """The tag `text[start:end]` (from its "{{" to past its "}}"), or MergeTagError."""
    source = text[start:end]
    head, *rest = source[2:-2].split("|")
    word = html.unescape(head).strip()
    if not word:
        raise MergeTagError("Empty merge tag", start)
    keyword = word.upper()
    if keyword == "SPINTAX":
        if not any(html.unescape(option).strip() for option in rest):
            raise MergeTagError("Spintax tag has no options", start)
        return _Tag(source, "spintax", "", None, tuple(rest))
    if keyword == "LOOM":
        column = normalize_variable_name(html.unescape(rest[0])) if rest else ""
        if not column:
            raise MergeTagError("Loom tag needs a column", start)
        fallback = "|".join(rest[1:]) if len(rest) > 1 else None
        return _Tag(source, "loom", column, fallback, ())
    name = normalize_variable_name(word)
    if not name:
        raise MergeTagError("Merge tag name needs a letter or digit", start)
    kind: Literal["variable", "unsubscribe"] = (
        "unsubscribe" if name == UNSUBSCRIBE_URL else "variable"
    )
    return _Tag(source, kind, name, "|".join(rest) if rest else None, ())


def _scan(text: str) -> Iterator[str | _Tag]:
    """Literal text and tags, in order; raises MergeTagError at the first bad tag.

    Linear: every character is looked at a bounded number of times.
    1. Find the next "{{" from `i`; none left → the rest is literal.
    2. Count the backslashes right before it (not before `i`): each pair is one literal
       backslash; an odd one makes the "{{" literal.
    3. Otherwise the tag ends at the first "}}" after it; a "{{" before that "}}" is an error.
    """
    i = 0
    while (start := text.find(OPEN, i)) >= 0:
        run = 0
        while start - run > i and text[start - run - 1] == "\\":
            run += 1
        literal = text[i : start - run] + "\\" * (run // 2)
        if run % 2:
            yield literal + OPEN
            i = start + 2
            continue
        if literal:
            yield literal
        close = text.find(CLOSE, start + 2)
        if close < 0:
            raise MergeTagError("Unclosed merge tag", start)
        if text.find(OPEN, start + 2, close) >= 0:
            raise MergeTagError("Merge tag not closed before the next '{{'", start)
        yield _tag(text, start, close + 2)
        i = close + 2
    if i < len(text):
        yield text[i:]


def validate(text: str) -> None:
    """Raise MergeTagError when `text` has a malformed tag."""
    for _piece in _scan(text):
        pass


def variables_used(text: str) -> list[str]:
    """The variables `text` reads (Loom columns included), normalised, unique, in order.

    Spintax and `unsubscribe_url` are not variables: the sender supplies the URL. Raises
    MergeTagError on a malformed tag.
    """
    names: dict[str, None] = {}
    for piece in _scan(text):
        if isinstance(piece, _Tag) and piece.kind in ("variable", "loom"):
            names.setdefault(piece.name)
    return list(names)


def variables_without_fallback(text: str) -> list[str]:
    """The variables `text` reads with no fallback (`{{x}}`, `{{LOOM|x}}`; not `{{x|}}`):
    normalised, unique, in order. A lead without a value gets an empty tag for them. Raises
    MergeTagError on a malformed tag."""
    names: dict[str, None] = {}
    for piece in _scan(text):
        is_variable = isinstance(piece, _Tag) and piece.kind in ("variable", "loom")
        if is_variable and piece.fallback is None:  # type: ignore[union-attr]
            names.setdefault(piece.name)  # type: ignore[union-attr]
    return list(names)


def escape_literal(text: str) -> str:
    """`text` written so that it renders to itself: every "{{" gets an odd backslash run."""
    out: list[str] = []
    i = 0
    while (start := text.find(OPEN, i)) >= 0:
        run = 0
        while start - run > i and text[start - run - 1] == "\\":
            run += 1
        out.append(text[i : start - run] + "\\" * (2 * run + 1) + OPEN)
        i = start + 2
    out.append(text[i:])
    return "".join(out)


def _present(value: object) -> str | None:
    """A mapping value as text; None when it counts as missing (None or "")."""
    if value is None:
        return None
    return str(value) or None


def _lookup_table(variables: Mapping[str, object]) -> dict[str, str | None]:
    """Normalised name → value. When two keys normalise alike, the first present value wins."""
    table: dict[str, str | None] = {}
    for key, value in variables.items():
        name = normalize_variable_name(str(key))
        if table.get(name) is None:
            table[name] = _present(value)
    return table


def _choice(seed: str, options: tuple[str, ...], ordinal: int) -> int:
    # JSON (ASCII) keeps the key unambiguous and encodable for any string, lone surrogates too.
    key = json.dumps([seed, ordinal, options]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % len(options)


def render(
    text: str,
    variables: Mapping[str, object],
    *,
    seed: str,
    escape_html: bool = False,
    unsubscribe_url: str | None = None,
    limit: int | None = None,
) -> Rendered:
    """Fill every tag of `text` for one lead. The same inputs always give the same output.

    `seed` picks the spintax options: derive it from the lead and the variant, and pass the same
    seed for a variant's HTML and text bodies so they agree. Raises MergeTagError.

    `limit`: the most characters the result may have. Rendering raises TooLong as soon as it
    passes them, so a value that many tags repeat never builds the whole string.
    """
    table = _lookup_table(variables)

    def part(raw: str) -> str:
        return (html.unescape(raw) if escape_html else raw).strip()

    def insert(value: str) -> str:
        return html.escape(value) if escape_html else value

    out: list[str] = []
    size = 0
    missing: dict[str, None] = {}
    seen: dict[tuple[str, ...], int] = {}
    for piece in _scan(text):
        if isinstance(piece, str):
            chunk = piece
        elif piece.kind == "spintax":
            options = tuple(part(option) for option in piece.options)
            ordinal = seen.get(options, 0)
            seen[options] = ordinal + 1
            chunk = insert(options[_choice(seed, options, ordinal)])
        elif piece.kind == "unsubscribe":
            chunk = piece.source if unsubscribe_url is None else insert(unsubscribe_url)
        else:
            value = table.get(piece.name)
            if piece.kind == "loom" and value is not None:
                value = value.strip() or None
            if value is None:
                if piece.fallback is None:
                    missing.setdefault(piece.name)
                    continue
                chunk = insert(part(piece.fallback))
            elif piece.kind == "loom" and escape_html and _HTTP_URL.match(value):
                url = insert(value)
                chunk = f'<a href="{url}">{url}</a>'
            else:
                chunk = insert(value)
        size += len(chunk)
        if limit is not None and size > limit:
            raise TooLong(limit)
        out.append(chunk)
    return Rendered(text="".join(out), missing=tuple(missing))
