"""Payee safety: a first payment to someone new, and its undo window.

A transfer is a *first payment* when the sender has no earlier completed (or
still held) transfer to the recipient; the confirm step then shows the
recipient's verified name, masked ("Asha K•••••", from their KYC record), or
says it is not verified. Transfers asks both in its recipient lookup (no
statement of its own: :func:`first_payment_columns`).

A first payment above ``UndoPolicy.above_paise`` goes out *held*:

    pending --sender undoes within the window--> cancelled (hold released; tx failed)
            --the sweep, at lands_at-----------> landed (hold committed; tx completed)

The money leaves the sender's available balance by a ledger hold whose
destination is the recipient's wallet, so neither can spend it meanwhile;
the transaction is ``pending`` with its ``lands_at`` (table ``transfer_holds``).
Undo and landing each lock the ``transfer_holds`` row first (lock order 4),
then the ledger hold (7) and accounts (8); the sweep takes rows SKIP LOCKED,
so an undo and a landing racing end one way only. The recipient's wallet
limit counts held transfers to it as already there (wallet.money.limits), so
a landing is never refused.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from ledgerlib import IdempotencyConflict, InsufficientFunds, Ledger, format_paise

from ..core.codes import IST, Kind, Status, TransferHoldStatus, utcnow
from ..core.models import Transaction, User
from ..core.notifications import Notice, notify
from ..identity.models import KycRecord
from . import records
from .errors import InsufficientBalance, TransferNotFound, UndoClosed
from .models import TransferHold

__all__ = ["CANCELLED_BY_SENDER", "Payee", "TransferHolds", "UndoPolicy",
           "first_payment_columns", "mask_name"]

#: The cancelled transfer's ``status_reason`` (both sides read it).
CANCELLED_BY_SENDER = "cancelled by the sender"
#: Shown for a payee with no KYC record.
NAME_NOT_VERIFIED = "name not verified"
SWEEP_BATCH = 100


@dataclass(frozen=True)
class UndoPolicy:
    """Settings ``wallet.undo_above_paise``, ``wallet.undo_window_s``."""

    #: A first payment above this is held for the window (₹2,000).
    above_paise: int = 2_000_00
    window_s: float = 1800.0


@dataclass(frozen=True)
class Payee:
    """What the sender is told of a recipient before paying them."""

    #: No earlier completed (or held) transfer from this sender to them.
    first_payment: bool
    #: The KYC name masked, or None when they have no verified name.
    verified_name: str | None

    @property
    def name_shown(self) -> str:
        return self.verified_name or NAME_NOT_VERIFIED


def mask_name(name: str) -> str:
    """ "Asha Kumari" -> "Asha K•••••": the first word whole, the others by
    their initial (a fixed run of dots: the length tells nothing)."""
    words = name.split()
    if not words:
        return ""
    return " ".join([words[0], *(f"{word[0]}•••••" for word in words[1:])])


def first_payment_columns(sender_id: Any) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
    """Two columns for a query selecting User (the recipient): whether
    ``sender_id`` (a bound parameter) paid them before, and their KYC name."""
    tx = Transaction.__table__
    paid_before = exists().where(
        tx.c.payer_user_id == sender_id, tx.c.payee_user_id == User.id,
        tx.c.kind == Kind.TRANSFER, tx.c.status.in_((Status.COMPLETED, Status.PENDING)))
    kyc_name = (select(KycRecord.name_on_pan).where(KycRecord.user_id == User.id)
                .scalar_subquery())
    return paid_before.label("paid_before"), kyc_name.label("kyc_name")


def payee_of(paid_before: Any, kyc_name: str | None) -> Payee:
    return Payee(not paid_before, mask_name(kyc_name) if kyc_name else None)


def ist_time(moment: dt.datetime) -> str:
    return moment.astimezone(IST).strftime("%H:%M")


class TransferHolds:
    def __init__(self, dbsession: Session, *, clock: Callable[[], dt.datetime] = utcnow,
                 ledger: Ledger, policy: UndoPolicy):
        self.db = dbsession
        self.clock = clock
        self.ledger = ledger
        self.policy = policy

    def applies(self, payee: Payee, amount_paise: int) -> bool:
        """Does this transfer go out held for the undo window?"""
        return payee.first_payment and amount_paise > self.policy.above_paise

    def send_held(self, sender: User, recipient: User, amount_paise: int, key: str,
                  note: str) -> tuple[Transaction, dt.datetime | None]:
        """The held transfer: its ledger hold (keyed as the transfer), its
        pending record, and the window's row. Called by Transfers.send_money
        after every check (recipient locked, PIN approved, limit checked).
        Its ``lands_at`` too (None: a twin's record, made before)."""
        try:
            hold = self.ledger.hold(sender.wallet_code, recipient.wallet_code, amount_paise,
                                    idempotency_key=key, memo=note,
                                    metadata={"kind": Kind.TRANSFER})
        except InsufficientFunds as exc:
            raise InsufficientBalance(
                f"Your available balance is {format_paise(exc.available_paise)}: "
                f"not enough to send {format_paise(amount_paise)}.") from None
        except IdempotencyConflict:
            raise records.duplicate() from None
        # A twin that committed while this one waited for the locks made the
        # record: the hold was its (replayed), nothing new.
        replay = records.replay(self.db, key, payee_user_id=recipient.id,
                                amount_paise=amount_paise)
        if replay is not None:
            return replay, None
        now = self.clock()
        lands_at = now + dt.timedelta(seconds=self.policy.window_s)
        tx = records.record(
            self.db, now, {"payer": sender, "payee": recipient},
            (recipient.id, Notice.TRANSFER_INCOMING,
             f"{sender.name} is sending you {format_paise(amount_paise)}: "
             f"available at {ist_time(lands_at)}"),
            kind=Kind.TRANSFER, status=Status.PENDING, amount_paise=amount_paise,
            payer_user_id=sender.id, payee_user_id=recipient.id, note=note,
            idempotency_key=key, settled_at=None)
        self.db.add(TransferHold(transaction_id=tx.id, hold_id=hold.id, lands_at=lands_at,
                                 status=TransferHoldStatus.PENDING, updated_at=now))
        self.db.flush()
        return tx, lands_at

    def lands_at(self, transaction_ids: Iterable[int]) -> dict[int, dt.datetime]:
        """When each of these transfers (still pending) lands."""
        ids = list(transaction_ids)
        if not ids:
            return {}
        rows = self.db.execute(select(TransferHold.transaction_id, TransferHold.lands_at)
                               .where(TransferHold.transaction_id.in_(ids),
                                      TransferHold.status == TransferHoldStatus.PENDING))
        return {tx_id: when for tx_id, when in rows}

    def _locked(self, transaction_id: int, *, skip_locked: bool = False
                ) -> tuple[Transaction, TransferHold] | None:
        """The transfer (its payer and payee joined: the answer names them)
        and its window's row, that row locked (order 4)."""
        row = self.db.execute(
            select(Transaction, TransferHold).join(
                TransferHold, TransferHold.transaction_id == Transaction.id)
            .where(Transaction.id == transaction_id)
            .with_for_update(of=TransferHold, key_share=True, skip_locked=skip_locked)
            .execution_options(populate_existing=True)).first()
        return None if row is None else (row[0], row[1])

    def undo(self, user: User, transaction_id: int) -> Transaction:
        """Cancel ``user``'s held transfer within its window: the hold
        released (all of it back), the transfer failed, both told. Another
        user's transfer, or one never held, is not found; one landed or past
        its window is refused (nothing written); one cancelled already is
        answered as it is (undoing twice changes nothing)."""
        found = self._locked(transaction_id)
        if found is None or found[0].payer_user_id != user.id:
            raise TransferNotFound("No such transfer of yours to undo.")
        tx, held = found
        now = self.clock()
        if held.status == TransferHoldStatus.CANCELLED:
            return tx  # undone already (a retry): nothing more to do
        if held.status != TransferHoldStatus.PENDING or now >= held.lands_at:
            raise UndoClosed(f"This transfer can no longer be undone: its window ended at "
                             f"{ist_time(held.lands_at)} IST and the money has reached "
                             f"the recipient.")
        self.ledger.release_hold(held.hold_id)
        held.status, held.updated_at = TransferHoldStatus.CANCELLED, now
        tx.status, tx.status_reason, tx.updated_at = Status.FAILED, CANCELLED_BY_SENDER, now
        amount = format_paise(tx.amount_paise)
        notify(self.db, tx.payer_user_id, Notice.TRANSFER_CANCELLED,
               f"You cancelled your transfer of {amount}: it is back in your wallet.", tx,
               now=now)
        notify(self.db, tx.payee_user_id, Notice.TRANSFER_CANCELLED,
               f"A transfer of {amount} to you was cancelled by the sender.", tx, now=now)
        self.db.flush()
        return tx

    def due(self, limit: int = SWEEP_BATCH) -> list[int]:
        """The held transfers whose window is over (the sweep's), due first."""
        return list(self.db.scalars(
            select(TransferHold.transaction_id)
            .where(TransferHold.status == TransferHoldStatus.PENDING,
                   TransferHold.lands_at <= self.clock())
            .order_by(TransferHold.lands_at).limit(limit)))

    def land(self, transaction_id: int) -> Transaction | None:
        """Land one held transfer whose window is over: its hold committed,
        the transfer completed, the recipient told. None when another worker
        or an undo holds it (SKIP LOCKED), or it is no longer due."""
        found = self._locked(transaction_id, skip_locked=True)
        if found is None:
            return None
        tx, held = found
        now = self.clock()
        if held.status != TransferHoldStatus.PENDING or now < held.lands_at:
            return None
        entry = self.ledger.commit_hold(held.hold_id)
        held.status, held.updated_at = TransferHoldStatus.LANDED, now
        tx.status, tx.ledger_entry_id = Status.COMPLETED, entry.id
        tx.settled_at = tx.updated_at = now
        payer = self.db.get_one(User, tx.payer_user_id)
        notify(self.db, tx.payee_user_id, Notice.MONEY_RECEIVED,
               f"{payer.name} sent you {format_paise(tx.amount_paise)}", tx, now=now)
        self.db.flush()
        return tx
