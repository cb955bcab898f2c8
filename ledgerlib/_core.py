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
from typing import Any

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
    """An account row as read under its row lock; balances track our own changes."""

    id: int
    code: str
    kind: str
    currency: str
    allow_negative: bool
    overdraft_limit_paise: int
    posted_paise: int
    held_paise: int
    #: Head of the account's hash chain and its latest posting's time (see ledgerlib.chain).
    chain_hash: str = ""
    last_posted_at: dt.datetime | None = None
    sign: int = field(init=False)  # +1 debit-normal, -1 credit-normal

    def __post_init__(self) -> None:
        self.sign = 1 if self.kind in DEBIT_NORMAL_KINDS else -1

    @property
    def floor_paise(self) -> int | None:
        """The lowest available balance allowed; None: no bound (allow_negative)."""
        return None if self.allow_negative else -self.overdraft_limit_paise

    def posting_time(self, now: dt.datetime) -> dt.datetime:
        """``now``, or the latest posting's time if later: postings stay in time order."""
        return posting_time(self.last_posted_at, now)


def posting_time(last_posted_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """A new posting's time: ``now``, or the account's latest posting's if later."""
    return now if last_posted_at is None or last_posted_at <= now else last_posted_at


#: New chain heads by account code: (hash of the latest posting, its time).
Heads = dict[str, tuple[str, dt.datetime]]


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
            overdraft_limit_paise=row.overdraft_limit_paise,
        )

    def _lock_accounts(self, codes: set[str]) -> Locked:
        """Lock the rows of ``codes`` in ascending id order; every code must exist."""
        locked = self._lock_found(codes)
        missing = codes - locked.keys()
        if missing:
            raise AccountNotFound(", ".join(sorted(missing)))
        return locked

    def _lock_found(self, codes: set[str]) -> Locked:
        """Lock the rows of those of ``codes`` that exist, in ascending id order."""
        check_codes(codes)
        rows = self._conn.execute(sql.LOCK_ACCOUNTS, {"codes": sorted(codes)}).all()
        return {
            r.code: LockedAccount(
                r.id, r.code, r.kind, r.currency, r.allow_negative, r.overdraft_limit_paise,
                r.posted_paise, r.held_paise, r.chain_hash, r.last_posted_at,
            )
            for r in rows
        }

    @staticmethod
    def _code_of(locked: Locked, account_id: int) -> str:
        return next(code for code, acc in locked.items() if acc.id == account_id)

    @staticmethod
    def _first_shortfall(
        locked: Locked,
        posted_change: Mapping[str, int],
        held_change: Mapping[str, int],
    ) -> InsufficientFunds | None:
        """Funds check on the *available* balance, so holds cannot be overspent.

        An account may go down to minus its overdraft limit (no bound with
        ``allow_negative``); the error reports what could still be spent.
        """
        # Only the accounts that change (a batch locks many more than one entry touches).
        for code in sorted(posted_change.keys() | held_change.keys()):
            acc = locked[code]
            available_change = posted_change.get(code, 0) - held_change.get(code, 0)
            floor = acc.floor_paise
            if floor is None or available_change >= 0:
                continue
            available = acc.posted_paise - acc.held_paise
            if available + available_change < floor:
                return InsufficientFunds(code, available - floor, -available_change)
        return None

    def _apply_balance_changes(
        self,
        locked: Locked,
        posted_change: Mapping[str, int],
        held_change: Mapping[str, int],
        heads: Heads | None = None,
    ) -> None:
        """Add the changes to the locked rows (and move their chain heads), in one UPDATE.

        Raises :class:`~ledgerlib.InvariantViolation` (before the UPDATE) if a
        balance would break an invariant -- impossible unless the books are corrupt.
        """
        heads = heads or {}
        params: dict[str, Any] = {}
        n = 0
        touched = posted_change.keys() | held_change.keys() | heads.keys()
        for code in sorted(touched, key=lambda c: locked[c].id):
            posted, held = posted_change.get(code, 0), held_change.get(code, 0)
            if posted == 0 and held == 0 and code not in heads:
                continue
            acc = locked[code]
            acc.posted_paise += posted
            acc.held_paise += held
            # TigerBeetle-style invariants: the funds check must make these
            # impossible; if they fire, refuse rather than corrupt.
            check(acc.held_paise >= 0, "held balance of %s would go negative", code)
            floor = acc.floor_paise
            check(floor is None or acc.posted_paise - acc.held_paise >= floor,
                  "available balance of %s would go below its overdraft limit", code)
            params.update({f"id_{n}": acc.id, f"posted_{n}": posted, f"held_{n}": held})
            if heads:
                acc.chain_hash, acc.last_posted_at = heads.get(
                    code, (acc.chain_hash, acc.last_posted_at))
                params.update({f"hash_{n}": acc.chain_hash, f"at_{n}": acc.last_posted_at})
            n += 1
        if n:
            self._conn.execute(sql.update_balances(n, bool(heads)), params)
