"""Lead variable names: one normal form, so `First Name`, `first_name` and `firstName` agree."""

import re
from functools import lru_cache

_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ACRONYM_WORD = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\W_]+")


@lru_cache(maxsize=4096)  # imports repeat the same few names on every row
def normalize_variable_name(name: str) -> str:
    """`First Name`, `first_name`, `firstName`, `FIRST-NAME` → `first_name`."""
    spaced = _ACRONYM_WORD.sub("_", _LOWER_UPPER.sub("_", name.strip()))
    return _SEPARATORS.sub("_", spaced).strip("_").lower()
