"""Email address and domain syntax, shared by every app that stores addresses."""

from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator, EmailValidator

MAX_EMAIL_LENGTH = 254
_email_validator = EmailValidator()
_domain_validator = DomainNameValidator(accept_idna=False)


def is_valid_email(value: str) -> bool:
    if len(value) > MAX_EMAIL_LENGTH:
        return False
    try:
        _email_validator(value)
    except ValidationError:
        return False
    return True


def is_valid_domain(value: str) -> bool:
    if "." not in value:
        return False
    try:
        _domain_validator(value)
    except ValidationError:
        return False
    return True


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()
