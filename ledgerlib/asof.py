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
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from .errors import AccountNotFound, InvalidEntry
from .schema import UTCDateTime, accounts, postings
from .types import PeriodBalances


def _balance_at(bound: str, inclusive: bool) -> Any:
    """The balance_after of the account's latest posting at (or before) ``bound``."""
    at = bindparam(bound, type_=UTCDateTime())
    return (
        select(postings.c.balance_after)
        .where(postings.c.account_id == accounts.c.id,
               postings.c.created_at <= at if inclusive else postings.c.created_at < at)
        .order_by(postings.c.created_at.desc(), postings.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# Built once (they run per call on report pages); one round trip each: the
# account row by its code and, in the same statement, the posting.
_AS_OF = select(accounts.c.currency, _balance_at("at", inclusive=True)).where(
    accounts.c.code == bindparam("code"))
_BETWEEN = select(accounts.c.currency, _balance_at("start", inclusive=False),
                  _balance_at("end", inclusive=False)).where(
    accounts.c.code == bindparam("code"))


@functools.lru_cache(maxsize=32)
def _before_each(n: int) -> Any:
    """The balance before each of ``n`` instants (``at_0``..), in one statement."""
    return select(*[_balance_at(f"at_{i}", inclusive=False) for i in range(n)]).where(
        accounts.c.code == bindparam("code"))


#: balances_before answers at most this many instants per call.
MAX_INSTANTS = 400


def _check_moment(moment: dt.datetime, name: str) -> None:
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
        raise InvalidEntry(f"{name} must be an aware datetime")


def balance_as_of(conn: Connection, code: str, at: dt.datetime) -> int:
    """Posted balance (normal side) after every posting stamped at or before ``at``."""
    _check_moment(at, "at")
    row = conn.execute(_AS_OF, {"code": code, "at": at}).first()
    if row is None:
        raise AccountNotFound(code)
    return int(row[1] or 0)


def balances_between(
    conn: Connection, code: str, start: dt.datetime, end: dt.datetime
) -> PeriodBalances:
    """Opening (before ``start``) and closing (before ``end``) posted balances."""
    _check_moment(start, "start")
    _check_moment(end, "end")
    if end < start:
        raise InvalidEntry("the period ends before it starts")
    row = conn.execute(_BETWEEN, {"code": code, "start": start, "end": end}).first()
    if row is None:
        raise AccountNotFound(code)
    return PeriodBalances(code, row[0], start, end, int(row[1] or 0), int(row[2] or 0))


def balances_before(conn: Connection, code: str, instants: Sequence[dt.datetime]) -> list[int]:
    """The posted balance just before each instant (postings stamped earlier)."""
    if not 1 <= len(instants) <= MAX_INSTANTS:
        raise InvalidEntry(f"give 1 to {MAX_INSTANTS} instants")
    for moment in instants:
        _check_moment(moment, "instant")
    params: dict[str, Any] = {f"at_{i}": moment for i, moment in enumerate(instants)}
    row = conn.execute(_before_each(len(instants)), {"code": code, **params}).first()
    if row is None:
        raise AccountNotFound(code)
    return [int(value or 0) for value in row]
