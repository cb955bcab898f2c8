"""Refunds: a shop gives (part of) a payment back, from its wallet to the
payer's. Several partial refunds may follow one another, never more in all
than was paid: each refund locks the payment's row first, so refunds racing
each other are counted one after the other. Each is idempotent by the shop's
key (``refund:<merchant>:<key>``): the same key again returns the first refund
and moves nothing. A refund tells the shop's server by webhook."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import IdempotencyConflict, InsufficientFunds, Ledger, format_paise

from ..core import codes
from ..core.codes import DisputeStatus, Event, Kind, RequestStatus, Status, utcnow
from ..core.errors import DuplicateRequest, WalletError
from ..core.models import Merchant, MerchantStore, Transaction
from ..core.notifications import Notice, notify
from ..core.tasks import TaskQueue
from ..core.text import is_ordinary, one_line
from ..money import shop_shards
from ..money.errors import InsufficientBalance
from ..money.limits import WalletLimits
from .errors import PaymentNotFound, RefundTooLarge
from .events import MerchantEvents
from .models import Dispute, PaymentRequest, Refund
from .modes import in_mode
from .stores import STORE_COLUMNS, StoreRef, store_of

MAX_REASON_CHARS = 140


@dataclass(frozen=True)
class RefundPolicy:
    #: A refund from the merchant app above this needs the shop PIN on its
    #: confirm step (wallet.merchants.refund_quotes); the API's refunds are
    #: made with the shop's own key, which is the owner's.
    confirm_above_paise: int = 5_000_00


class Refunds:
    def __init__(self, dbsession: Session, *, tasks: TaskQueue | None = None,
                 clock: Callable[[], dt.datetime] = utcnow,
                 ledger: Ledger, limits: WalletLimits):
        self.db = dbsession
        self.clock = clock
        self.ledger = ledger
        #: A refund is a credit to the customer's wallet: within its limits.
        self.limits = limits
        self.events = MerchantEvents(dbsession, tasks=tasks, clock=clock)

    def payment_of_request(self, merchant: Merchant, public_id: str) -> int:
        """The payment transaction of one of the shop's paid payment requests."""
        transaction_id = self.db.scalar(select(PaymentRequest.transaction_id).where(
            PaymentRequest.public_id == public_id, PaymentRequest.merchant_id == merchant.id))
        if transaction_id is None:
            raise PaymentNotFound("No paid payment request with that id.")
        return transaction_id

    def refunded_paise(self, payment_id: int) -> int:
        return int(self.db.scalar(select(func.coalesce(func.sum(Refund.amount_paise), 0))
                                  .where(Refund.payment_transaction_id == payment_id)) or 0)

    def spoken_for_paise(self, payment_id: int) -> int:
        """What of the payment is refunded, or disputed and not yet decided
        (wallet.merchants.disputes: the dispute's refund, if the customer
        wins, is its own): one statement, so a dispute decided meanwhile is
        counted once, as one or the other."""
        disputed = (select(func.coalesce(func.sum(Dispute.disputed_paise), 0))
                    .where(Dispute.payment_transaction_id == payment_id,
                           Dispute.status.in_(DisputeStatus.UNRESOLVED)).scalar_subquery())
        return int(self.db.scalar(select(func.coalesce(func.sum(Refund.amount_paise), 0)
                                         + disputed)
                                  .where(Refund.payment_transaction_id == payment_id)) or 0)

    def of_payment(self, payment_id: int) -> list[Refund]:
        return list(self.db.scalars(select(Refund).where(
            Refund.payment_transaction_id == payment_id).order_by(Refund.id)))

    # ------------------------------------------------------------ test mode

    def of_test_request(self, request: PaymentRequest) -> list[Refund]:
        """A test payment request's test refunds (a live one's are by its payment)."""
        return list(self.db.scalars(select(Refund).where(
            Refund.payment_request_id == request.id, in_mode(Refund, False))
            .order_by(Refund.id)))

    def test_refunded_paise(self, request: PaymentRequest) -> int:
        return int(self.db.scalar(select(func.coalesce(func.sum(Refund.amount_paise), 0))
                                  .where(Refund.payment_request_id == request.id,
                                         in_mode(Refund, False))) or 0)

    def refund_test(self, merchant: Merchant, public_id: str, amount_paise: int,
                    reason: str = "") -> Refund:
        """A test refund of a paid test payment request: recorded and told to
        the shop (``livemode: false``), never more in all than was paid; no
        money moves (no transaction, no ledger posting, nobody notified). A
        repeat is the API's to replay (its Idempotency-Key record)."""
        ledgerlib.check_paise(amount_paise)
        reason = self._clean_reason(reason)
        request = self.db.scalar(
            select(PaymentRequest).where(PaymentRequest.public_id == public_id,
                                         PaymentRequest.merchant_id == merchant.id,
                                         in_mode(PaymentRequest, False))
            .with_for_update(key_share=True).execution_options(populate_existing=True))
        if request is None or request.status != RequestStatus.PAID:
            raise PaymentNotFound("No paid test payment request with that id.")
        left = request.amount_paise - self.test_refunded_paise(request)
        if amount_paise > left:
            raise RefundTooLarge(f"At most {format_paise(left)} of this payment is left to "
                                 f"refund; {format_paise(amount_paise)} is more.")
        refund = Refund(public_id=codes.public_id("rf"), merchant_id=merchant.id,
                        livemode=False, payment_request_id=request.id,
                        payment_transaction_id=None, transaction_id=None,
                        amount_paise=amount_paise, reason=reason, created_at=self.clock())
        self.db.add(refund)
        self.db.flush()
        self.events.emit(merchant.id, Event.REFUND_SUCCEEDED, {
            "id": refund.public_id, "payment_request_id": request.public_id,
            "payment_id": None, "test_payment_id": request.test_payment_id,
            "amount_paise": amount_paise,
            "refunded_paise": request.amount_paise - left + amount_paise,
            "payment_amount_paise": request.amount_paise, "reason": reason}, livemode=False)
        return refund

    def refund(self, merchant: Merchant, payment_id: int, amount_paise: int, key: str,
               reason: str = "", *, approve: Callable[[int], object] | None = None) -> Refund:
        """Give ``amount_paise`` of the shop's payment ``payment_id`` back to
        its payer. ``key`` is the shop's idempotency key for this refund.
        ``approve``: the second factor this refund needs (the shop PIN:
        wallet.merchants.refund_quotes), checked after every other check,
        under the payment's lock and before the money moves, given what the
        payment has had refunded already (a large refund split in small ones
        is asked for it as a whole); it raises to refuse."""
        ledgerlib.check_paise(amount_paise)
        reason = self._clean_reason(reason)
        if not codes.is_request_key(key):
            raise WalletError("This form is out of date. Reload the page and try again.")
        ledger_key = codes.refund_key(merchant.id, key)
        payment = self._locked_payment(merchant, payment_id)
        earlier = self._replay(ledger_key, payment.id, amount_paise)
        if earlier is not None:
            return earlier
        self._check_left(payment, amount_paise)
        if approve is not None:
            approve(self.refunded_paise(payment.id))
        tx = self._move(merchant, payment, amount_paise, ledger_key, reason)
        refund = Refund(public_id=codes.public_id("rf"), merchant_id=merchant.id,
                        payment_transaction_id=payment.id, transaction_id=tx.id,
                        amount_paise=amount_paise, reason=reason, created_at=self.clock())
        self.db.add(refund)
        self.db.flush()
        self.events.emit(merchant.id, Event.REFUND_SUCCEEDED, self.event_data(refund, payment))
        return refund

    def preview(self, merchant: Merchant, payment_id: int, amount_paise: int, key: str,
                reason: str = "") -> Transaction:
        """:meth:`refund`'s checks short of the lock and the money (a confirm
        page's): the payment refunded, else WalletError."""
        ledgerlib.check_paise(amount_paise)
        self._clean_reason(reason)
        if not codes.is_request_key(key):
            raise WalletError("This form is out of date. Reload the page and try again.")
        payment = self._refundable(merchant, self.db.get(Transaction, payment_id))
        self._check_left(payment, amount_paise)
        return payment

    @staticmethod
    def _refundable(merchant: Merchant, payment: Transaction | None) -> Transaction:
        if (payment is None or payment.kind != Kind.PAYMENT
                or payment.payee_merchant_id != merchant.id
                or payment.status != Status.COMPLETED or payment.payer_user_id is None):
            raise PaymentNotFound("No such payment of your shop.")
        return payment

    def _check_left(self, payment: Transaction, amount_paise: int) -> None:
        left = payment.amount_paise - self.spoken_for_paise(payment.id)
        if amount_paise > left:
            raise RefundTooLarge(f"At most {format_paise(left)} of this payment is left to "
                                 f"refund; {format_paise(amount_paise)} is more.")

    def _locked_payment(self, merchant: Merchant, payment_id: int) -> Transaction:
        return self._refundable(merchant, self.db.scalar(
            select(Transaction).where(Transaction.id == payment_id)
            .with_for_update(of=Transaction, key_share=True)
            .execution_options(populate_existing=True)))

    def _replay(self, ledger_key: str, payment_id: int, amount_paise: int) -> Refund | None:
        earlier = self.db.scalar(
            select(Refund).join(Transaction, Transaction.id == Refund.transaction_id)
            .where(Transaction.idempotency_key == ledger_key))
        if earlier is None:
            return None
        if earlier.payment_transaction_id != payment_id or earlier.amount_paise != amount_paise:
            raise DuplicateRequest("This refund key was already used for another refund.")
        return earlier

    def _move(self, merchant: Merchant, payment: Transaction, amount_paise: int,
              ledger_key: str, reason: str) -> Transaction:
        payer_id = payment.payer_user_id
        if payer_id is None:
            raise PaymentNotFound("This payment has no payer to refund.")
        note = f"Refund: {reason}" if reason else f"Refund of payment TXN{payment.id:08d}"
        # After the payment's lock, under the customer's: refunds racing other
        # credits to that wallet cannot take it over its limit.
        self.limits.check_incoming(payer_id, amount_paise, what="refunded",
                                   whose="The customer's")
        # A busy shop's payments sit in its receiving shards: into its wallet
        # first, locked with the customer's wallet in the ledger's order.
        shop_shards.consolidate(self.ledger, merchant, with_accounts=[codes.user_wallet(payer_id)])
        try:
            entry = self.ledger.transfer(
                merchant.wallet_code, codes.user_wallet(payer_id), amount_paise,
                idempotency_key=ledger_key, memo=note[:140],
                metadata={"kind": Kind.REFUND, "payment_id": payment.id})
        except InsufficientFunds as exc:
            raise InsufficientBalance(
                f"Your shop's available balance is {format_paise(exc.available_paise)}: not "
                f"enough to refund {format_paise(amount_paise)}.") from None
        except IdempotencyConflict:
            raise DuplicateRequest("This refund key was already used for another "
                                   "refund.") from None
        now = self.clock()
        tx = Transaction(kind=Kind.REFUND, status=Status.COMPLETED, amount_paise=amount_paise,
                         payer_merchant_id=merchant.id, payee_user_id=payer_id,
                         note=note[:140], idempotency_key=ledger_key, ledger_entry_id=entry.id,
                         created_at=now, updated_at=now, settled_at=now)
        self.db.add(tx)
        self.db.flush()
        notify(self.db, payer_id, Notice.REFUND_RECEIVED,
               f"{merchant.name} refunded {format_paise(amount_paise)}", tx, now=now)
        return tx

    @staticmethod
    def _clean_reason(reason: str) -> str:
        reason = one_line(reason)
        if len(reason) > MAX_REASON_CHARS or not is_ordinary(reason):
            raise WalletError(f"Keep the reason to {MAX_REASON_CHARS} ordinary characters.",
                              "reason")
        return reason

    def event_data(self, refund: Refund, payment: Transaction) -> dict[str, object]:
        # The payment request (if a checkout's) and the payment's store: one query.
        row = self.db.execute(
            select(PaymentRequest.public_id, *STORE_COLUMNS)
            .select_from(MerchantStore)
            .outerjoin(PaymentRequest, PaymentRequest.transaction_id == payment.id)
            .where(store_of(payment.payee_store_id, payment.payee_merchant_id))).first()
        request_id, store = (None, None) if row is None else (row[0], StoreRef.of_row(row, 1))
        return {"id": refund.public_id, "payment_request_id": request_id,
                "payment_id": payment.id, "amount_paise": refund.amount_paise,
                "refunded_paise": self.refunded_paise(payment.id),
                "payment_amount_paise": payment.amount_paise, "reason": refund.reason,
                "store": None if store is None else store.as_dict()}
