"""Lead variable names: one normal form, so `First Name`, `first_name` and `firstName` agree."""

import re
from functools import lru_cache

# The longest name a variable may have, as written (before normalising): every way a variable
# comes in refuses a longer one (leads.inputs, the CSV header, the preview's values).
MAX_VARIABLE_NAME_LENGTH = 64

_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ACRONYM_WORD = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\W_]+")


def _normal_form(name: str) -> str:
    spaced = _ACRONYM_WORD.sub("_", _LOWER_UPPER.sub("_", name.strip()))
    return _SEPARATORS.sub("_", spaced).strip("_").lower()


# Imports repeat the same few names on every row. Only names a variable may have are cached:
# a longer one (a merge tag's, a CSV header's, before it is refused) would make every entry
# as large as its sender likes.
name_cache = lru_cache(maxsize=4096)(_normal_form)


def normalize_variable_name(name: str) -> str:
    """`First Name`, `first_name`, `firstName`, `FIRST-NAME` → `first_name`."""
    if len(name) > MAX_VARIABLE_NAME_LENGTH:
        return _normal_form(name)
    return name_cache(name)
