"""The dates of a payment schedule's runs: pure functions, no database.

Rules (docs/api.md, "Scheduled payments"):

- ``once``: one run, on the start date.
- ``weekly``: the start date, then every 7 days.
- ``monthly``: the start date's day of the month, every month. A month without
  that day (a start on the 29th, 30th or 31st) runs on its **last day** (28 or
  29 February, 30 April...), and the next month goes back to the start's day:
  each run's date is computed from the start date, never from the previous
  run, so a schedule never drifts (31 Jan, 28 Feb, 31 Mar, 30 Apr...).
- The end: ``count`` runs in all (skipped ones count: a count is a number of
  dates), or every date up to ``until`` (inclusive), or none (until cancelled).

A run on a date happens at :data:`RUN_TIME` in India on that day.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator

from ..core.codes import IST, ScheduleFrequency

__all__ = ["RUN_TIME", "last_day", "nth_date", "run_at", "run_dates", "run_exists"]

#: When, in India, a run is paid on its day (and its notice is sent a day before).
RUN_TIME = dt.time(9, 0)


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def nth_date(start: dt.date, frequency: ScheduleFrequency, number: int) -> dt.date | None:
    """The date of run ``number`` (1 is the first), before any end applies;
    None for a one-off's second run."""
    if number < 1:
        raise ValueError("runs are numbered from 1")
    if frequency == ScheduleFrequency.ONCE:
        return start if number == 1 else None
    if frequency == ScheduleFrequency.WEEKLY:
        return start + dt.timedelta(weeks=number - 1)
    months = start.month - 1 + number - 1
    year, month = start.year + months // 12, months % 12 + 1
    if year > dt.MAXYEAR:
        return None
    return dt.date(year, month, min(start.day, last_day(year, month)))


def run_exists(start: dt.date, frequency: ScheduleFrequency, number: int, *,
               until: dt.date | None = None, count: int | None = None) -> dt.date | None:
    """The date of run ``number`` if the schedule has such a run, else None."""
    if count is not None and number > count:
        return None
    day = nth_date(start, frequency, number)
    if day is None or (until is not None and day > until):
        return None
    return day


def run_dates(start: dt.date, frequency: ScheduleFrequency, *, until: dt.date | None = None,
              count: int | None = None, limit: int = 1000) -> Iterator[dt.date]:
    """Every run's date in order (at most ``limit``: an open-ended schedule
    has no last one)."""
    for number in range(1, limit + 1):
        day = run_exists(start, frequency, number, until=until, count=count)
        if day is None:
            return
        yield day


def run_at(day: dt.date) -> dt.datetime:
    """The instant (UTC) a run on ``day`` is due: :data:`RUN_TIME` in India."""
    return dt.datetime.combine(day, RUN_TIME, IST).astimezone(dt.timezone.utc)


def today_in_india(now: dt.datetime) -> dt.date:
    return now.astimezone(IST).date()
