"""Wallet limits, as Indian prepaid wallets have them: a minimum-KYC wallet
holds at most ₹10,000 and takes in at most ₹10,000 a month from banks; a
full-KYC wallet holds at most ₹2,00,000 (the values are settings).

Every credit that a user's choice or someone else's can refuse is checked here
before it moves: a deposit before the user is sent to the bank, a transfer
from another user, a shop's refund. The check locks the receiving user's row
first (``SELECT ... FOR NO KEY UPDATE``), so credits to one wallet are checked
one after the other and concurrent ones cannot overshoot its cap; the balance it
reads is the ledger's, in the same statement as the deposits still pending
(money the bank may still send: counted as already there, so a deposit the
bank confirms later is always within the limit and is never refused).

The lock is ``FOR NO KEY UPDATE``, never ``FOR UPDATE``: it guards against
concurrent credits only, and must not block the ``FOR KEY SHARE`` lock that
PostgreSQL takes on ``users`` for every row inserted that references the user
(a transaction's payer, a notification). ``FOR UPDATE`` did: B->A waited for
A->B's lock on B while A->B waited for B->A's on A -- a deadlock.

Lock order (docs/architecture.md, "Lock order"): the payer's PIN row, then the
receiving user's row, then the ledger's accounts (ledgerlib's own order). A
transfer locks the recipient's row with its lookup (:meth:`WalletLimits.lock_query`),
before the PIN try is counted: on PostgreSQL that count never runs in the
transfer's transaction, and SQLite has no row locks.

Not limited: a payout the bank returns (the money was ours to give back), and
shops' wallets.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

import ledgerlib.tables
from ledgerlib import format_paise

from ..core import codes
from ..core.codes import IST, Kind, KycLevel, Status, utcnow
from ..core.models import Transaction, User
from .errors import DepositLimit, RecipientLimit

__all__ = ["Headroom", "LimitPolicy", "WalletLimits"]


@dataclass(frozen=True)
class LimitPolicy:
    min_kyc_max_balance_paise: int = 10_000_00
    min_kyc_monthly_bank_paise: int = 10_000_00
    full_kyc_max_balance_paise: int = 2_00_000_00

    def max_balance(self, kyc_level: str) -> int:
        return (self.full_kyc_max_balance_paise if kyc_level == KycLevel.FULL
                else self.min_kyc_max_balance_paise)




@dataclass(frozen=True)
class Headroom:
    """How much more a wallet may take in now."""

    kyc_level: str
    max_balance_paise: int
    #: balance + deposits still pending
    committed_paise: int
    #: None: no monthly bank limit (full KYC)
    bank_left_paise: int | None

    @property
    def balance_left_paise(self) -> int:
        return max(0, self.max_balance_paise - self.committed_paise)

    @property
    def deposit_left_paise(self) -> int:
        left = self.balance_left_paise
        return left if self.bank_left_paise is None else min(left, self.bank_left_paise)


@functools.cache
def _committed_statement() -> Select[Any]:
    """WalletLimits.committed_read's statement, built once."""
    accounts = ledgerlib.tables.accounts
    # Transfers pending too: a first payment held for its undo window
    # (wallet.money.transfer_holds) lands later, and must not be refused then.
    pending = (select(func.coalesce(func.sum(Transaction.amount_paise), 0))
               .where(Transaction.payee_user_id == bindparam("committed_user_id"),
                      Transaction.kind.in_((Kind.DEPOSIT, Kind.TRANSFER)),
                      Transaction.status == Status.PENDING)
               .scalar_subquery())
    return (select(accounts.c.posted_paise + pending)
            .where(accounts.c.code == bindparam("committed_wallet")))


def ist_month_start(moment: dt.datetime) -> dt.datetime:
    local = moment.astimezone(IST)
    return dt.datetime(local.year, local.month, 1, tzinfo=IST)


class WalletLimits:
    def __init__(self, dbsession: Session, *, policy: LimitPolicy,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.clock = clock

    @staticmethod
    def committed_read(user_id: int) -> tuple[Select[Any], dict[str, Any]]:
        """The wallet's balance plus its deposits still pending, in one
        statement (one snapshot of both: a deposit settled in between is
        counted once, never zero times), and its parameters."""
        return _committed_statement(), {"committed_user_id": user_id,
                                        "committed_wallet": codes.user_wallet(user_id)}

    def headroom(self, user_id: int, *, lock: bool = False, locked: User | None = None,
                 committed: int | None = None, monthly: bool = True) -> Headroom:
        """The wallet's room now; with ``lock``, under the user's row lock (a
        credit checked on it cannot race another). ``locked``: the user, whose
        row the caller has locked already (its KYC level read in that
        statement: :meth:`lock_query`), which saves the lock's round trip."""
        if locked is not None:
            kyc_level = locked.kyc_level
        else:
            level_query = select(User.kyc_level).where(User.id == user_id)
            if lock:
                # NO KEY UPDATE: foreign-key checks on the user pass (see the module doc).
                level_query = level_query.with_for_update(key_share=True)
            kyc_level = self.db.execute(level_query).scalar_one()
        if committed is None:  # (else read by the caller after the lock: check_incoming)
            committed = int(self.db.execute(*self.committed_read(user_id)).scalar_one())
        bank_left = None
        if monthly and kyc_level != KycLevel.FULL:
            taken = self.db.execute(
                select(func.coalesce(func.sum(Transaction.amount_paise), 0))
                .where(Transaction.payee_user_id == user_id,
                       Transaction.kind == Kind.DEPOSIT,
                       Transaction.status.in_((Status.PENDING, Status.SUCCESS)),
                       Transaction.created_at >= ist_month_start(self.clock()))).scalar_one()
            bank_left = max(0, self.policy.min_kyc_monthly_bank_paise - int(taken))
        return Headroom(kyc_level, self.policy.max_balance(kyc_level), int(committed),
                        bank_left)

    def check_deposit(self, user: User, amount_paise: int) -> None:
        """Refuse a deposit the wallet could not take (before the bank is asked)."""
        room = self.headroom(user.id, lock=True)
        if amount_paise <= room.deposit_left_paise:
            return
        left = room.deposit_left_paise
        if room.bank_left_paise is not None and room.bank_left_paise < room.balance_left_paise:
            why = (f"a minimum-KYC wallet takes in at most "
                   f"{format_paise(self.policy.min_kyc_monthly_bank_paise)} a month from banks")
        else:
            why = f"your wallet holds at most {format_paise(room.max_balance_paise)}"
        can = (f"You can add at most {format_paise(left)} now" if left
               else "You cannot add money now")
        more = (" Complete your KYC to raise the limit to "
                f"{format_paise(self.policy.full_kyc_max_balance_paise)}."
                if room.kyc_level != KycLevel.FULL else "")
        raise DepositLimit(f"{can}: {why}{self._pending_deposits(user.id)}.{more}")

    def _pending_deposits(self, user_id: int) -> str:
        """What the refusal counts that the person may not think of: money
        they started adding that the bank has not confirmed (read only when
        refusing)."""
        rows = self.db.execute(
            select(Transaction.bank_code, func.sum(Transaction.amount_paise))
            .where(Transaction.payee_user_id == user_id, Transaction.kind == Kind.DEPOSIT,
                   Transaction.status == Status.PENDING)
            .group_by(Transaction.bank_code).order_by(Transaction.bank_code)).all()
        if not rows:
            return ""
        total = sum(int(amount) for _, amount in rows)
        banks = " and ".join((code or "your bank").upper() for code, _ in rows)
        return (f", counting {format_paise(total)} you started adding from {banks} that the "
                "bank has not confirmed yet (cancel it on its page in your history, or it "
                "lapses by itself if not paid)")

    @staticmethod
    def lock_query(stmt: Select[Any]) -> Select[Any]:
        """``stmt`` (which selects User) locking the user's row as the check
        needs it, and reading its columns afresh (the row as locked, not as a
        session loaded it before): pass the user to :meth:`check_incoming`
        as ``locked``."""
        # NO KEY UPDATE: foreign-key checks on the user pass (see the module doc).
        return stmt.with_for_update(key_share=True, of=User).execution_options(
            populate_existing=True)

    def check_incoming(self, recipient_id: int, amount_paise: int, *, what: str,
                       whose: str, locked: User | None = None,
                       committed: int | None = None) -> None:
        """Refuse a transfer or refund the recipient's wallet could not take.
        ``whose`` names the recipient's wallet for the sender ("Ravi Kumar's");
        their balance is never told. ``locked``: the recipient, its row locked
        already by the caller's lookup (:meth:`lock_query`); ``committed``:
        :meth:`committed_read` read since that lock was taken (in any
        statement that began after it: no credit can commit in between)."""
        if locked is not None and locked.id != recipient_id:
            raise ValueError("the user locked is not the recipient")
        if committed is not None and locked is None:
            raise ValueError("the balance is read after the lock: lock with the lookup")
        room = self.headroom(recipient_id, lock=True, locked=locked, committed=committed,
                             monthly=False)
        if amount_paise > room.balance_left_paise:
            raise RecipientLimit(
                f"{whose} wallet cannot receive {format_paise(amount_paise)} now: it would go "
                f"over its wallet limit. Nothing was {what}.")
