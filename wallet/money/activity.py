"""What a wallet's owner reads: balances, the activity (keyset pages of
everything that touched the wallet) and one transaction described from the
owner's side. Reads only: nothing here moves money."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import Ledger

from ..core import codes
from ..core.errors import WalletError
from ..core.models import Merchant, Transaction, User
from . import shop_shards
from .payees import RecentPayee, recent_payees

__all__ = ["Activity", "ActivityFilter", "ActivityItem", "ActivityPage", "describe"]

ACTIVITY_PAGE_SIZE = 20
MAX_ACTIVITY_PAGE_SIZE = 100


@dataclass(frozen=True)
class ActivityItem:
    transaction: Transaction
    direction: str  # "in" or "out"
    counterparty: str
    amount_paise: int

    @property
    def note(self) -> str:
        """The line under the row: the transaction's note, except that a
        deposit says "Added from <bank>" only once the bank has paid it."""
        tx = self.transaction
        prefix = "Added from "
        if tx.kind != codes.Kind.DEPOSIT or not tx.note.startswith(prefix):
            return tx.note
        bank = tx.note[len(prefix):]
        if tx.status == codes.Status.SUCCESS:
            return tx.note
        if tx.status == codes.Status.PENDING:
            return f"Adding from {bank}: waiting for the bank"
        return f"Not added from {bank}: the bank did not pay it"


@dataclass(frozen=True)
class ActivityFilter:
    """Which of a user's transactions to list: a kind, a status, and India-time
    days from ``first_day`` to ``last_day`` (both included); None: any."""

    kind: str | None = None
    status: str | None = None
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if self.kind is not None:
            stmt = stmt.where(Transaction.kind == self.kind)
        if self.status is not None:
            stmt = stmt.where(Transaction.status == self.status)
        if self.first_day is not None:
            stmt = stmt.where(Transaction.created_at >= codes.ist_day_bounds(self.first_day)[0])
        if self.last_day is not None:
            stmt = stmt.where(Transaction.created_at < codes.ist_day_bounds(self.last_day)[1])
        return stmt


@dataclass(frozen=True)
class ActivityPage:
    items: tuple[ActivityItem, ...]
    next_cursor: str | None


def describe(user: User, tx: Transaction) -> ActivityItem:
    """``tx`` as ``user`` sees it: in or out, and who was on the other side."""
    incoming = tx.payee_user_id == user.id
    other = tx.payer if incoming else tx.payee
    if other is not None:
        counterparty = f"{other.name} ({other.masked_phone})"
    elif tx.payee_merchant is not None:
        counterparty = f"{tx.payee_merchant.name} (@{tx.payee_merchant.handle})"
    elif tx.payer_merchant is not None:  # a refund
        counterparty = f"{tx.payer_merchant.name} (@{tx.payer_merchant.handle})"
    elif tx.bank_code:
        counterparty = f"Your {tx.bank_code.upper()} bank account"
    elif tx.kind == codes.Kind.ADJUSTMENT:  # e.g. compensation for a late reversal
        counterparty = "The wallet"
    else:
        counterparty = "—"
    return ActivityItem(tx, "in" if incoming else "out", counterparty, tx.amount_paise)


class Activity:
    def __init__(self, dbsession: Session, *, ledger: Ledger):
        self.db = dbsession
        self.ledger = ledger

    def balance(self, owner: User | Merchant) -> ledgerlib.Balance:
        """A user's or a shop's balance: posted, held and available."""
        return shop_shards.balance_of(self.ledger, owner)

    def period_balances(self, owner: User | Merchant, start: dt.datetime,
                        end: dt.datetime) -> ledgerlib.PeriodBalances:
        """The wallet's opening (before ``start``) and closing (before ``end``)
        balances, e.g. for a monthly statement: two index lookups on the
        ledger's running balances, however long the history. Holds are not
        counted (they are not postings). A shop's shards are summed."""
        return shop_shards.period_balances(self.ledger, owner, start, end)

    def page(
        self, user: User, *, cursor: str | None = None, limit: int = ACTIVITY_PAGE_SIZE,
        only: ActivityFilter | None = None,
    ) -> ActivityPage:
        """Everything that touched the user's wallet, newest first (keyset
        paging), or only what ``only`` selects."""
        limit = max(1, min(limit, MAX_ACTIVITY_PAGE_SIZE))
        stmt = (
            select(Transaction)
            .where(or_(Transaction.payer_user_id == user.id, Transaction.payee_user_id == user.id))
            .order_by(Transaction.id.desc())
            .limit(limit + 1)
        )
        if only is not None:
            stmt = only.apply(stmt)
        if cursor is not None:
            if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
                raise WalletError("That page link is not valid.")
            stmt = stmt.where(Transaction.id < int(cursor))
        rows = list(self.db.scalars(stmt).unique())
        more = len(rows) > limit
        rows = rows[:limit]
        return ActivityPage(
            tuple(describe(user, tx) for tx in rows),
            str(rows[-1].id) if more else None,
        )

    def transaction_for(self, user: User, transaction_id: int) -> ActivityItem | None:
        """The transaction if ``user`` is a party to it; otherwise None (a 404)."""
        tx = self.db.get(Transaction, transaction_id)
        if tx is None or user.id not in (tx.payer_user_id, tx.payee_user_id):
            return None
        return describe(user, tx)

    def recent_payees(self, user: User, limit: int = 5) -> list[RecentPayee]:
        """"Pay again": the last people and shops ``user`` paid, distinct,
        newest first (one query: wallet.money.payees)."""
        return recent_payees(self.db, user.id, limit=limit)

    def recent_contacts(self, user: User, limit: int = 6) -> list[RecentPayee]:
        """The send page's recent contacts: the last people ``user`` sent money to."""
        return recent_payees(self.db, user.id, limit=limit, shops=False)
