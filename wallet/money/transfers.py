"""The wallet's money operations: the one place that holds their rules.

Views, the webhook app and the workers parse their input and call this module;
they never touch the ledger themselves. Each operation runs inside the
caller's transaction (a request's, or a task step's) and raises a
:class:`WalletError` with a message fit for the user when it refuses; a
refused operation has written nothing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import IdempotencyConflict, InsufficientFunds, Ledger, format_paise

from ..core import codes
from ..core.codes import Kind, Status, utcnow
from ..core.errors import WalletError
from ..core.models import Merchant, Transaction, User
from ..core.notifications import Notice
from ..core.phone import InvalidPhone, normalize_phone
from ..core.wallets import open_wallet
from ..identity.pins import PinInput, PinPolicy, Pins
from . import records, shop_shards
from .errors import (
    AmountTooLarge,
    InsufficientBalance,
    RecipientLimit,
    RecipientNotFound,
    SelfTransfer,
)
from .freeze import ensure_can_spend
from .limits import LimitPolicy, WalletLimits
from .quotes import AmountInput, PaymentQuote, TransferQuote, read_amount, refuse_if_any
from .records import Earlier

__all__ = ["ActivityFilter", "ActivityItem", "ActivityPage", "WalletService"]

ACTIVITY_PAGE_SIZE = 20
MAX_ACTIVITY_PAGE_SIZE = 100


@dataclass(frozen=True)
class ActivityItem:
    transaction: Transaction
    direction: str  # "in" or "out"
    counterparty: str
    amount_paise: int


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


class WalletService:
    def __init__(
        self,
        dbsession: Session,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        max_transfer_paise: int,
        pin_policy: PinPolicy,
        limit_policy: LimitPolicy,
    ):
        self.db = dbsession
        self.clock = clock
        self.ledger = Ledger(dbsession, clock=clock)
        self.max_transfer_paise = max_transfer_paise
        #: Every payment out of a user's wallet is approved by the PIN first.
        self.pins = Pins(dbsession, policy=pin_policy, clock=clock)
        #: Every credit to a user's wallet that may be refused is checked here.
        self.limits = WalletLimits(dbsession, policy=limit_policy, clock=clock)

    # ---------------------------------------------------------------- wallets

    def open_user_wallet(self, user: User) -> None:
        open_wallet(self.ledger, user)

    def balance(self, owner: User | Merchant) -> ledgerlib.Balance:
        """A user's or a shop's balance: posted, held and available."""
        if isinstance(owner, Merchant):  # its receiving shards summed
            return shop_shards.balance(self.ledger, owner)
        return self.ledger.balance(owner.wallet_code)

    def set_receiving_shards(self, merchant: Merchant, shards: int) -> None:
        """Spread a busy shop's payments over ``shards`` receiving accounts
        (wallet.money.shop_shards); their number only grows."""
        shop_shards.set_receiving_shards(self.ledger, merchant, shards)

    def period_balances(self, owner: User | Merchant, start: dt.datetime,
                        end: dt.datetime) -> ledgerlib.PeriodBalances:
        """The wallet's opening (before ``start``) and closing (before ``end``)
        balances, e.g. for a monthly statement: two index lookups on the
        ledger's running balances, however long the history. Holds are not
        counted (they are not postings)."""
        return self.ledger.balances_between(owner.wallet_code, start, end)

    def expire_holds(self, *, limit: int = 1000) -> list[int]:
        """Record the ledger holds past their expiry as expired (the periodic
        sweep; the funds check already counts them as released). Their ids."""
        return [hold.id for hold in self.ledger.expire_holds(limit=limit)]

    # -------------------------------------------------------------- transfers

    def send_money(
        self,
        sender: User,
        recipient_phone: str,
        amount_paise: int,
        request_key: str,
        note: str = "",
        *,
        pin: PinInput,
    ) -> Transaction:
        """Move money from ``sender`` to the user with ``recipient_phone``,
        approved by the sender's wallet PIN, if the recipient's wallet can
        take it (wallet.money.limits).

        ``request_key`` is the form's one-time token: submitting the same form
        twice (a double click, a retried request) returns the first transfer.
        """
        recipient, note, key, earlier = self._preview(sender, recipient_phone, amount_paise,
                                                      request_key, note, lock=True)
        if earlier is not None:  # submitted before: its transfer, and no PIN compared
            return self._earlier(earlier, payee_user_id=recipient.id,
                                 amount_paise=amount_paise)
        # The recipient's balance is read with the PIN's outcome (one round
        # trip): after its row was locked by the lookup, before the posting.
        read = self.pins.approve(sender, pin,
                                 read_after=self.limits.committed_query(recipient.id)).read
        try:
            self.limits.check_incoming(
                recipient.id, amount_paise, what="sent", whose=f"{recipient.name}'s",
                locked=recipient, committed=None if read is None else int(read[0]))
        except RecipientLimit:  # a repeat of a transfer made then is no new credit
            replay = self.replay(key, payee_user_id=recipient.id, amount_paise=amount_paise)
            if replay is not None:
                return replay
            raise
        # No look for an earlier submission first: the ledger knows the key and
        # says so (``replayed``), even after the money was spent since.
        try:
            entry = self.ledger.transfer(
                sender.wallet_code,
                recipient.wallet_code,
                amount_paise,
                idempotency_key=key,
                memo=note,
                metadata={"kind": Kind.TRANSFER},
            )
        except InsufficientFunds as exc:
            raise InsufficientBalance(
                f"Your available balance is {format_paise(exc.available_paise)}: "
                f"not enough to send {format_paise(amount_paise)}."
            ) from None
        except IdempotencyConflict:
            raise self.duplicate() from None
        if entry.replayed:
            # This form was submitted before (a double click, a retry, or a twin
            # request that committed while this one waited for the account
            # locks): nothing moved now; return the first submission's record.
            replay = self.replay(key, payee_user_id=recipient.id, amount_paise=amount_paise)
            if replay is not None:
                return replay
        return self._record(
            {"payer": sender, "payee": recipient},
            (recipient.id, Notice.MONEY_RECEIVED,
             f"{sender.name} sent you {format_paise(amount_paise)}"),
            kind=Kind.TRANSFER,
            status=Status.COMPLETED,
            amount_paise=amount_paise,
            payer_user_id=sender.id,
            payee_user_id=recipient.id,
            note=note,
            idempotency_key=key,
            ledger_entry_id=entry.id,
        )

    def preview_transfer(self, sender: User, recipient_phone: str, amount_paise: int,
                         request_key: str, note: str = "") -> tuple[User, str, str]:
        """Check a transfer without moving anything (the confirm step shows
        the recipient's name): (recipient, cleaned note, idempotency key)."""
        return self._preview(sender, recipient_phone, amount_paise, request_key, note)[:3]

    def check_transfer_amount(self, amount_paise: int) -> None:
        ledgerlib.check_paise(amount_paise)
        if amount_paise > self.max_transfer_paise:
            raise AmountTooLarge(
                f"You can send at most {format_paise(self.max_transfer_paise)} at a time."
            )

    def quote_transfer(self, sender: User, recipient_phone: str, amount: AmountInput,
                       note: str = "") -> TransferQuote:
        """A transfer's confirm step (wallet.money.quotes): its amount read and
        checked, its note too (both problems at once); no query."""
        problems: dict[str, str] = {}
        amount_paise = read_amount(amount, problems, max_paise=self.max_transfer_paise,
                                   check=self.check_transfer_amount)
        if (note_problem := self.note_problem(note)) is not None:
            problems["note"] = note_problem
        refuse_if_any(problems)
        assert amount_paise is not None  # (no problem: read)
        return TransferQuote(self, sender, recipient_phone, amount_paise, note)

    def quote_payment(self, payer: User, shop: Merchant | str, amount: AmountInput,
                      note: str = "") -> PaymentQuote:
        """A shop payment's confirm step, to the shop (as its page has it) or
        its handle (read when it is paid); as :meth:`quote_transfer`."""
        problems: dict[str, str] = {}
        amount_paise = read_amount(amount, problems, max_paise=self.max_transfer_paise,
                                   check=self.check_payment_amount)
        if (note_problem := self.note_problem(note)) is not None:
            problems["note"] = note_problem
        refuse_if_any(problems)
        assert amount_paise is not None
        if isinstance(shop, Merchant):
            return PaymentQuote(self, payer, shop.handle, amount_paise, note, shop)
        return PaymentQuote(self, payer, shop, amount_paise, note)

    def _preview(self, sender: User, recipient_phone: str, amount_paise: int,
                 request_key: str, note: str, *,
                 lock: bool = False) -> tuple[User, str, str, Earlier | None]:
        """:meth:`preview_transfer`, and the transfer made earlier with the
        form's key if there is one (looked up in the recipient's query). With
        ``lock`` the recipient's row is locked by that query, as the limits'
        check needs it (WalletLimits.lock_query): no statement of its own."""
        ensure_can_spend(sender)  # frozen: said at the first step, and costs no PIN try
        self.check_transfer_amount(amount_paise)
        note = self.clean_note(note)
        key = self.idempotency_key(Kind.TRANSFER, sender, request_key)
        recipient, earlier = self._recipient(sender, recipient_phone, key, lock=lock)
        return recipient, note, key, earlier

    def _recipient(self, sender: User, phone_text: str, key: str, *,
                   lock: bool = False) -> tuple[User, Earlier | None]:
        try:
            phone = normalize_phone(phone_text)
        except InvalidPhone as exc:  # not a phone number at all: the field is wrong
            raise WalletError(str(exc), "phone") from None
        if phone == sender.phone:
            raise SelfTransfer("You cannot send money to yourself.")
        lookup = select(User).where(User.phone == phone)
        if lock:
            lookup = self.limits.lock_query(lookup)
        recipient, earlier = self._with_earlier(lookup, key, ("payee_user_id", "amount_paise"))
        if recipient is None or not recipient.is_active:
            raise RecipientNotFound("No wallet is registered with that number.")
        return recipient, earlier

    def _with_earlier(self, stmt: Select[Any], key: str,
                      names: tuple[str, ...]) -> tuple[Any, Earlier | None]:
        return records.with_earlier(self.db, stmt, key, names)

    def _earlier(self, earlier: Earlier, **expected: object) -> Transaction:
        return records.earlier_or_refused(self.db, earlier, **expected)

    # ---------------------------------------------------------- pay a merchant

    def merchant_by_handle(self, handle: str) -> Merchant | None:
        merchant = self.db.scalar(select(Merchant).where(
            Merchant.handle == (handle or "").strip().lower()[:30]))
        return merchant if merchant is not None and merchant.is_active else None

    def pay_merchant(self, payer: User, handle: str, amount_paise: int, request_key: str,
                     note: str = "", *, pin: PinInput) -> Transaction:
        """Pay a shop by its handle; the same form twice pays once (and the
        second time compares no PIN)."""
        key = self.idempotency_key(Kind.PAYMENT, payer, request_key)
        merchant, earlier = self._with_earlier(
            select(Merchant).where(Merchant.handle == (handle or "").strip().lower()[:30]),
            key, ("payee_merchant_id", "amount_paise"))
        if merchant is None or not merchant.is_active:
            self.check_payment_amount(amount_paise)
            self.clean_note(note)
            raise RecipientNotFound("No shop has that payment handle.", "handle")
        if earlier is not None:
            ensure_can_spend(payer)
            return self._earlier(earlier, payee_merchant_id=merchant.id,
                                 amount_paise=amount_paise)
        return self.pay_shop(payer, merchant, amount_paise, key, note, pin=pin)

    def check_payment_amount(self, amount_paise: int) -> None:
        ledgerlib.check_paise(amount_paise)
        if amount_paise > self.max_transfer_paise:
            raise AmountTooLarge(
                f"You can pay at most {format_paise(self.max_transfer_paise)} at a time.")

    def pay_shop(self, payer: User, merchant: Merchant, amount_paise: int, key: str,
                 note: str = "", *, pin: PinInput) -> Transaction:
        """The one rule of paying a shop, by handle or at a payment request's
        checkout, approved by the payer's PIN: ``key`` is the ledger's
        idempotency key, so the same key pays once."""
        ensure_can_spend(payer)  # before the PIN: a frozen wallet costs no try
        self.check_payment_amount(amount_paise)
        note = self.clean_note(note)
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
            raise self.duplicate() from None
        if entry.replayed:  # submitted before: nothing moved now
            replay = self.replay(key, payee_merchant_id=merchant.id, amount_paise=amount_paise)
            if replay is not None:
                return replay
        return self._record({"payer": payer, "payee_merchant": merchant},
                            kind=Kind.PAYMENT, status=Status.COMPLETED, amount_paise=amount_paise,
                            payer_user_id=payer.id, payee_merchant_id=merchant.id, note=note,
                            idempotency_key=key, ledger_entry_id=entry.id)

    # ---------------------------------------------------------------- history

    def activity(
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
            tuple(self.describe(user, tx) for tx in rows),
            str(rows[-1].id) if more else None,
        )

    def transaction_for(self, user: User, transaction_id: int) -> ActivityItem | None:
        """The transaction if ``user`` is a party to it; otherwise None (a 404)."""
        tx = self.db.get(Transaction, transaction_id)
        if tx is None or user.id not in (tx.payer_user_id, tx.payee_user_id):
            return None
        return self.describe(user, tx)

    @staticmethod
    def describe(user: User, tx: Transaction) -> ActivityItem:
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
        else:
            counterparty = "—"
        return ActivityItem(tx, "in" if incoming else "out", counterparty, tx.amount_paise)

    # -------------------------------------------------------------- internals

    def _record(self, parties: Mapping[str, User | Merchant],
                notice: tuple[int, Notice, str] | None = None, **values: object) -> Transaction:
        return records.record(self.db, self.clock(), parties, notice, **values)

    def replay(self, key: str, **expected: object) -> Transaction | None:
        return records.replay(self.db, key, **expected)

    duplicate = staticmethod(records.duplicate)
    idempotency_key = staticmethod(records.idempotency_key)
    note_problem = staticmethod(records.note_problem)
    clean_note = staticmethod(records.clean_note)
