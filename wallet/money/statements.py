"""Monthly statements of a user's wallet: opening balance, every movement,
closing balance -- which must reconcile, or no statement is produced.

A month is a calendar month in India time (IST). Movements are the postings
on the user's wallet account in the ledger between the month's first instant
and the next month's (or now, for the current month): money in and out as it
was *posted*, so a withdrawal appears when it was paid out and again, with the
opposite sign, if the bank returned it; money only held (a withdrawal not yet
paid) is not a movement. Each line is described as the history shows it (the
counterparty, the kind, the note) from the wallet's transaction record.

Opening and closing balances come from :func:`posted_balance_at` alone (the
ledger's running balance just before each instant); the lines are read by a
separate query from the postings themselves, and their sum must equal
closing minus opening (:class:`StatementDoesNotReconcile` otherwise).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib.tables import accounts, entries, postings

from ..core.codes import IST, Kind, utcnow
from ..core.errors import WalletError
from ..core.models import Transaction, User
from .activity import describe

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
#: The first month a statement can be asked for (the wallet did not exist before).
FIRST_YEAR = 2000


class StatementDoesNotReconcile(RuntimeError):
    """Closing − opening differs from the sum of the movements: the books
    disagree with themselves, so no statement is given (a bug or corruption)."""


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, *, now: dt.datetime) -> Month:
        """``YYYY-MM``, not in the future; :class:`WalletError` otherwise."""
        found = _MONTH.fullmatch(text) if isinstance(text, str) else None
        if found is None or not 1 <= int(found[2]) <= 12 or int(found[1]) < FIRST_YEAR:
            raise WalletError("Choose a month as YYYY-MM, for example 2026-11.", "month")
        month = cls(int(found[1]), int(found[2]))
        if month.start > now:
            raise WalletError("That month has not started yet.", "month")
        return month

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def title(self) -> str:
        return dt.date(self.year, self.month, 1).strftime("%B %Y")

    @property
    def start(self) -> dt.datetime:
        """The month's first instant (midnight IST), in UTC."""
        return dt.datetime(self.year, self.month, 1, tzinfo=IST).astimezone(dt.timezone.utc)

    @property
    def end(self) -> dt.datetime:
        """The next month's first instant, in UTC."""
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return Month(year, month).start


@dataclass(frozen=True)
class StatementLine:
    posted_at: dt.datetime
    #: Positive: money in; negative: money out.
    change_paise: int
    #: The balance after this movement.
    balance_paise: int
    kind: str
    counterparty: str
    note: str
    #: The wallet's transaction reference (TXN00000042), or the ledger entry's.
    reference: str


@dataclass(frozen=True)
class Statement:
    holder_name: str
    holder_phone: str
    month: Month
    #: The end of the period covered: the next month's start, or now.
    until: dt.datetime
    opening_paise: int
    closing_paise: int
    lines: tuple[StatementLine, ...]

    @property
    def money_in_paise(self) -> int:
        return sum(line.change_paise for line in self.lines if line.change_paise > 0)

    @property
    def money_out_paise(self) -> int:
        return -sum(line.change_paise for line in self.lines if line.change_paise < 0)


def posted_balance_at(session: Session, account_code: str, instant: dt.datetime) -> int:
    """The posted balance of an account just before ``instant``, on its normal
    side (a wallet's money is positive): one index lookup on the ledger's
    running balances (``ledgerlib.Ledger.balances_before``), however long the
    history.

    The one source of statements' opening and closing balances.
    """
    try:
        return ledgerlib.Ledger(session).balances_before(account_code, [instant])[0]
    except ledgerlib.AccountNotFound:
        return 0  # no wallet yet: nothing in it


class Statements:
    """Builds a user's monthly statement."""

    def __init__(self, session: Session, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db = session
        self.now = clock

    def parse_month(self, text: str) -> Month:
        return Month.parse(text, now=self.now())

    def for_month(self, user: User, month: Month) -> Statement:
        """The statement; :class:`StatementDoesNotReconcile` if it would not add up."""
        until = min(month.end, self.now())
        code = user.wallet_code
        opening = posted_balance_at(self.db, code, month.start)
        closing = posted_balance_at(self.db, code, until)
        lines = self._lines(user, code, month.start, until, opening)
        moved = sum(line.change_paise for line in lines)
        if closing - opening != moved:
            raise StatementDoesNotReconcile(
                f"statement {month.label} of user {user.id}: closing {closing} - opening "
                f"{opening} != movements {moved}"
            )
        return Statement(user.name, user.masked_phone, month, until, opening, closing,
                         tuple(lines))

    def _lines(self, user: User, code: str, start: dt.datetime, until: dt.datetime,
               opening: int) -> list[StatementLine]:
        rows = self.db.execute(
            select(postings.c.entry_id, postings.c.amount_paise, postings.c.created_at,
                   entries.c.reverses_entry_id, entries.c.memo)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .join(entries, entries.c.id == postings.c.entry_id)
            .where(accounts.c.code == code, postings.c.created_at >= start,
                   postings.c.created_at < until)
            .order_by(postings.c.id)
        ).all()
        wanted = {r.entry_id for r in rows} | {r.reverses_entry_id for r in rows}
        by_entry = {
            tx.ledger_entry_id: tx for tx in self.db.scalars(
                select(Transaction).where(Transaction.ledger_entry_id.in_(wanted - {None}))
            )
        }
        lines, balance = [], opening
        for r in rows:
            change = -r.amount_paise  # a wallet is a liability: a credit is money in
            balance += change
            lines.append(self._line(user, r, change, balance, by_entry))
        return lines

    @staticmethod
    def _line(user: User, row: Any, change: int, balance: int,
              by_entry: dict[int | None, Transaction]) -> StatementLine:
        posted_at: dt.datetime = row.created_at
        tx = by_entry.get(row.entry_id)
        if tx is not None:
            item = describe(user, tx)
            kind = "Refund from shop" if tx.kind == Kind.REFUND else tx.kind.capitalize()
            return StatementLine(posted_at, change, balance, kind, item.counterparty, tx.note,
                                 f"TXN{tx.id:08d}")
        original = by_entry.get(row.reverses_entry_id)
        if original is not None:  # e.g. a withdrawal the bank returned
            item = describe(user, original)
            return StatementLine(posted_at, change, balance,
                                 f"{original.kind.capitalize()} returned", item.counterparty,
                                 original.note, f"TXN{original.id:08d}")
        return StatementLine(posted_at, change, balance, "Adjustment", "—", row.memo,
                             f"ENTRY{row.entry_id:08d}")

