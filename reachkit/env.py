"""Typed readers for settings that come from the environment.

Each reader fails loudly, with one line naming the variable, instead of
silently falling back when a value is present but malformed.
"""

import os
import re


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


_RATE = re.compile(r"(\d+)/(\d*)(s|sec|second|m|min|minute|h|hour|d|day)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(text: str) -> tuple[int, int]:
    """`600/min` or `5/15min` as (requests, window in seconds); ValueError otherwise."""
    match = _RATE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a rate like '600/min' or '5/15min': {text!r}")
    count, multiplier, unit = match.groups()
    seconds = int(multiplier or 1) * _UNIT_SECONDS[unit[0]]
    if int(count) < 1 or seconds < 1:
        raise ValueError(f"a rate needs at least 1 request per at least 1 second: {text!r}")
    return int(count), seconds


def env_rate(name: str, default: str) -> str:
    """A rate such as `600/min` or `5/15min` (requests per window), checked at start-up."""
    value = os.environ.get(name, "").strip() or default
    try:
        parse_rate(value)
    except ValueError:
        raise SettingsError(
            f"{name} must look like '600/min' or '5/15min' (s, min, hour, day), got {value!r}"
        ) from None
    return value
