"""What a shop sees: per India-time day and month, payments in (gross),
refunds out and what is left (net); the payments behind them, each with its
refunds, its state (paid, partly refunded, refunded, disputed) and its store,
found by date, store and search (wallet.merchants.payment_search), with the
totals of what was found.

Every query takes ``store_ids``: the stores whose payments count (None: all
of the shop's). A payment without a store (``payee_store_id`` NULL: before
stores, or paid at the shop's own handle) counts as the shop's first store's."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Iterator

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from ledgerlib import Ledger, to_decimal_string

from ..core.codes import IST, DisputeStatus, Kind, Status, ist_day_bounds
from ..core.models import Merchant, MerchantStore, Transaction, User
from ..core.text import spreadsheet_safe
from ..money import shop_shards
from .models import Dispute, PaymentRequest, Refund
from .payment_search import PaymentSearch, SearchBy

CHART_DAYS = 30
CHART_MONTHS = 12
PAGE_SIZE = 25
MAX_CSV_ROWS = 100_000


def months_back(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_after(day: dt.date) -> dt.date:
    """The first day of the month after ``day``'s."""
    return months_back(day, -1)


@dataclass(frozen=True)
class PeriodFigures:
    """A shop's money of one India-time day or month."""

    period_start: dt.date
    gross_paise: int  # payments received
    refunds_paise: int  # given back, whichever day the payment was
    payments: int
    refunds: int
    #: The shop's wallet balance at the end of the period (from the ledger's
    #: running balances; holds for settlements in progress not deducted).
    closing_balance_paise: int | None = None

    @property
    def net_paise(self) -> int:
        """What the shop kept: may be below zero on a day of refunds alone."""
        return self.gross_paise - self.refunds_paise


@dataclass(frozen=True)
class Dashboard:
    days: list[PeriodFigures]  # the last 30 days, oldest first
    months: list[PeriodFigures]  # the last 12 months, oldest first

    @property
    def today(self) -> PeriodFigures:
        return self.days[-1]

    @property
    def month(self) -> PeriodFigures:
        return self.months[-1]

    @property
    def today_paise(self) -> int:
        return self.today.gross_paise

    @property
    def month_paise(self) -> int:
        return self.month.gross_paise


class PaymentState(StrEnum):
    """A payment's state in the shop's list (computed, not stored)."""

    PAID = "paid"
    PARTLY_REFUNDED = "partly_refunded"
    REFUNDED = "refunded"
    DISPUTED = "disputed"  # a dispute not yet decided: its amount is held

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class PaymentRow:
    payment: Transaction
    refunded_paise: int
    disputed: bool  # an undecided dispute
    #: Its store's name (a payment without one: the shop's first store's).
    store_name: str

    @property
    def state(self) -> PaymentState:
        if self.disputed:
            return PaymentState.DISPUTED
        if self.refunded_paise >= self.payment.amount_paise:
            return PaymentState.REFUNDED
        return PaymentState.PARTLY_REFUNDED if self.refunded_paise else PaymentState.PAID


@dataclass(frozen=True)
class PaymentsPage:
    rows: list[PaymentRow]
    next_cursor: str | None

    @property
    def items(self) -> list[Transaction]:
        return [row.payment for row in self.rows]

    @property
    def refunded(self) -> dict[int, int]:
        """Payment id -> how much of it was refunded (absent: nothing)."""
        return {row.payment.id: row.refunded_paise for row in self.rows if row.refunded_paise}


@dataclass(frozen=True)
class PaymentTotals:
    """The payments found (all pages): how many, paid in, refunded of them, kept."""

    count: int
    gross_paise: int
    refunded_paise: int

    @property
    def net_paise(self) -> int:
        return self.gross_paise - self.refunded_paise


@dataclass(frozen=True)
class PaymentQuery:
    """Which of a shop's payments: India-time days from ``start`` to ``end``
    (each may be open), a search, the stores (None: all)."""

    start: dt.date | None = None
    end: dt.date | None = None
    search: PaymentSearch | None = None
    store_ids: Collection[int] | None = None


@dataclass(frozen=True)
class PaymentDetail:
    payment: Transaction
    refunds: list[Refund]  # oldest first
    #: The payment request it paid, if it came through checkout.
    request: PaymentRequest | None

    @property
    def refunded_paise(self) -> int:
        return sum(refund.amount_paise for refund in self.refunds)

    @property
    def left_paise(self) -> int:
        """How much may still be refunded."""
        return self.payment.amount_paise - self.refunded_paise


class MerchantReports:
    def __init__(self, dbsession: Session):
        self.db = dbsession

    def stores(self, merchant: Merchant) -> list[MerchantStore]:
        """The shop's stores, first (its own, made at sign-up) first; closed ones too."""
        return list(self.db.scalars(select(MerchantStore).where(
            MerchantStore.merchant_id == merchant.id).order_by(MerchantStore.id)))

    def dashboard(self, merchant: Merchant, today: dt.date, *,
                  store_ids: Collection[int] | None = None) -> Dashboard:
        first_day = today - dt.timedelta(days=CHART_DAYS - 1)
        days = [first_day + dt.timedelta(days=i) for i in range(CHART_DAYS + 1)]
        months = [months_back(today, CHART_MONTHS - 1 - i) for i in range(CHART_MONTHS)]
        return Dashboard(self.figures(merchant, days, store_ids=store_ids),
                         self.figures(merchant, [*months, month_after(today)],
                                      store_ids=store_ids))

    def figures(self, merchant: Merchant, starts: list[dt.date], *,
                store_ids: Collection[int] | None = None) -> list[PeriodFigures]:
        """Gross, refunds and net of each India-time period from ``starts[i]``
        to ``starts[i + 1]`` (so one figure fewer than ``starts``), summed in
        SQL from the shop's completed payments and refunds (of the stores'
        payments when ``store_ids`` are given: then without balances, which
        are the shop's, not a store's)."""
        bounds = [dt.datetime.combine(day, dt.time(), IST) for day in starts]
        tx = Transaction
        bucket = case(*[(tx.created_at < bound, i) for i, bound in enumerate(bounds[1:])],
                      else_=-1).label("bucket")
        payments = and_(tx.kind == Kind.PAYMENT, tx.payee_merchant_id == merchant.id)
        refunds = and_(tx.kind == Kind.REFUND, tx.payer_merchant_id == merchant.id)
        if store_ids is not None:
            paid = aliased(Transaction)
            payments = and_(payments, at_stores(merchant, tx, store_ids))
            refunds = and_(refunds, tx.id.in_(
                select(Refund.transaction_id)
                .join(paid, paid.id == Refund.payment_transaction_id)
                .where(Refund.merchant_id == merchant.id, at_stores(merchant, paid, store_ids))))
        stmt = (select(bucket, tx.kind, func.coalesce(func.sum(tx.amount_paise), 0),
                       func.count())
                .where(tx.status == Status.COMPLETED, or_(payments, refunds),
                       tx.created_at >= bounds[0], tx.created_at < bounds[-1])
                .group_by(bucket, tx.kind))
        sums: dict[tuple[int, str], tuple[int, int]] = {
            (row[0], row[1]): (int(row[2]), int(row[3])) for row in self.db.execute(stmt)}
        closing: list[int | None] = ([None] * (len(starts) - 1) if store_ids is not None
                                     else list(self._closing(merchant, bounds[1:])))
        figures = []
        for i, day in enumerate(starts[:-1]):
            gross, payments_count = sums.get((i, Kind.PAYMENT), (0, 0))
            refunded, refunds_count = sums.get((i, Kind.REFUND), (0, 0))
            figures.append(PeriodFigures(day, gross, refunded, payments_count, refunds_count,
                                         closing[i]))
        return figures

    def _closing(self, merchant: Merchant, ends: list[dt.datetime]) -> list[int]:
        """The shop's balance at each of ``ends``: one statement of index
        lookups on the ledger's running balances per receiving account (one
        for most shops; a busy shop's shards summed: wallet.money.shop_shards),
        not a sum of the shop's whole history."""
        ledger = Ledger(self.db)
        per_shard = [ledger.balances_before(code, ends)
                     for code in shop_shards.shard_codes(merchant)]
        return [sum(balances) for balances in zip(*per_shard, strict=True)]

    def _found(self, merchant: Merchant, query: PaymentQuery) -> Select[Any]:
        """(payment, refunded paise, disputed, store name) of the payments
        ``query`` finds, unordered."""
        refunded = (select(func.coalesce(func.sum(Refund.amount_paise), 0))
                    .where(Refund.payment_transaction_id == Transaction.id)
                    .scalar_subquery())
        disputed = exists().where(Dispute.payment_transaction_id == Transaction.id,
                                  Dispute.status.in_(DisputeStatus.UNRESOLVED))
        store = func.coalesce(Transaction.payee_store_id, first_store(merchant))
        stmt = (select(Transaction, refunded.label("refunded"), disputed.label("disputed"),
                       MerchantStore.name.label("store"))
                .outerjoin(MerchantStore, MerchantStore.id == store)
                .where(Transaction.kind == Kind.PAYMENT,
                       Transaction.payee_merchant_id == merchant.id))
        if query.start is not None:
            stmt = stmt.where(Transaction.created_at >= ist_day_bounds(query.start)[0])
        if query.end is not None:
            stmt = stmt.where(Transaction.created_at < ist_day_bounds(query.end)[1])
        if query.store_ids is not None:
            stmt = stmt.where(at_stores(merchant, Transaction, query.store_ids))
        if query.search is not None:
            stmt = stmt.where(matching(merchant, query.search))
        return stmt

    def _payments(self, merchant: Merchant, query: PaymentQuery, *, limit: int,
                  before_id: int | None = None) -> Iterator[PaymentRow]:
        """The rows of the payments found (and before ``before_id``), newest first."""
        stmt = self._found(merchant, query).order_by(Transaction.id.desc())
        if before_id is not None:
            stmt = stmt.where(Transaction.id < before_id)
        for row in self.db.execute(stmt.limit(limit)).unique():
            yield PaymentRow(row[0], int(row[1]), bool(row[2]), row[3] or "")

    def payments(self, merchant: Merchant, start: dt.date | None = None,
                 end: dt.date | None = None, cursor: str | None = None,
                 limit: int = PAGE_SIZE, *, search: PaymentSearch | None = None,
                 store_ids: Collection[int] | None = None) -> PaymentsPage:
        """A page of the payments found, newest first; ``cursor``: the next
        page's (keyset: the last id shown)."""
        query = PaymentQuery(start, end, search, store_ids)
        rows = list(self._payments(merchant, query, limit=limit + 1,
                                   before_id=None if cursor is None else int(cursor)))
        more = len(rows) > limit
        rows = rows[:limit]
        return PaymentsPage(rows, str(rows[-1].payment.id) if more else None)

    def totals(self, merchant: Merchant, start: dt.date | None = None,
               end: dt.date | None = None, *, search: PaymentSearch | None = None,
               store_ids: Collection[int] | None = None) -> PaymentTotals:
        """Count, gross and refunded of every payment found (one statement)."""
        found = self._found(merchant, PaymentQuery(start, end, search, store_ids)).subquery()
        row = self.db.execute(select(func.count(), func.coalesce(func.sum(found.c.amount_paise), 0),
                                     func.coalesce(func.sum(found.c.refunded), 0))).one()
        return PaymentTotals(int(row[0]), int(row[1]), int(row[2]))

    def payment(self, merchant: Merchant, payment_id: int, *,
                stores: frozenset[int] | None = None) -> PaymentDetail | None:
        """One of the shop's payments with its refunds; None if not the shop's
        (or not at one of ``stores``, unless None)."""
        payment = self.db.get(Transaction, payment_id)
        if (payment is None or payment.kind != Kind.PAYMENT
                or payment.payee_merchant_id != merchant.id):
            return None
        if stores is not None:
            store_id = payment.payee_store_id
            if store_id is None:  # (the shop's first store: what NULL means)
                store_id = self.db.scalar(select(first_store(merchant)))
            if store_id not in stores:
                return None
        refunds = list(self.db.scalars(select(Refund).where(
            Refund.payment_transaction_id == payment.id).order_by(Refund.id)))
        request = self.db.scalar(select(PaymentRequest).where(
            PaymentRequest.transaction_id == payment.id))
        return PaymentDetail(payment, refunds, request)

    def payments_csv(self, merchant: Merchant, start: dt.date | None,
                     end: dt.date | None, *, search: PaymentSearch | None = None,
                     store_ids: Collection[int] | None = None) -> Iterator[str]:
        """CSV lines (header first) of the payments found, newest first."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["reference", "time_ist", "payer", "note", "amount_inr", "refunded_inr",
                         "status", "store"])
        yield buffer.getvalue()
        query = PaymentQuery(start, end, search, store_ids)
        for row in self._payments(merchant, query, limit=MAX_CSV_ROWS):
            tx = row.payment
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([f"TXN{tx.id:08d}",
                             tx.created_at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S"),
                             tx.payer.masked_phone if tx.payer else "", spreadsheet_safe(tx.note),
                             to_decimal_string(tx.amount_paise),
                             to_decimal_string(row.refunded_paise), row.state.value,
                             spreadsheet_safe(row.store_name)])
            yield buffer.getvalue()


def first_store(merchant: Merchant) -> Any:
    """The shop's first store's id (a scalar subquery): where a payment
    without a store was paid."""
    return (select(func.min(MerchantStore.id)).where(MerchantStore.merchant_id == merchant.id)
            .scalar_subquery())


def at_stores(merchant: Merchant, payment: type[Transaction] | Any,
              store_ids: Collection[int]) -> ColumnElement[bool]:
    """``payment`` (the Transaction entity or an alias of it) was paid at one
    of ``store_ids`` (none: at none), a payment without a store at the first."""
    ids = sorted(set(store_ids))
    return or_(payment.payee_store_id.in_(ids),
               and_(payment.payee_store_id.is_(None), first_store(merchant).in_(ids)))


def matching(merchant: Merchant, search: PaymentSearch) -> ColumnElement[bool]:
    """The payments ``search`` finds; an order reference equal to what was
    typed is found whatever the search looked like."""
    by_order = exists().where(PaymentRequest.transaction_id == Transaction.id,
                              PaymentRequest.merchant_id == merchant.id,
                              PaymentRequest.order_reference == search.typed)
    if search.by == SearchBy.REFERENCE:
        return or_(Transaction.id == search.transaction_id, by_order)
    if search.by == SearchBy.PHONE:
        return or_(exists().where(User.id == Transaction.payer_user_id,
                                  User.phone.endswith(search.value, autoescape=True)), by_order)
    return or_(exists().where(User.id == Transaction.payer_user_id,
                              func.lower(User.name).contains(search.value.lower(),
                                                             autoescape=True)), by_order)
