"""In-app notifications: what a user should hear of (money received, a
withdrawal paid or returned, a refund, a deposit confirmed or failed), and what
a shop should (a change to where its settlements go, or to its shop PIN: kept
like sent e-mails, for the owner to spot a change they did not make). The
domain writes them where the event happens, in the same database transaction,
so a notification exists exactly when its event does."""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import Insert, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from . import observe
from .codes import utcnow
from .models import MerchantNotification, Notification, Transaction

MAX_LISTED = 30


class Notice(StrEnum):
    """``notifications.kind``: what a user hears of."""

    MONEY_RECEIVED = "money_received"
    WITHDRAWAL_PAID = "withdrawal_paid"
    WITHDRAWAL_FAILED = "withdrawal_failed"
    WITHDRAWAL_RETURNED = "withdrawal_returned"
    REFUND_RECEIVED = "refund_received"
    DEPOSIT_CONFIRMED = "deposit_confirmed"
    DEPOSIT_FAILED = "deposit_failed"
    # Users' money requests and split bills (wallet.money.money_requests).
    MONEY_REQUESTED = "money_requested"
    REQUEST_REMINDER = "request_reminder"
    REQUEST_DECLINED = "request_declined"
    REQUEST_CANCELLED = "request_cancelled"
    # AutoPay mandates (wallet.merchants.mandates): the pre-debit notice, and its outcome.
    MANDATE_DEBIT_NOTICE = "mandate_debit_notice"
    MANDATE_DEBIT_NEEDS_PIN = "mandate_debit_needs_pin"
    MANDATE_DEBIT_PAID = "mandate_debit_paid"
    MANDATE_DEBIT_FAILED = "mandate_debit_failed"
    # Scheduled payments (wallet.money.schedules).
    SCHEDULED_PAYMENT_DUE = "scheduled_payment_due"
    SCHEDULED_PAYMENT_PAID = "scheduled_payment_paid"
    SCHEDULED_PAYMENT_FAILED = "scheduled_payment_failed"
    SCHEDULED_PAYMENT_NEEDS_PIN = "scheduled_payment_needs_pin"
    # Tickets (wallet.care.tickets): a status change, with the reason.
    TICKET_UPDATED = "ticket_updated"
    #: A transfer the user received was put back (wallet.care.reversals).
    TRANSFER_REVERSED = "transfer_reversed"
    # Compensation for a late reversal (wallet.care.compensation): a day's credit.
    COMPENSATION_CREDITED = "compensation_credited"
    # Fraud reported on a transfer received (wallet.care.fraud): money on hold.
    FRAUD_HOLD = "fraud_hold"
    # Disputes of shop payments (wallet.merchants.disputes): how each ended.
    DISPUTE_REFUNDED = "dispute_refunded"
    DISPUTE_REJECTED = "dispute_rejected"
    # A first payment held for its undo window (wallet.money.transfer_holds).
    TRANSFER_INCOMING = "transfer_incoming"
    TRANSFER_CANCELLED = "transfer_cancelled"
    # An operator froze or unfroze the wallet (wallet.money.freeze).
    WALLET_FROZEN = "wallet_frozen"
    WALLET_UNFROZEN = "wallet_unfrozen"
    # Passkeys (wallet.identity.passkeys): one added or removed.
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"
    #: A sign-in from a browser not seen before (wallet.identity.devices).
    NEW_DEVICE_SIGN_IN = "new_device_sign_in"
    # A user's saved bank accounts (wallet.banking.saved_accounts): every change.
    BANK_ACCOUNT_SAVED = "bank_account_saved"
    BANK_ACCOUNT_REMOVED = "bank_account_removed"


class MerchantNotice(StrEnum):
    """``merchant_notifications.kind``: what a shop hears of."""

    BANK_ACCOUNT_ADDED = "bank_account_added"
    BANK_ACCOUNT_REMOVED = "bank_account_removed"
    PIN_SET = "shop_pin_set"
    PIN_CHANGED = "shop_pin_changed"
    # A customer disputed a payment (wallet.merchants.disputes).
    DISPUTE_OPENED = "dispute_opened"
    # Automatic settlement (wallet.banking.auto_settlement).
    SETTLEMENT_SCHEDULE_CHANGED = "settlement_schedule_changed"
    SETTLEMENT_PAID = "settlement_paid"
    SETTLEMENT_FAILED = "settlement_failed"
    # The shop's people (wallet.merchants.staff): an invitation (in development
    # with its link: no e-mail is sent), someone removed.
    STAFF_INVITED = "staff_invited"
    STAFF_REMOVED = "staff_removed"


def notify(db: Session, user_id: int | None, kind: Notice, text: str,
           tx: Transaction | None = None, *, now: dt.datetime | None = None) -> None:
    """Add a notification for ``user_id`` (nothing for a shop: ``None``)."""
    if user_id is None:
        return
    db.add(Notification(user_id=user_id, kind=kind, text=text[:300],
                        transaction_id=None if tx is None else tx.id,
                        created_at=now or utcnow(), read_at=None))


def _column_defaults() -> dict[str, Any]:
    """Each column of ``transactions`` as an INSERT that names none leaves it
    (a note's "", else NULL): scalar defaults only, checked here."""
    found: dict[str, Any] = {}
    for column in Transaction.__table__.c:
        default = column.default
        if column.server_default is not None or (default is not None and not default.is_scalar):
            raise TypeError(f"transactions.{column.key}: a default insert_notified cannot know")
        found[column.key] = None if default is None else getattr(default, "arg", None)
    return found


_UNSET = _column_defaults()


_RAW = {"dml_strategy": "raw"}


@functools.cache
def _recorded_insert() -> Insert:
    """A transaction's INSERT … RETURNING id, every value a bound parameter
    ``t_<column>``: built once."""
    columns = [c for c in Transaction.__table__.c if c.key != "id"]
    return (insert(Transaction)
            .values({c.key: bindparam(f"t_{c.key}", type_=c.type) for c in columns})
            .returning(Transaction.id))


@functools.cache
def _notified_insert() -> Insert:
    """The statement of :func:`insert_notified`, built once: every value a
    bound parameter (``t_<column>`` for the transaction, ``n_<column>`` for
    its notification), so that a payment neither builds nor walks it again
    (its cache key is computed once; building it per call cost a transfer
    more CPU than the ledger's posting)."""
    moved = _recorded_insert().cte("moved")
    notified = Notification.__table__.c
    return (insert(Notification).from_select(
        ["user_id", "kind", "text", "transaction_id", "created_at"],
        select(bindparam("n_user_id", type_=notified.user_id.type),
               bindparam("n_kind", type_=notified.kind.type),
               bindparam("n_text", type_=notified.text.type), moved.c.id,
               bindparam("n_created_at", type_=notified.created_at.type)))
        .add_cte(moved).returning(Notification.transaction_id))


def insert_notified(db: Session, values: Mapping[str, Any], user_id: int, kind: Notice,
                    text: str, *, now: dt.datetime) -> Transaction | None:
    """A Transaction with ``values`` and its notification for ``user_id``, in
    one statement (a data-modifying CTE: one round trip, not two) on
    PostgreSQL; None elsewhere (SQLite has no such CTE: the caller adds both
    as usual). The statement is an ORM insert, so that a request's
    transaction manager sees a change to commit; the Transaction is made
    from ``values`` (every column set: nothing loads again) and the id the
    database gave, and noted for the metrics as a flush would
    (wallet.core.observe)."""
    if db.get_bind().dialect.name != "postgresql":
        return None
    row = {**_UNSET, **values}
    params = {f"t_{key}": value for key, value in row.items() if key != "id"}
    params.update(n_user_id=user_id, n_kind=kind, n_text=text[:300], n_created_at=now)
    # ("raw": the parameters are the statement's, not rows of a bulk insert)
    return _inserted(db, row, db.execute(_notified_insert(), params,
                                         execution_options=_RAW).scalar_one())


def insert_recorded(db: Session, values: Mapping[str, Any]) -> Transaction | None:
    """A Transaction with ``values`` and no notification, as
    :func:`insert_notified` makes one: its statement built once, no flush of
    the unit of work (PostgreSQL; None elsewhere: the caller adds it)."""
    if db.get_bind().dialect.name != "postgresql":
        return None
    row = {**_UNSET, **values}
    params = {f"t_{key}": value for key, value in row.items() if key != "id"}
    return _inserted(db, row, db.execute(_recorded_insert(), params,
                                         execution_options=_RAW).scalar_one())


def _inserted(db: Session, row: Mapping[str, Any], new_id: int) -> Transaction:
    tx = Transaction(**{**row, "id": new_id})
    make_transient_to_detached(tx)  # persistent once added: not inserted again
    db.add(tx)
    observe.note_written(db, tx)
    return tx


def notify_merchant(db: Session, merchant_id: int, kind: MerchantNotice, text: str, *,
                    now: dt.datetime) -> None:
    """Add a notification for the shop ``merchant_id``."""
    db.add(MerchantNotification(merchant_id=merchant_id, kind=kind, text=text[:300],
                                created_at=now, read_at=None))


class NotificationService:
    def __init__(self, dbsession: Session, *, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.clock = clock

    def unread_count(self, user_id: int) -> int:
        count: int = self.db.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None))) or 0
        return count

    def latest(self, user_id: int, limit: int = MAX_LISTED) -> list[Notification]:
        return list(self.db.scalars(select(Notification).where(
            Notification.user_id == user_id).order_by(Notification.id.desc()).limit(limit)))

    def mark_read(self, user_id: int, up_to_id: int | None = None) -> int:
        """Mark the user's unread notifications read (those up to ``up_to_id``:
        one that arrived after the page was shown stays unread)."""
        stmt = update(Notification).where(Notification.user_id == user_id,
                                          Notification.read_at.is_(None))
        if up_to_id is not None:
            stmt = stmt.where(Notification.id <= up_to_id)
        marked: int = self.db.execute(stmt.values(read_at=self.clock())).rowcount  # type: ignore[attr-defined]
        return marked

    def of_merchant(self, merchant_id: int, limit: int = MAX_LISTED) -> list[MerchantNotification]:
        """A shop's latest notifications, newest first."""
        return list(self.db.scalars(
            select(MerchantNotification).where(MerchantNotification.merchant_id == merchant_id)
            .order_by(MerchantNotification.id.desc()).limit(limit)))

    def merchant_unread_count(self, merchant_id: int) -> int:
        count: int = self.db.scalar(select(func.count()).select_from(MerchantNotification).where(
            MerchantNotification.merchant_id == merchant_id,
            MerchantNotification.read_at.is_(None))) or 0
        return count

    def mark_merchant_read(self, merchant_id: int, up_to_id: int) -> None:
        """Mark the shop's notifications up to ``up_to_id`` read (one that
        arrived after the page was shown stays unread)."""
        self.db.execute(update(MerchantNotification).where(
            MerchantNotification.merchant_id == merchant_id,
            MerchantNotification.read_at.is_(None), MerchantNotification.id <= up_to_id)
            .values(read_at=self.clock()))
