"""What a lead is made of, checked once for every way in: the API, its bulk call and CSV imports.

Each rule lives here as a small function; the single-lead serializer, the bulk row
checker (`clean_lead`, which skips DRF's per-field machinery: 1,000 rows a call) and the
CSV reader call the same functions, so the three never disagree.
"""

from dataclasses import dataclass
from typing import Any

from leads.variables import MAX_VARIABLE_NAME_LENGTH, normalize_variable_name
from reachkit.emails import is_valid_email

MAX_NAME_LENGTH = 150
MAX_VARIABLES = 100
MAX_VARIABLE_VALUE_LENGTH = 5000

IF_EXISTS_FAIL = "fail"
IF_EXISTS_SKIP = "skip"
IF_EXISTS_UPDATE = "update"
IF_EXISTS_CHOICES = (IF_EXISTS_FAIL, IF_EXISTS_SKIP, IF_EXISTS_UPDATE)

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
    name = value.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise RuleBroken(f"Ensure this field has no more than {MAX_NAME_LENGTH} characters.")
    return name


def clean_variables(raw: Any) -> dict[str, Scalar]:
    """Scalars only, at most 100, names of at most 64 characters stored in their normal form
    (`First Name` → `first_name`), values of at most 5,000 characters.

    Raises RuleBroken with one message per broken rule.
    """
    if not isinstance(raw, dict):
        raise RuleBroken("Expected an object of variables.")
    messages: list[str] = []
    if len(raw) > MAX_VARIABLES:
        raise RuleBroken(f"At most {MAX_VARIABLES} variables, got {len(raw)}.")
    cleaned: dict[str, Scalar] = {}
    spelled: dict[str, str] = {}
    for key, value in raw.items():
        name = normalize_variable_name(key)
        if len(key) > MAX_VARIABLE_NAME_LENGTH:
            messages.append(
                f'Variable name "{key[:20]}…" is longer than {MAX_VARIABLE_NAME_LENGTH} characters.'
            )
            continue
        if not name:
            messages.append(f'Variable name "{key}" needs a letter or a digit.')
            continue
        if name in spelled:
            messages.append(
                f'Variables "{spelled[name]}" and "{key}" are the same variable ({name}).'
            )
            continue
        spelled[name] = key
        if value is not None and not isinstance(value, str | int | float | bool):
            messages.append(f'Variable "{key}" must be a string, number, boolean or null.')
            continue
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            length = len(value) if isinstance(value, str) else len(repr(value))
            if length > MAX_VARIABLE_VALUE_LENGTH:
                messages.append(
                    f'Variable "{key}" is longer than {MAX_VARIABLE_VALUE_LENGTH:,} characters.'
                )
                continue
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
    return value


def clean_lead(raw: Any) -> LeadInput:
    """One lead of a bulk call, checked with the same strict JSON types as the single create."""
    if not isinstance(raw, dict):
        raise InvalidLead({"non_field_errors": [NOT_AN_OBJECT]})
    errors: dict[str, list[str]] = {}
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
