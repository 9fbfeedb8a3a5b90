"""The schedule module: the 30-minute grid, effective windows, open instants across DST."""

from datetime import UTC, date, datetime, time

import pytest

from campaigns.windows import (
    DAYS,
    Day,
    InvalidTime,
    WeeklySchedule,
    Window,
    days_from_json,
    days_to_json,
    default_days,
    parse_time,
    snap_to_grid,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def week(timezone="America/New_York", start=time(9), end=time(17), **days: Day) -> WeeklySchedule:
    return WeeklySchedule(
        timezone=timezone, default=Window(start, end), days={**default_days(), **days}
    )


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("09:00", time(9, 0)),
        ("09:14", time(9, 0)),
        ("09:15", time(9, 30)),
        ("09:23", time(9, 30)),
        ("09:44", time(9, 30)),
        ("09:45", time(10, 0)),
        ("00:00", time(0, 0)),
        ("00:14", time(0, 0)),
        ("23:30", time(23, 30)),
        ("23:44", time(23, 30)),
        ("23:45", time(23, 30)),
        ("23:59", time(23, 30)),
    ],
)
def test_times_snap_to_the_half_hour_ties_up_and_never_past_23_30(raw, stored):
    assert snap_to_grid(parse_time(raw)) == stored


@pytest.mark.parametrize(
    "raw", ["", "9:00", "09:0", "0900", "24:00", "09:60", "9am", " 09:00", "09:00:00", "0\u0669:00"]
)
def test_only_24_hour_hh_mm_parses(raw):
    with pytest.raises(InvalidTime):
        parse_time(raw)


def test_the_default_week_is_monday_to_friday():
    assert [name for name, day in default_days().items() if day.enabled] == list(DAYS[:5])


def test_days_round_trip_through_their_stored_form():
    days = {**default_days(), "monday": Day(enabled=True, start=time(8), end=None)}
    stored = days_to_json(days)
    assert stored["monday"] == {"enabled": True, "start": "08:00", "end": None}
    assert days_from_json(stored) == days


def test_a_day_without_its_own_times_uses_the_default_window():
    schedule = week(monday=Day(enabled=True, start=time(10), end=None))
    assert schedule.window_of("monday") == Window(time(10), time(17))
    assert schedule.window_of("tuesday") == Window(time(9), time(17))


def test_windows_that_do_not_end_after_they_start_are_named():
    assert week().invalid_windows() == []
    assert week(monday=Day(enabled=True, start=time(18))).invalid_windows() == ["monday"]
    assert week(start=time(17), end=time(17)).invalid_windows() == ["default"]
    late_monday = Day(enabled=True, start=time(18), end=time(19))
    assert week(start=time(17), end=time(9), monday=late_monday).invalid_windows() == ["default"]
    assert week(start=time(17), end=time(9), tuesday=Day(True, end=time(12))).invalid_windows() == [
        "default",
        "tuesday",
    ]


def test_a_window_is_open_from_its_start_until_just_before_its_end():
    schedule = week()  # New York, EST (UTC-5) in January
    monday = date(2026, 1, 5)
    assert schedule.window_on(monday) == (utc(2026, 1, 5, 14), utc(2026, 1, 5, 22))
    assert not schedule.is_open(utc(2026, 1, 5, 13, 59))
    assert schedule.is_open(utc(2026, 1, 5, 14))
    assert schedule.is_open(utc(2026, 1, 5, 21, 59))
    assert not schedule.is_open(utc(2026, 1, 5, 22))


def test_a_disabled_day_has_no_window():
    schedule = week()
    assert schedule.window_on(date(2026, 1, 3)) is None  # a Saturday
    assert not schedule.is_open(utc(2026, 1, 3, 15))


def test_the_local_date_decides_the_day_not_the_utc_date():
    # Monday 23:00 UTC is still Monday 18:00 in New York, after its window; Tokyo is
    # already Tuesday 08:00 there, an hour before its window.
    assert not week().is_open(utc(2026, 1, 5, 23))
    tokyo = week("Asia/Tokyo", start=time(7), end=time(9))
    assert tokyo.is_open(utc(2026, 1, 5, 23))


def test_next_open_is_the_instant_itself_inside_a_window():
    instant = utc(2026, 1, 5, 15, 7)
    assert week().next_open(instant) == instant


def test_next_open_after_hours_is_the_next_enabled_mornings_start():
    friday_evening = utc(2026, 1, 9, 23)  # Friday 18:00 in New York
    assert week().next_open(friday_evening) == utc(2026, 1, 12, 14)  # Monday 09:00 EST


def test_next_open_before_the_window_is_that_days_start():
    assert week().next_open(utc(2026, 1, 5, 6)) == utc(2026, 1, 5, 14)


def test_no_enabled_day_means_never_open():
    closed = {name: Day(enabled=False) for name in DAYS}
    assert week(**closed).next_open(utc(2026, 1, 5, 15)) is None


def test_windows_follow_the_local_clock_across_the_spring_dst_change():
    # New York springs forward on Sunday 2026-03-08: 09:00 is 14:00 UTC on Friday the
    # 6th (EST) and 13:00 UTC on Monday the 9th (EDT).
    schedule = week()
    assert schedule.window_on(date(2026, 3, 6)) == (utc(2026, 3, 6, 14), utc(2026, 3, 6, 22))
    assert schedule.window_on(date(2026, 3, 9)) == (utc(2026, 3, 9, 13), utc(2026, 3, 9, 21))
    assert schedule.next_open(utc(2026, 3, 7, 12)) == utc(2026, 3, 9, 13)
    assert schedule.is_open(utc(2026, 3, 9, 13, 30))
    assert not schedule.is_open(utc(2026, 3, 9, 21, 30))


def test_windows_follow_the_local_clock_across_the_autumn_dst_change():
    # London falls back on Sunday 2026-10-25: 09:00 is 08:00 UTC before, 09:00 UTC after.
    every_day = {name: Day(enabled=True) for name in DAYS}
    schedule = week("Europe/London", **every_day)
    assert schedule.window_on(date(2026, 10, 24))[0] == utc(2026, 10, 24, 8)
    assert schedule.window_on(date(2026, 10, 25))[0] == utc(2026, 10, 25, 9)


def test_a_wall_clock_time_skipped_by_dst_moves_forward_by_the_gap():
    # 02:30 does not exist in New York on 2026-03-08; the window opens at 03:30 EDT.
    every_day = {name: Day(enabled=True) for name in DAYS}
    schedule = week(start=time(2, 30), end=time(4), **every_day)
    assert schedule.window_on(date(2026, 3, 8)) == (utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8))
