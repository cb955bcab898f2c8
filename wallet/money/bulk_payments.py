"""Many payments into one shop in one ledger batch: imports, and the demo
shop's history. Each payment is checked as :meth:`ShopPayments.pay_shop`
checks it (a frozen wallet, amount, note, the idempotency key, the payer's PIN
or approval, the payer's available balance on locked rows); the ledger posts
them all in a few statements. The keys are looked up first, in one query: a
payment made before is answered, and a key reused with other details refused,
before any PIN is compared."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

import ledgerlib
from ledgerlib import IdempotencyConflict, InsufficientFunds, format_paise

from ..core.codes import Kind, Status
from ..core.counter_events import announce
from ..core.errors import WalletError
from ..core.models import Merchant, Transaction, User
from ..identity.pins import PinInput
from . import records, shop_shards
from .errors import InsufficientBalance
from .freeze import ensure_can_spend
from .shop_payments import ShopPayments


@dataclass(frozen=True)
class ShopPayment:
    payer: User
    amount_paise: int
    #: The ledger's idempotency key (e.g. ``records.idempotency_key(...)``).
    key: str
    note: str = ""
    #: The payer's PIN, or the approval of one (wallet.identity.pins): as pay_shop asks.
    pin: PinInput = None


def pay_shop_batch(wallet: ShopPayments, merchant: Merchant,
                   payments: Sequence[ShopPayment]) -> list[Transaction | WalletError]:
    """Pay ``merchant`` each of ``payments``, in order; per payment its
    Transaction (the first one's again for a repeated key) or the error that
    refused it (nothing of that payment was written)."""
    outcome: list[Transaction | WalletError | None] = [None] * len(payments)
    notes = _checked_notes(wallet, merchant, payments, outcome)
    items, positions = [], []
    for i, payment in enumerate(payments):
        if i not in notes:  # refused by its checks, or made before
            continue
        items.append(ledgerlib.transfer_item(
            payment.payer.wallet_code, shop_shards.receiving_account(merchant),
            payment.amount_paise,
            idempotency_key=payment.key, memo=notes[i], metadata={"kind": Kind.PAYMENT}))
        positions.append(i)
    rows = []
    made_now: dict[str, Transaction] = {}
    for i, result in zip(positions, wallet.ledger.post_batch(items), strict=True):
        payment = payments[i]
        if result.status == "refused":
            outcome[i] = _refusal(result.error, payment.amount_paise)
        elif result.status == "replayed":  # by an earlier call, or earlier in this one
            made = made_now.get(payment.key) or records.replay(
                wallet.db, payment.key, payee_merchant_id=merchant.id,
                amount_paise=payment.amount_paise)
            outcome[i] = made or WalletError("This payment was already made.")
        elif result.entry is not None:  # posted
            now = wallet.clock()
            tx = Transaction(created_at=now, updated_at=now, settled_at=now,
                             kind=Kind.PAYMENT, status=Status.COMPLETED,
                             amount_paise=payment.amount_paise, payer_user_id=payment.payer.id,
                             payee_merchant_id=merchant.id, note=notes[i],
                             idempotency_key=payment.key, ledger_entry_id=result.entry.id)
            rows.append(tx)
            made_now[payment.key] = outcome[i] = tx
    wallet.db.add_all(rows)
    wallet.db.flush()  # one flush for the lot
    for tx in rows:  # the counter hears of each (inserted by the next flush)
        announce(wallet.db, tx)
    return [o for o in outcome if o is not None]


def _checked_notes(wallet: ShopPayments, merchant: Merchant, payments: Sequence[ShopPayment],
                   outcome: list[Transaction | WalletError | None]) -> dict[int, str]:
    """Check each payment as pay_shop does; the cleaned note of each one to
    post, by position (a refused one's error, or the payment made before
    under its key, goes to ``outcome``). Whatever refuses a payment for
    another reason does so before its PIN is compared. The PINs are checked in
    ascending payer id order, whatever the payments' order: each check counts
    a try on the payer's PIN row, and two batches taking the same rows in
    different orders could deadlock (docs/architecture.md, "Lock order")."""
    notes: dict[int, str] = {}
    made_before = _made_before(wallet, payments)
    first_details: dict[str, tuple[int, int]] = {}
    for i in sorted(range(len(payments)), key=lambda i: (payments[i].payer.id, i)):
        payment = payments[i]
        details = (merchant.id, payment.amount_paise)
        try:
            ensure_can_spend(payment.payer)
            wallet.check_payment_amount(payment.amount_paise)
            note = records.clean_note(payment.note)
            made = made_before.get(payment.key)
            if made is not None:  # paid before: that payment, no PIN compared
                if (made.payee_merchant_id, made.amount_paise) != details:
                    raise records.duplicate()
                outcome[i] = made
                continue
            if first_details.setdefault(payment.key, details) != details:
                raise records.duplicate()  # (earlier in this batch)
            wallet.pins.approve(payment.payer, payment.pin)
        except (WalletError, ledgerlib.LedgerError) as error:
            outcome[i] = error if isinstance(error, WalletError) else WalletError(str(error))
            continue
        notes[i] = note
    return notes


def _made_before(wallet: ShopPayments,
                 payments: Sequence[ShopPayment]) -> dict[str, Transaction]:
    keys = {payment.key for payment in payments}
    return {tx.idempotency_key or "": tx for tx in wallet.db.scalars(
        select(Transaction).where(Transaction.idempotency_key.in_(keys)))}


def _refusal(error: ledgerlib.LedgerError | None, amount_paise: int) -> WalletError:
    if isinstance(error, InsufficientFunds):
        return InsufficientBalance(
            f"Your available balance is {format_paise(error.available_paise)}: "
            f"not enough to pay {format_paise(amount_paise)}.")
    if isinstance(error, IdempotencyConflict):
        return records.duplicate()
    return WalletError(str(error))
