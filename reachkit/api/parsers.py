"""The JSON parser: DRF's, refusing deep nesting before Python's parser recurses into it."""

import re
from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# No request body of the API nests deeper than a few levels; a hundred thousand `[` made the
# standard parser raise RecursionError (a 500).
MAX_DEPTH = 32

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIRS = re.compile(r"\[\]|\{\}")


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether parsing `text` could nest deeper than `limit`, found without recursing.

    1. Fewer opening brackets than the limit cannot nest deeper than it.
    2. Strings go (brackets in them do not nest), then everything but brackets.
    3. Innermost pairs (`[]`, `{}`) are removed, pass after pass: each pass takes one level
       off, so JSON nested at most `limit` deep is gone after `limit` passes.
    4. What remains once passes stop changing anything is malformed; it is left to the
       parser (for its precise error) only when short enough to stay shallow.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    for _ in range(limit):
        reduced = _INNERMOST_PAIRS.sub("", brackets)
        if reduced == brackets:
            return len(brackets) > limit
        brackets = reduced
    return bool(brackets)


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # DRF 3.18 refuses non-text codecs here (its stubs do not list it yet).
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if nesting_exceeds(text, MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
