"""The dates of a schedule's runs (wallet.money.schedule_dates): pure rules,
checked on examples and properties."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from wallet.core.codes import ScheduleFrequency
from wallet.money.schedule_dates import last_day, nth_date, run_at, run_dates

MONTHLY, WEEKLY, ONCE = (ScheduleFrequency.MONTHLY, ScheduleFrequency.WEEKLY,
                         ScheduleFrequency.ONCE)

starts = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2090, 12, 31))


def test_a_monthly_schedule_on_the_31st_runs_on_the_last_day_of_short_months():
    got = list(run_dates(dt.date(2027, 1, 31), ScheduleFrequency.MONTHLY, count=13))
    assert [d.isoformat() for d in got] == [
        "2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30",
        "2027-07-31", "2027-08-31", "2027-09-30", "2027-10-31", "2027-11-30", "2027-12-31",
        "2028-01-31"]


def test_the_29th_in_a_leap_year_and_after():
    got = list(run_dates(dt.date(2028, 1, 29), MONTHLY, until=dt.date(2029, 3, 1)))
    assert got[1] == dt.date(2028, 2, 29) and got[13] == dt.date(2029, 2, 28)
    assert len(got) == 14  # 29 Mar 2029 is after the end


def test_once_weekly_and_the_ends():
    assert list(run_dates(dt.date(2027, 3, 5), ONCE)) == [dt.date(2027, 3, 5)]
    assert list(run_dates(dt.date(2027, 3, 5), WEEKLY, until=dt.date(2027, 3, 26))) \
        == [dt.date(2027, 3, d) for d in (5, 12, 19, 26)]
    assert len(list(run_dates(dt.date(2027, 3, 5), WEEKLY, count=3))) == 3
    assert list(run_dates(dt.date(2027, 3, 5), MONTHLY, until=dt.date(2027, 3, 4))) \
        == []


def test_a_run_is_due_at_nine_in_india():
    assert run_at(dt.date(2027, 1, 31)) == dt.datetime(2027, 1, 31, 3, 30,
                                                       tzinfo=dt.timezone.utc)


@given(starts, st.integers(min_value=1, max_value=240))
def test_monthly_runs_keep_the_start_day_or_the_month_end(start, number):
    day = nth_date(start, ScheduleFrequency.MONTHLY, number)
    months = start.year * 12 + start.month - 1 + number - 1
    assert (day.year, day.month) == (months // 12, months % 12 + 1)
    assert day.day == min(start.day, last_day(day.year, day.month))


@given(starts, st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=800))
def test_runs_are_in_order_within_their_end(start, count, days):
    until = start + dt.timedelta(days=days)
    for frequency in (ScheduleFrequency.WEEKLY, ScheduleFrequency.MONTHLY):
        by_count = list(run_dates(start, frequency, count=count))
        assert len(by_count) == count and by_count[0] == start
        assert all(a < b for a, b in zip(by_count, by_count[1:], strict=False))
        by_date = list(run_dates(start, frequency, until=until))
        assert by_date and all(d <= until for d in by_date)
        following = nth_date(start, frequency, len(by_date) + 1)
        assert following is not None and following > until
    weekly = list(run_dates(start, ScheduleFrequency.WEEKLY, count=count))
    assert all((b - a).days == 7 for a, b in zip(weekly, weekly[1:], strict=False))
