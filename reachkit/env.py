"""Typed readers for settings that come from the environment.

Each reader fails loudly, with one line naming the variable, instead of
silently falling back when a value is present but malformed.
"""

import os


class SettingsError(SystemExit):
    """A bad or missing setting: the process stops with one line naming the variable."""

    def __init__(self, message: str) -> None:
        super().__init__(f"reachkit: {message}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int_range(name: str, default: tuple[int, int]) -> tuple[int, int]:
    """A "min,max" pair of non-negative integers, such as REACHKIT_SEND_GAP_SECONDS."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    parts = [part.strip() for part in raw.split(",")]
    try:
        low, high = (int(part) for part in parts)
    except ValueError:
        raise SettingsError(f"{name} must be 'min,max' in whole numbers, got {raw!r}") from None
    if low < 0 or high < low:
        raise SettingsError(f"{name} must satisfy 0 <= min <= max, got {raw!r}")
    return low, high


def env_required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is required when REACHKIT_DEBUG is off")
    return value
