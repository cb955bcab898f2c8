"""Paying a shop from a user's wallet: by the shop's handle, or at a payment
request's checkout (wallet.merchants.payment_requests), one rule for both
(:meth:`ShopPayments.pay_shop`). Each payment runs inside the caller's
transaction and is approved by the payer's PIN; a refused one wrote nothing."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import IdempotencyConflict, InsufficientFunds, Ledger, format_paise

from ..core.codes import Kind, Status, utcnow
from ..core.models import Merchant, Transaction, User
from ..identity.pins import PinInput, Pins
from . import records, shop_shards
from .errors import AmountTooLarge, InsufficientBalance, RecipientNotFound
from .freeze import ensure_can_spend
from .quotes import AmountInput, PaymentQuote, read_amount, refuse_if_any

__all__ = ["ShopPayments"]


#: A shop by its handle (bound parameter ``handle``), built once.
_SHOP_BY_HANDLE = select(Merchant).where(Merchant.handle == bindparam("handle"))


def _handle(text: str) -> str:
    return (text or "").strip().lower()[:30]


class ShopPayments:
    def __init__(self, dbsession: Session, *, clock: Callable[[], dt.datetime] = utcnow,
                 ledger: Ledger, pins: Pins, max_transfer_paise: int):
        self.db = dbsession
        self.clock = clock
        self.ledger = ledger
        #: Every payment out of a user's wallet is approved by the PIN first.
        self.pins = pins
        self.max_transfer_paise = max_transfer_paise

    def merchant_by_handle(self, handle: str) -> Merchant | None:
        merchant = self.db.scalar(select(Merchant).where(Merchant.handle == _handle(handle)))
        return merchant if merchant is not None and merchant.is_active else None

    def set_receiving_shards(self, merchant: Merchant, shards: int) -> None:
        """Spread a busy shop's payments over ``shards`` receiving accounts
        (wallet.money.shop_shards); their number only grows."""
        shop_shards.set_receiving_shards(self.ledger, merchant, shards)

    def check_payment_amount(self, amount_paise: int) -> None:
        ledgerlib.check_paise(amount_paise)
        if amount_paise > self.max_transfer_paise:
            raise AmountTooLarge(
                f"You can pay at most {format_paise(self.max_transfer_paise)} at a time.")

    def quote_payment(self, payer: User, shop: Merchant | str, amount: AmountInput,
                      note: str = "") -> PaymentQuote:
        """A shop payment's confirm step (wallet.money.quotes), to the shop (as
        its page has it) or its handle (read when it is paid): its amount read
        and checked, its note too (both problems at once); no query."""
        problems: dict[str, str] = {}
        amount_paise = read_amount(amount, problems, max_paise=self.max_transfer_paise,
                                   check=self.check_payment_amount)
        if (note_problem := records.note_problem(note)) is not None:
            problems["note"] = note_problem
        refuse_if_any(problems)
        assert amount_paise is not None  # (no problem: read)
        if isinstance(shop, Merchant):
            return PaymentQuote(self, payer, shop.handle, amount_paise, note, shop)
        return PaymentQuote(self, payer, shop, amount_paise, note)

    def pay_merchant(self, payer: User, handle: str, amount_paise: int, request_key: str,
                     note: str = "", *, pin: PinInput) -> Transaction:
        """Pay a shop by its handle; the same form twice pays once (and the
        second time compares no PIN)."""
        key = records.idempotency_key(Kind.PAYMENT, payer, request_key)
        merchant, earlier = records.with_earlier(
            self.db, _SHOP_BY_HANDLE, key, ("payee_merchant_id", "amount_paise"),
            {"handle": _handle(handle)})
        if merchant is None or not merchant.is_active:
            self.check_payment_amount(amount_paise)
            records.clean_note(note)
            raise RecipientNotFound("No shop has that payment handle.", "handle")
        if earlier is not None:
            ensure_can_spend(payer)
            return records.earlier_or_refused(self.db, earlier, payee_merchant_id=merchant.id,
                                              amount_paise=amount_paise)
        return self.pay_shop(payer, merchant, amount_paise, key, note, pin=pin)

    def pay_shop(self, payer: User, merchant: Merchant, amount_paise: int, key: str,
                 note: str = "", *, pin: PinInput) -> Transaction:
        """The one rule of paying a shop, by handle or at a payment request's
        checkout, approved by the payer's PIN: ``key`` is the ledger's
        idempotency key, so the same key pays once."""
        ensure_can_spend(payer)  # before the PIN: a frozen wallet costs no try
        self.check_payment_amount(amount_paise)
        note = records.clean_note(note)
        self.pins.approve(payer, pin)
        try:  # (an earlier submission of this form: the ledger says ``replayed``)
            entry = self.ledger.transfer(
                payer.wallet_code, shop_shards.receiving_account(merchant), amount_paise,
                idempotency_key=key,
                memo=note, metadata={"kind": Kind.PAYMENT})
        except InsufficientFunds as exc:
            raise InsufficientBalance(
                f"Your available balance is {format_paise(exc.available_paise)}: "
                f"not enough to pay {format_paise(amount_paise)}.") from None
        except IdempotencyConflict:
            raise records.duplicate() from None
        if entry.replayed:  # submitted before: nothing moved now
            replay = records.replay(self.db, key, payee_merchant_id=merchant.id,
                                    amount_paise=amount_paise)
            if replay is not None:
                return replay
        return records.record(
            self.db, self.clock(), {"payer": payer, "payee_merchant": merchant}, announced=True,
            kind=Kind.PAYMENT, status=Status.COMPLETED, amount_paise=amount_paise,
            payer_user_id=payer.id, payee_merchant_id=merchant.id, note=note,
            idempotency_key=key, ledger_entry_id=entry.id)
