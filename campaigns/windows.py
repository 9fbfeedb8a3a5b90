"""Sending windows: the 30-minute grid, and when a campaign's schedule is open.

Pure functions over a `WeeklySchedule` (no database), so the API validates with the same
rules the scheduler sends by. Windows are local wall-clock times in the campaign's
timezone; every instant in and out is an aware datetime, DST-correct through zoneinfo.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# The spec's supported zones: the only values a schedule's timezone may take.
SUPPORTED_TIMEZONES = (
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Vancouver",
    "America/Phoenix",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Toronto",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Kiev",
    "Europe/Moscow",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
DEFAULT_TIMEZONE = "America/New_York"

# In date.weekday() order: monday is 0.
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WORKDAYS = DAYS[:5]

GRID_MINUTES = 30
MAX_TIME = time(23, 30)
DEFAULT_START = time(9, 0)
DEFAULT_END = time(17, 0)

_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class InvalidTime(ValueError):
    """A time string that is not a 24-hour "HH:MM"."""


def parse_time(text: str) -> time:
    """A strict 24-hour "HH:MM", not yet on the grid."""
    match = _HH_MM.fullmatch(text)
    if match is None:
        raise InvalidTime('Use a 24-hour time, "HH:MM".')
    return time(int(match[1]), int(match[2]))


def snap_to_grid(value: time) -> time:
    """The nearest half hour, ties rounding up; anything past 23:30 is stored as 23:30.

    09:14 → 09:00, 09:15 → 09:30, 09:23 → 09:30, 09:45 → 10:00. 23:45 would round to
    midnight of the next day, which a same-day window cannot end at, so it clamps to the
    maximum instead: "until the end of the day" keeps its meaning.
    """
    minutes = value.hour * 60 + value.minute
    half = GRID_MINUTES // 2
    snapped = (minutes + half) // GRID_MINUTES * GRID_MINUTES
    if snapped > MAX_TIME.hour * 60 + MAX_TIME.minute:
        return MAX_TIME
    return time(snapped // 60, snapped % 60)


def format_time(value: time) -> str:
    return value.strftime("%H:%M")


@dataclass(frozen=True)
class Window:
    """Local wall-clock times of one day: sending is allowed from `start` until `end`."""

    start: time
    end: time


@dataclass(frozen=True)
class Day:
    enabled: bool
    start: time | None = None
    end: time | None = None


def default_days() -> dict[str, Day]:
    return {day: Day(enabled=day in WORKDAYS) for day in DAYS}


def days_to_json(days: Mapping[str, Day]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "enabled": day.enabled,
            "start": format_time(day.start) if day.start else None,
            "end": format_time(day.end) if day.end else None,
        }
        for name, day in days.items()
    }


def days_from_json(raw: Mapping[str, Any]) -> dict[str, Day]:
    """Stored days back to `Day`s; a day missing from storage is disabled."""
    days = {}
    for name in DAYS:
        entry = raw.get(name) or {}
        days[name] = Day(
            enabled=bool(entry.get("enabled", False)),
            start=parse_time(entry["start"]) if entry.get("start") else None,
            end=parse_time(entry["end"]) if entry.get("end") else None,
        )
    return days


@dataclass(frozen=True)
class WeeklySchedule:
    """A campaign's week: a default window, per-day overrides, in one IANA timezone."""

    timezone: str
    default: Window
    days: Mapping[str, Day]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window_of(self, name: str) -> Window:
        """A day's effective window: its own start/end, each falling back to the default."""
        day = self.days[name]
        return Window(start=day.start or self.default.start, end=day.end or self.default.end)

    def invalid_windows(self) -> list[str]:
        """Where a window does not end after it starts: "default", and the days whose own
        start or end makes their effective window empty (the others share the default's)."""
        bad = [] if self.default.end > self.default.start else ["default"]
        for name in DAYS:
            day, window = self.days[name], self.window_of(name)
            if (day.start or day.end) and window.end <= window.start:
                bad.append(name)
        return bad

    def window_on(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants a local date's window opens and closes; None on a disabled day.

        A wall-clock time skipped by a spring-forward change moves forward by the gap;
        one that occurs twice (fall-back) is its first occurrence.
        """
        name = DAYS[day.weekday()]
        if not self.days[name].enabled:
            return None
        window = self.window_of(name)
        return self._instant(day, window.start), self._instant(day, window.end)

    def is_open(self, instant: datetime) -> bool:
        """Whether an aware instant falls inside its local day's window."""
        local_day = instant.astimezone(self.zone).date()
        window = self.window_on(local_day)
        return window is not None and window[0] <= instant < window[1]

    def next_open(self, instant: datetime) -> datetime | None:
        """The earliest instant at or after `instant` when sending is allowed.

        `instant` itself when the window is open; otherwise the next window's opening,
        searched over the coming week. None when no day is enabled.
        """
        local_day = instant.astimezone(self.zone).date()
        for offset in range(8):
            window = self.window_on(local_day + timedelta(days=offset))
            if window is None or window[1] <= instant:
                continue
            return max(window[0], instant.astimezone(UTC))
        return None

    def _instant(self, day: date, at: time) -> datetime:
        # fold=0: a skipped wall-clock time moves forward by the gap (02:30 → 03:30 on a
        # spring-forward night), a repeated one is its first occurrence.
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)
