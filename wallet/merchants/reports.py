"""What a shop sees: per India-time day and month, payments in (gross),
refunds out and what is left (net); the payments behind them, each with its
refunds."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Iterator

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from ledgerlib import Ledger, to_decimal_string

from ..core.codes import IST, Kind, Status, ist_day_bounds
from ..core.models import Merchant, MerchantStore, Transaction
from ..core.text import spreadsheet_safe
from ..money import shop_shards
from .models import PaymentRequest, Refund

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


@dataclass(frozen=True)
class PaymentsPage:
    items: list[Transaction]
    next_cursor: str | None
    #: Payment id -> how much of it was refunded (absent: nothing).
    refunded: dict[int, int] = field(default_factory=dict)


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

    def dashboard(self, merchant: Merchant, today: dt.date) -> Dashboard:
        first_day = today - dt.timedelta(days=CHART_DAYS - 1)
        days = [first_day + dt.timedelta(days=i) for i in range(CHART_DAYS + 1)]
        months = [months_back(today, CHART_MONTHS - 1 - i) for i in range(CHART_MONTHS)]
        return Dashboard(self.figures(merchant, days),
                         self.figures(merchant, [*months, month_after(today)]))

    def figures(self, merchant: Merchant, starts: list[dt.date]) -> list[PeriodFigures]:
        """Gross, refunds and net of each India-time period from ``starts[i]``
        to ``starts[i + 1]`` (so one figure fewer than ``starts``), summed in
        SQL from the shop's completed payments and refunds."""
        bounds = [dt.datetime.combine(day, dt.time(), IST) for day in starts]
        tx = Transaction
        bucket = case(*[(tx.created_at < bound, i) for i, bound in enumerate(bounds[1:])],
                      else_=-1).label("bucket")
        stmt = (select(bucket, tx.kind, func.coalesce(func.sum(tx.amount_paise), 0),
                       func.count())
                .where(tx.status == Status.COMPLETED,
                       or_(and_(tx.kind == Kind.PAYMENT, tx.payee_merchant_id == merchant.id),
                           and_(tx.kind == Kind.REFUND, tx.payer_merchant_id == merchant.id)),
                       tx.created_at >= bounds[0], tx.created_at < bounds[-1])
                .group_by(bucket, tx.kind))
        sums: dict[tuple[int, str], tuple[int, int]] = {
            (row[0], row[1]): (int(row[2]), int(row[3])) for row in self.db.execute(stmt)}
        # Balances at each period's end: one statement of index lookups on the
        # ledger's running balances per receiving account (one for most shops;
        # a busy shop's shards summed: wallet.money.shop_shards), not a sum of
        # the shop's whole history.
        ledger = Ledger(self.db)
        per_shard = [ledger.balances_before(code, bounds[1:])
                     for code in shop_shards.shard_codes(merchant)]
        closing = [sum(balances) for balances in zip(*per_shard, strict=True)]
        figures = []
        for i, day in enumerate(starts[:-1]):
            gross, payments = sums.get((i, Kind.PAYMENT), (0, 0))
            refunded, refunds = sums.get((i, Kind.REFUND), (0, 0))
            figures.append(PeriodFigures(day, gross, refunded, payments, refunds, closing[i]))
        return figures

    def _payments(self, merchant: Merchant, start: dt.date | None, end: dt.date | None, *,
                  limit: int, before_id: int | None = None,
                  stores: frozenset[int] | None = None) -> Iterator[tuple[Transaction, int]]:
        """(payment, refunded paise) of the shop's payments in the range (and
        before ``before_id``; at ``stores`` only, unless None), newest first."""
        refunded = (select(func.coalesce(func.sum(Refund.amount_paise), 0))
                    .where(Refund.payment_transaction_id == Transaction.id)
                    .scalar_subquery())
        stmt = (select(Transaction, refunded)
                .where(Transaction.kind == Kind.PAYMENT,
                       Transaction.payee_merchant_id == merchant.id)
                .order_by(Transaction.id.desc()))
        if start is not None:
            stmt = stmt.where(Transaction.created_at >= ist_day_bounds(start)[0])
        if end is not None:
            stmt = stmt.where(Transaction.created_at < ist_day_bounds(end)[1])
        if before_id is not None:
            stmt = stmt.where(Transaction.id < before_id)
        if stores is not None:
            stmt = stmt.where(_at_stores(merchant, stores))
        for row in self.db.execute(stmt.limit(limit)).unique():
            yield row[0], int(row[1])

    def payments(self, merchant: Merchant, start: dt.date | None = None,
                 end: dt.date | None = None, cursor: str | None = None,
                 limit: int = PAGE_SIZE, *,
                 stores: frozenset[int] | None = None) -> PaymentsPage:
        """``stores``: those stores' payments only (a manager's, a cashier's);
        None: every store's."""
        rows = list(self._payments(merchant, start, end, limit=limit + 1,
                                   before_id=None if cursor is None else int(cursor),
                                   stores=stores))
        more = len(rows) > limit
        rows = rows[:limit]
        return PaymentsPage([tx for tx, _ in rows], str(rows[-1][0].id) if more else None,
                            {tx.id: refunded for tx, refunded in rows if refunded})

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
                store_id = self.db.scalar(_first_store(merchant))
            if store_id not in stores:
                return None
        refunds = list(self.db.scalars(select(Refund).where(
            Refund.payment_transaction_id == payment.id).order_by(Refund.id)))
        request = self.db.scalar(select(PaymentRequest).where(
            PaymentRequest.transaction_id == payment.id))
        return PaymentDetail(payment, refunds, request)

    def payments_csv(self, merchant: Merchant, start: dt.date | None,
                     end: dt.date | None, *,
                     stores: frozenset[int] | None = None) -> Iterator[str]:
        """CSV lines (header first) of the payments in the range, newest first."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["reference", "time_ist", "payer", "note", "amount_inr", "refunded_inr"])
        yield buffer.getvalue()
        for tx, refunded in self._payments(merchant, start, end, limit=MAX_CSV_ROWS,
                                           stores=stores):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([f"TXN{tx.id:08d}",
                             tx.created_at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S"),
                             tx.payer.masked_phone if tx.payer else "", spreadsheet_safe(tx.note),
                             to_decimal_string(tx.amount_paise), to_decimal_string(refunded)])
            yield buffer.getvalue()


def _first_store(merchant: Merchant) -> Select[int]:
    return select(func.min(MerchantStore.id)).where(MerchantStore.merchant_id == merchant.id)


def _at_stores(merchant: Merchant, stores: frozenset[int]) -> ColumnElement[bool]:
    """A payment is at one of ``stores``: its ``payee_store_id`` is one of
    them, or NULL (paid before stores, or not said) and the shop's first
    store is one of them."""
    if not stores:
        return false()
    column = Transaction.payee_store_id
    first = _first_store(merchant).scalar_subquery()
    return or_(column.in_(stores), and_(column.is_(None), first.in_(stores)))
