"""A person-to-person transfer put back: the recipient's wallet pays the
sender the whole amount, once (the ledger key ``reversal:<transaction id>``).

Used where a ticket's answer is "reverse it": a transfer to a wallet that no
longer exists (its account disabled: nobody can spend it), and an operator's
decision in the console. The caller holds the ticket's row (level 4); the
transfer's own row is locked next (level 4 too, always after its ticket), then
the ledger's accounts (8). A recipient who no longer has the amount is refused
(:class:`ReversalNotCovered`): what is left is for an operator (a fraud hold
freezes what remains, wallet.care.fraud), never a negative wallet.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerlib import IdempotencyConflict, InsufficientFunds, Ledger, format_paise

from ..core import codes
from ..core.codes import FraudHoldStatus, Kind, Status, utcnow
from ..core.models import Transaction
from ..core.notifications import Notice, notify
from .errors import ReversalNotCovered, ReversalRefused
from .models import FraudHold

__all__ = ["Reversals", "reversal_key"]


def reversal_key(transaction_id: int) -> str:
    """The one reversal a transfer may ever get."""
    return f"reversal:{transaction_id}"


class Reversals:
    def __init__(self, dbsession: Session, *, ledger: Ledger,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.ledger = ledger
        self.clock = clock

    def reversal_of(self, transaction_id: int) -> Transaction | None:
        """The reversal already made of ``transaction_id``, if any."""
        return self.db.scalars(select(Transaction).where(
            Transaction.idempotency_key == reversal_key(transaction_id))).first()

    def reverse_transfer(self, transaction_id: int, why: str) -> Transaction:
        """Put the completed transfer ``transaction_id`` back (its row locked
        first); a second call answers the first reversal."""
        tx = self._locked_transfer(transaction_id)
        earlier = self.reversal_of(tx.id)
        if earlier is not None:
            return earlier
        assert tx.payer_user_id is not None and tx.payee_user_id is not None
        key = reversal_key(tx.id)
        note = f"Reversal of transfer #{tx.id}"
        try:
            entry = self.ledger.transfer(
                codes.user_wallet(tx.payee_user_id), codes.user_wallet(tx.payer_user_id),
                tx.amount_paise, idempotency_key=key, memo=note,
                metadata={"kind": Kind.ADJUSTMENT, "reverses": tx.id})
        except InsufficientFunds as exc:
            raise ReversalNotCovered(
                f"The recipient's wallet has {format_paise(exc.available_paise)} available: "
                f"not enough to reverse {format_paise(tx.amount_paise)}.") from None
        except IdempotencyConflict:  # (the key is this transfer's alone)
            raise ReversalRefused("This transfer was already reversed.") from None
        now = self.clock()
        back = Transaction(kind=Kind.ADJUSTMENT, status=Status.COMPLETED,
                           amount_paise=tx.amount_paise, payer_user_id=tx.payee_user_id,
                           payee_user_id=tx.payer_user_id, note=note,
                           status_reason=why[:200] or None, idempotency_key=key,
                           ledger_entry_id=entry.id, created_at=now, updated_at=now,
                           settled_at=now)
        self.db.add(back)
        self.db.flush()
        notify(self.db, tx.payer_user_id, Notice.MONEY_RECEIVED,
               f"{format_paise(tx.amount_paise)} of transfer #{tx.id} came back to you: {why}",
               back, now=now)
        notify(self.db, tx.payee_user_id, Notice.TRANSFER_REVERSED,
               f"Transfer #{tx.id} of {format_paise(tx.amount_paise)} was reversed: {why}",
               back, now=now)
        return back

    def _locked_transfer(self, transaction_id: int) -> Transaction:
        query = (select(Transaction).where(Transaction.id == transaction_id)
                 .with_for_update(key_share=True, of=Transaction)
                 .execution_options(populate_existing=True))
        tx = self.db.scalars(query).first()
        if tx is None or tx.kind != Kind.TRANSFER or tx.status != Status.COMPLETED:
            raise ReversalRefused("Only a completed transfer between two wallets can be "
                                  "reversed.")
        if self.db.scalar(select(FraudHold.id).where(
                FraudHold.transaction_id == tx.id,
                FraudHold.status.in_((FraudHoldStatus.HELD, FraudHoldStatus.RETURNED)))):
            # (Its money is held or was returned after a fraud report: decided there.)
            raise ReversalRefused("This transfer was reported as fraud: its money is decided "
                                  "on the fraud review, not reversed.")
        return tx
