"""Chinese working days: official holidays and make-up workdays (chinesecalendar).

A year the package does not cover is reported clearly (never silently counted as plain
weekdays); the bureau can then keep that year's holidays and make-up days itself and
pass them in as ``overrides`` (a date -> is-workday mapping).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import chinese_calendar


class CalendarUnknown(Exception):
    """The official calendar of this year is not known here."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(f"no official working-day calendar for {year}")


def is_workday(day: date, overrides: Mapping[date, bool] | None = None) -> bool:
    if overrides and day in overrides:
        return overrides[day]
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if overrides and any(d.year == day.year for d in overrides):
            return day.weekday() < 5  # the year's own table lists its exceptions
        raise CalendarUnknown(day.year) from None


def add_workdays(start: date, count: int, overrides: Mapping[date, bool] | None = None) -> date:
    """The day on which ``count`` working days after ``start`` have passed (start excluded)."""
    day, left = start, count
    while left > 0:
        day += timedelta(days=1)
        if is_workday(day, overrides):
            left -= 1
    return day
