"""Balances as of any instant, from the running balance kept on each posting.

Every posting stores ``balance_after`` (the account's posted balance right
after it) and each account's postings are in time order (a posting is never
stamped earlier than the account's previous one), so the balance at an instant
is the ``balance_after`` of the account's latest posting at or before it: one
descent of the index ``(account_id, created_at, id)``, whatever the size of the
books. :func:`ledgerlib.verify` checks every running balance.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, bindparam, select
from sqlalchemy.engine import Connection

from .errors import AccountNotFound, InvalidEntry
from .schema import UTCDateTime, accounts, postings
from .types import PeriodBalances


def _latest_posting(inclusive: bool) -> Any:
    at = bindparam("at", type_=UTCDateTime())
    return (
        select(postings.c.balance_after)
        .where(postings.c.account_id == bindparam("account_id", type_=BigInteger),
               postings.c.created_at <= at if inclusive else postings.c.created_at < at)
        .order_by(postings.c.created_at.desc(), postings.c.id.desc())
        .limit(1)
    )


# Built once: they run per call on hot report pages.
_AT_OR_BEFORE = _latest_posting(inclusive=True)
_BEFORE = _latest_posting(inclusive=False)
_ACCOUNT = select(accounts.c.id, accounts.c.currency).where(
    accounts.c.code == bindparam("code"))


def _check_moment(moment: dt.datetime, name: str) -> None:
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
        raise InvalidEntry(f"{name} must be an aware datetime")


def _account(conn: Connection, code: str) -> tuple[int, str]:
    row = conn.execute(_ACCOUNT, {"code": code}).first()
    if row is None:
        raise AccountNotFound(code)
    return int(row.id), str(row.currency)


def _balance(conn: Connection, account_id: int, at: dt.datetime, inclusive: bool) -> int:
    value = conn.execute(_AT_OR_BEFORE if inclusive else _BEFORE,
                         {"account_id": account_id, "at": at}).scalar()
    return 0 if value is None else int(value)


def balance_as_of(conn: Connection, code: str, at: dt.datetime) -> int:
    """Posted balance (normal side) after every posting stamped at or before ``at``."""
    _check_moment(at, "at")
    account_id, _ = _account(conn, code)
    return _balance(conn, account_id, at, inclusive=True)


def balances_between(
    conn: Connection, code: str, start: dt.datetime, end: dt.datetime
) -> PeriodBalances:
    """Opening (before ``start``) and closing (before ``end``) posted balances."""
    _check_moment(start, "start")
    _check_moment(end, "end")
    if end < start:
        raise InvalidEntry("the period ends before it starts")
    account_id, currency = _account(conn, code)
    return PeriodBalances(
        code, currency, start, end,
        _balance(conn, account_id, start, inclusive=False),
        _balance(conn, account_id, end, inclusive=False),
    )
