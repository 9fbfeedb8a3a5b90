"""Secrets at rest: MultiFernet over REACHKIT_ENCRYPTION_KEYS (newest key first).

New values are encrypted with the newest key; values under any listed key decrypt, so a
key can be added in front, `rotate_encryption_keys` run, and the old key then dropped.
"""

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _current().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same secret, encrypted under the newest key."""
    return _current().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """Text stored encrypted; Python code only ever sees the plaintext.

    Encryption is randomised, so the column cannot be filtered on. The empty string
    stays empty (no secret set).
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)


def is_under_newest_key(token: str) -> bool:
    """Whether the newest key alone decrypts this token (rotation has nothing to do)."""
    try:
        Fernet(settings.ENCRYPTION_KEYS[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True
