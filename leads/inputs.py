"""What a lead is made of, checked once for every way in: the API, its bulk call and CSV imports.

Each rule lives here as a small function; the single-lead serializer, the bulk row
checker (`clean_lead`, which skips DRF's per-field machinery: 1,000 rows a call) and the
CSV reader call the same functions, so the three never disagree.
"""

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from leads.variables import MAX_VARIABLE_NAME_LENGTH, normalize_variable_name
from reachkit.api.inputs import unknown_keys
from reachkit.emails import is_valid_email
from reachkit.text import body_text_error, header_text_error, shown, text_error

MAX_NAME_LENGTH = 150
MAX_VARIABLES = 100
MAX_VARIABLE_VALUE_LENGTH = 5000


class IfExists(StrEnum):
    """What adding a lead whose email the campaign already has does."""

    FAIL = "fail"  # the call answers 409 (one lead) or reports the row (bulk, CSV)
    SKIP = "skip"  # the existing lead stays as it is
    UPDATE = "update"  # given names replace, given variables merge into the old ones


IF_EXISTS_CHOICES = [choice.value for choice in IfExists]

REQUIRED = "This field is required."
NOT_A_STRING = "Not a valid string."
BLANK = "This field may not be blank."
INVALID_EMAIL = "Enter a valid email address."
NOT_AN_OBJECT = "Expected an object."

Scalar = str | int | float | bool | None


class RuleBroken(ValueError):
    """One field broke one or more rules; `messages` says which."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


class InvalidLead(Exception):
    """A lead that breaks a rule; `details` maps fields to messages, as in a 422."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__(details)
        self.details = details


@dataclass(slots=True)
class LeadInput:
    """A checked, normalised lead as a client sent it. None means "not given"."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    variables: dict[str, Scalar] | None = None

    @property
    def email_key(self) -> str:
        return self.email.lower()

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


def normalize_email(raw: str) -> str:
    """Trimmed, with a lower-cased domain; the local part keeps its case.

    Raises RuleBroken when the result is not a valid address.
    """
    local, at, domain = raw.strip().rpartition("@")
    email = f"{local}{at}{domain.lower()}"
    if not at or not is_valid_email(email):
        raise RuleBroken(INVALID_EMAIL)
    return email


def clean_name(value: str) -> str:
    """Trimmed, at most 150 characters, and nothing a mail header cannot carry: a name goes
    into the `To:` header (reachkit.text)."""
    name = value.strip()
    problem = header_text_error(name)
    if problem is not None:
        raise RuleBroken(problem)
    if len(name) > MAX_NAME_LENGTH:
        raise RuleBroken(f"Ensure this field has no more than {MAX_NAME_LENGTH} characters.")
    return name


def check_variable_value(key: str, value: str) -> str | None:
    """What is wrong with a variable's text value, or None: at most 5,000 characters, and
    nothing an email body cannot carry (TAB, CR and LF are fine; a subject renders them as
    spaces)."""
    problem = body_text_error(value, f'Variable "{shown(key)}"')
    if problem is not None:
        return problem
    if len(value) > MAX_VARIABLE_VALUE_LENGTH:
        return f'Variable "{shown(key)}" is longer than {MAX_VARIABLE_VALUE_LENGTH:,} characters.'
    return None


def variable_problem(key: str, value: object) -> str | None:
    """What is wrong with one variable as a client sent it, or None: a name of at most 64
    characters with no control character and a letter or a digit; a value that is a string,
    a finite number, a boolean or null, written in at most 5,000 characters (TAB, CR and LF
    are fine in text; a subject renders them as spaces). The lead API and the preview both
    ask this."""
    problem = header_text_error(key, f'Variable name "{shown(key[:20])}"')
    if problem is not None:
        return problem
    if len(key) > MAX_VARIABLE_NAME_LENGTH:
        return f'Variable name "{key[:20]}…" is longer than {MAX_VARIABLE_NAME_LENGTH} characters.'
    if not normalize_variable_name(key):
        return f'Variable name "{key}" needs a letter or a digit.'
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return check_variable_value(key, value)
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no Infinity or NaN (Python reads 1e999 as inf): the database refuses them.
        return f'Variable "{shown(key)}" must be a finite number.'
    if isinstance(value, int | float):
        if len(repr(value)) > MAX_VARIABLE_VALUE_LENGTH:
            return f'Variable "{key}" is longer than {MAX_VARIABLE_VALUE_LENGTH:,} characters.'
        return None
    return f'Variable "{key}" must be a string, number, boolean or null.'


def clean_variables(raw: Any) -> dict[str, Scalar]:
    """Each variable as `variable_problem` allows, at most 100, stored under the normal form
    of its name (`First Name` → `first_name`); two spellings of one name are refused.

    Raises RuleBroken with one message per broken rule.
    """
    if not isinstance(raw, dict):
        raise RuleBroken("Expected an object of variables.")
    if len(raw) > MAX_VARIABLES:
        raise RuleBroken(f"At most {MAX_VARIABLES} variables, got {len(raw)}.")
    messages: list[str] = []
    cleaned: dict[str, Scalar] = {}
    spelled: dict[str, str] = {}
    for key, value in raw.items():
        problem = variable_problem(key, value)
        if problem is not None:
            messages.append(problem)
            continue
        name = normalize_variable_name(key)
        if name in spelled:
            messages.append(
                f'Variables "{spelled[name]}" and "{key}" are the same variable ({name}).'
            )
            continue
        spelled[name] = key
        cleaned[name] = value
    if messages:
        raise RuleBroken(*messages)
    return cleaned


def merge_variables(old: dict[str, Scalar], new: dict[str, Scalar]) -> dict[str, Scalar]:
    """`if_exists: update`: new values win, other old ones stay; still at most 100."""
    merged = {**old, **new}
    if len(merged) > MAX_VARIABLES:
        raise RuleBroken(f"At most {MAX_VARIABLES} variables once merged, got {len(merged)}.")
    return merged


def _string(raw: dict[str, Any], field: str, errors: dict[str, list[str]]) -> str | None:
    value = raw.get(field)
    if value is None:
        if field in raw:
            errors[field] = ["This field may not be null."]
        return None
    if not isinstance(value, str):
        errors[field] = [NOT_A_STRING]
        return None
    problem = text_error(value)
    if problem is not None:
        errors[field] = [problem]
        return None
    return value


LEAD_FIELDS = frozenset({"email", "first_name", "last_name", "variables"})


def clean_lead(raw: Any) -> LeadInput:
    """One lead of a bulk call, checked with the same strict JSON types as the single create."""
    if not isinstance(raw, dict):
        raise InvalidLead({"non_field_errors": [NOT_AN_OBJECT]})
    errors: dict[str, list[str]] = unknown_keys(raw, LEAD_FIELDS.__contains__)
    email = _string(raw, "email", errors)
    if email is None and "email" not in errors:
        errors["email"] = [REQUIRED]
    elif email is not None:
        if not email.strip():
            errors["email"] = [BLANK]
        else:
            try:
                email = normalize_email(email)
            except RuleBroken as error:
                errors["email"] = error.messages
    names: dict[str, str | None] = {}
    for field in ("first_name", "last_name"):
        value = _string(raw, field, errors)
        try:
            names[field] = None if value is None else clean_name(value)
        except RuleBroken as error:
            errors[field] = error.messages
    variables = None
    if "variables" in raw:
        try:
            variables = clean_variables(raw["variables"])
        except RuleBroken as error:
            errors["variables"] = error.messages
    if errors:
        raise InvalidLead(errors)
    assert email is not None
    return LeadInput(
        email=email,
        first_name=names["first_name"],
        last_name=names["last_name"],
        variables=variables,
    )


def search_text(email_key: str, first_name: str, last_name: str, variables: dict[str, Any]) -> str:
    """What `search` matches: email, names and company, lower-cased, one space apart."""
    company = variables.get("company")
    parts = [email_key, first_name, last_name, "" if company is None else str(company)]
    return " ".join(part for part in parts if part).lower()
