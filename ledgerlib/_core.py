"""What every ledger operation stands on: the session, row locks, funds checks
and balance updates.

Balances change only through :meth:`LedgerCore._apply_balance_changes`, on rows
locked by :meth:`LedgerCore._lock_accounts` (ascending account id: the one
global lock order) after :meth:`LedgerCore._first_shortfall` found no
overdraft. Its invariant checks stay on under ``python -O``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import _statements as sql
from .errors import AccountNotFound, InsufficientFunds
from .invariants import check
from .schema import DEBIT_NORMAL_KINDS, accounts
from .types import Account
from .validation import check_codes


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class LockedAccount:
    """An account row as read under ``FOR UPDATE``; balances track our own changes."""

    id: int
    code: str
    kind: str
    currency: str
    allow_negative: bool
    posted_paise: int
    held_paise: int
    sign: int = field(init=False)  # +1 debit-normal, -1 credit-normal

    def __post_init__(self) -> None:
        self.sign = 1 if self.kind in DEBIT_NORMAL_KINDS else -1


Locked = dict[str, LockedAccount]


class LedgerCore:
    """Session, clock, and the locking and balance primitives (see :class:`ledgerlib.Ledger`)."""

    def __init__(self, session: Session, *, clock: Callable[[], dt.datetime] = utcnow):
        self.session = session
        self.clock = clock

    @property
    def _conn(self) -> Connection:
        return self.session.connection()

    @property
    def _dialect(self) -> str:
        return self._conn.dialect.name

    def get_account(self, code: str) -> Account:
        """The account with this code; :class:`~ledgerlib.AccountNotFound` if none."""
        row = self._conn.execute(
            select(accounts).where(accounts.c.code == code)
        ).first()
        if row is None:
            raise AccountNotFound(code)
        return Account(
            id=row.id,
            code=row.code,
            kind=row.kind,
            currency=row.currency,
            owner_ref=row.owner_ref,
            allow_negative=row.allow_negative,
            created_at=row.created_at,
        )

    def _lock_accounts(self, codes: set[str]) -> Locked:
        """Lock the rows of ``codes`` in ascending id order; every code must exist."""
        check_codes(codes)
        rows = self._conn.execute(sql.LOCK_ACCOUNTS, {"codes": sorted(codes)}).all()
        locked = {
            r.code: LockedAccount(
                r.id, r.code, r.kind, r.currency, r.allow_negative, r.posted_paise, r.held_paise
            )
            for r in rows
        }
        missing = codes - locked.keys()
        if missing:
            raise AccountNotFound(", ".join(sorted(missing)))
        return locked

    @staticmethod
    def _code_of(locked: Locked, account_id: int) -> str:
        return next(code for code, acc in locked.items() if acc.id == account_id)

    @staticmethod
    def _first_shortfall(
        locked: Locked,
        posted_change: Mapping[str, int],
        held_change: Mapping[str, int],
    ) -> InsufficientFunds | None:
        """Funds check on the *available* balance, so holds cannot be overspent."""
        for code in sorted(locked):
            acc = locked[code]
            available_change = posted_change.get(code, 0) - held_change.get(code, 0)
            if acc.allow_negative or available_change >= 0:
                continue
            available = acc.posted_paise - acc.held_paise
            if available + available_change < 0:
                return InsufficientFunds(code, available, -available_change)
        return None

    def _apply_balance_changes(
        self,
        locked: Locked,
        posted_change: Mapping[str, int],
        held_change: Mapping[str, int],
    ) -> None:
        """Add the changes to the locked rows, in one UPDATE.

        Raises :class:`~ledgerlib.InvariantViolation` (before the UPDATE) if a
        balance would break an invariant -- impossible unless the books are corrupt.
        """
        params: dict[str, int] = {}
        for code in sorted(posted_change.keys() | held_change.keys(), key=lambda c: locked[c].id):
            posted, held = posted_change.get(code, 0), held_change.get(code, 0)
            if posted == 0 and held == 0:
                continue
            acc = locked[code]
            acc.posted_paise += posted
            acc.held_paise += held
            # TigerBeetle-style invariants: the funds check must make these
            # impossible; if they fire, refuse rather than corrupt.
            check(acc.held_paise >= 0, "held balance of %s would go negative", code)
            check(acc.allow_negative or acc.posted_paise - acc.held_paise >= 0,
                  "available balance of %s would go negative", code)
            i = len(params) // 3
            params.update({f"id_{i}": acc.id, f"posted_{i}": posted, f"held_{i}": held})
        if params:
            self._conn.execute(sql.update_balances(len(params) // 3), params)
