"""Paying a shop from a user's wallet: by the shop's handle, or at a payment
request's checkout (wallet.merchants.payment_requests), one rule for both
(:meth:`ShopPayments.pay_shop`). Each payment runs inside the caller's
transaction and is approved by the payer's PIN; a refused one wrote nothing."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, cast

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import IdempotencyConflict, InsufficientFunds, Ledger, format_paise

from ..core.codes import Kind, Status, utcnow
from ..core.models import Merchant, MerchantStore, Transaction, User
from ..identity.pins import PinInput, Pins
from . import records, shop_shards
from .errors import (
    STORE_CLOSED,
    AmountTooLarge,
    InsufficientBalance,
    RecipientNotFound,
    StoreClosed,
)
from .freeze import ensure_can_spend
from .quotes import AmountInput, PaymentQuote, read_amount, refuse_beyond_balance, refuse_if_any

__all__ = ["ShopPayments"]


#: A store by its handle (bound parameter ``handle``) with its shop, in one
#: query, built once: paying a handle pays a store (the shop's own handle is
#: its first store's: wallet.merchants.stores).
_STORE_BY_HANDLE = cast("Select[Any]", select(Merchant, MerchantStore)
                        .join(MerchantStore, MerchantStore.merchant_id == Merchant.id)
                        .where(MerchantStore.handle == bindparam("handle")))
#: What a form submitted again must match to be answered by its first payment.
_EARLIER = ("payee_merchant_id", "amount_paise", "payee_store_id")


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
        """The shop a handle pays (its own, or one of its open stores')."""
        found = self.store_by_handle(handle)
        return None if found is None or found[1].closed_at is not None else found[0]

    def store_by_handle(self, handle: str) -> tuple[Merchant, MerchantStore] | None:
        """The store a handle pays and its shop (one query); a closed store
        too (its page says so), an inactive shop not."""
        row = self.db.execute(_STORE_BY_HANDLE, {"handle": _handle(handle)}).first()
        if row is None or not row[0].is_active:
            return None
        return row[0], row[1]

    def set_receiving_shards(self, merchant: Merchant, shards: int) -> None:
        """Spread a busy shop's payments over ``shards`` receiving accounts
        (wallet.money.shop_shards); their number only grows."""
        shop_shards.set_receiving_shards(self.ledger, merchant, shards)

    def refuse_beyond_balance(self, payer: User, amount_paise: int) -> None:
        """More than the payer has: said at the first step, before the PIN."""
        refuse_beyond_balance(self.ledger, payer, amount_paise, "pay")

    def check_payment_amount(self, amount_paise: int) -> None:
        ledgerlib.check_paise(amount_paise)
        if amount_paise > self.max_transfer_paise:
            raise AmountTooLarge(
                f"You can pay at most {format_paise(self.max_transfer_paise)} at a time.")

    def quote_payment(self, payer: User, shop: Merchant | str, amount: AmountInput,
                      note: str = "", *, store: MerchantStore | None = None) -> PaymentQuote:
        """A shop payment's confirm step (wallet.money.quotes), to the shop (as
        its page has it, with the ``store`` whose handle the page was opened
        by) or its handle (read when it is paid): its amount read and checked,
        its note too (both problems at once); no query."""
        problems: dict[str, str] = {}
        amount_paise = read_amount(amount, problems, max_paise=self.max_transfer_paise,
                                   check=self.check_payment_amount)
        if (note_problem := records.note_problem(note)) is not None:
            problems["note"] = note_problem
        refuse_if_any(problems)
        assert amount_paise is not None  # (no problem: read)
        if isinstance(shop, Merchant):
            handle = shop.handle if store is None else store.handle
            return PaymentQuote(self, payer, handle, amount_paise, note, shop, store)
        return PaymentQuote(self, payer, shop, amount_paise, note)

    def pay_merchant(self, payer: User, handle: str, amount_paise: int, request_key: str,
                     note: str = "", *, pin: PinInput) -> Transaction:
        """Pay a shop by a handle, its own or one of its stores' (the payment
        names the store); the same form twice pays once (and the second time
        compares no PIN). The store is read with the shop: no extra query."""
        key = records.idempotency_key(Kind.PAYMENT, payer, request_key)
        found, earlier = records.with_earlier(
            self.db, _STORE_BY_HANDLE, key, _EARLIER, {"handle": _handle(handle)}, leading=2)
        merchant, store = found if found is not None else (None, None)
        if merchant is None or store is None or not merchant.is_active:
            self.check_payment_amount(amount_paise)
            records.clean_note(note)
            raise RecipientNotFound("No shop has that payment handle.", "handle")
        if earlier is not None:
            ensure_can_spend(payer)
            return records.earlier_or_refused(self.db, earlier, payee_merchant_id=merchant.id,
                                              amount_paise=amount_paise,
                                              payee_store_id=store.id)
        if store.closed_at is not None:
            raise StoreClosed(STORE_CLOSED, "handle")
        return self.pay_shop(payer, merchant, amount_paise, key, note, pin=pin,
                             store_id=store.id)

    def pay_shop(self, payer: User, merchant: Merchant, amount_paise: int, key: str,
                 note: str = "", *, pin: PinInput, store_id: int | None = None) -> Transaction:
        """The one rule of paying a shop, by handle or at a payment request's
        checkout, approved by the payer's PIN: ``key`` is the ledger's
        idempotency key, so the same key pays once. ``store_id``: the store
        paid at (None: the shop's first, as payments before stores)."""
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
                                    amount_paise=amount_paise, payee_store_id=store_id)
            if replay is not None:
                return replay
        return records.record(
            self.db, self.clock(), {"payer": payer, "payee_merchant": merchant}, announced=True,
            kind=Kind.PAYMENT, status=Status.COMPLETED, amount_paise=amount_paise,
            payer_user_id=payer.id, payee_merchant_id=merchant.id, payee_store_id=store_id,
            note=note, idempotency_key=key, ledger_entry_id=entry.id)
