"""Per-day and per-month totals of an account, computed in SQL.

Times are stored in UTC. The caller names the zone (e.g. ``Asia/Kolkata``);
each local day or month is turned into its exact UTC interval here (zoneinfo
knows every offset change), and the database sums postings into those
intervals with one ``CASE`` bucket expression, the same SQL on SQLite and
PostgreSQL.

These functions take a SQLAlchemy ``Session`` or ``Connection`` and an account
code; :meth:`ledgerlib.Ledger.daily_totals` and ``monthly_totals`` call them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import schema
from .errors import AccountNotFound, InvalidEntry

#: A report covers at most this many periods (a little over a year of days).
MAX_REPORT_PERIODS = 400


@dataclass(frozen=True)
class PeriodTotal:
    """Totals of one local day or month. ``period_start`` is a local date."""

    period_start: dt.date
    credited_paise: int
    debited_paise: int
    postings: int


def _period_starts(start: dt.date, end: dt.date, period: str) -> list[dt.date]:
    """Local period starts covering start..end, plus the start after the last."""
    if period == "day":
        days = (end - start).days + 1
        return [start + dt.timedelta(days=i) for i in range(days + 1)]
    first = start.replace(day=1)
    months = []
    while first <= end:
        months.append(first)
        first = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    months.append(first)
    return months


def period_totals(
    bind: Session | Connection,
    code: str,
    start: dt.date,
    end: dt.date,
    tz: str,
    *,
    period: Literal["day", "month"],
) -> list[PeriodTotal]:
    """One :class:`PeriodTotal` per period from ``start`` to ``end`` (zeros included)."""
    if end < start:
        raise InvalidEntry("report end is before its start")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidEntry(f"unknown time zone {tz!r}") from None
    starts = _period_starts(start, end, period)
    if len(starts) - 1 > MAX_REPORT_PERIODS:
        raise InvalidEntry(f"a report covers at most {MAX_REPORT_PERIODS} periods")
    bounds_utc = [
        dt.datetime.combine(day, dt.time(), zone).astimezone(dt.timezone.utc)
        for day in starts
    ]
    conn = bind.connection() if isinstance(bind, Session) else bind
    account_id = conn.execute(
        select(schema.accounts.c.id).where(schema.accounts.c.code == code)
    ).scalar()
    if account_id is None:
        raise AccountNotFound(code)

    p = schema.postings
    bucket = case(
        *[
            (p.c.created_at < bindparam(f"b{i}", bound, type_=schema.UTCDateTime), i)
            for i, bound in enumerate(bounds_utc[1:])
        ],
        else_=-1,
    ).label("bucket")
    credited = func.coalesce(
        func.sum(case((p.c.amount_paise < 0, -p.c.amount_paise), else_=0)), 0
    )
    debited = func.coalesce(
        func.sum(case((p.c.amount_paise > 0, p.c.amount_paise), else_=0)), 0
    )
    stmt = (
        select(bucket, credited, debited, func.count())
        .where(
            and_(
                p.c.account_id == account_id,
                p.c.created_at >= bindparam("lo", bounds_utc[0], type_=schema.UTCDateTime),
                p.c.created_at < bindparam("hi", bounds_utc[-1], type_=schema.UTCDateTime),
            )
        )
        .group_by(bucket)
    )
    by_bucket = {
        row[0]: (int(row[1]), int(row[2]), int(row[3]))
        for row in conn.execute(stmt)
    }
    return [
        PeriodTotal(day, *by_bucket.get(i, (0, 0, 0)))
        for i, day in enumerate(starts[:-1])
    ]


def daily_totals(
    bind: Session | Connection, code: str, start: dt.date, end: dt.date, tz: str
) -> list[PeriodTotal]:
    """Credited/debited totals per local day in ``tz``, ``start``..``end`` inclusive."""
    return period_totals(bind, code, start, end, tz, period="day")


def monthly_totals(
    bind: Session | Connection, code: str, start: dt.date, end: dt.date, tz: str
) -> list[PeriodTotal]:
    """Credited/debited totals per local month in ``tz`` (months of start..end)."""
    return period_totals(bind, code, start, end, tz, period="month")
