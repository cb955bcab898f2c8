"""What a shop sees: money received per day and month (from the ledger's own
reports, in India time) and the payments behind it."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import ScalarResult, select
from sqlalchemy.orm import Session

from ledgerlib import Ledger, PeriodTotal, to_decimal_string

from .codes import IST, IST_NAME, Kind, ist_day_bounds
from .models import Merchant, Transaction

CHART_DAYS = 30
CHART_MONTHS = 12
PAGE_SIZE = 25
MAX_CSV_ROWS = 100_000


def months_back(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Dashboard:
    today_paise: int
    month_paise: int
    days: list[PeriodTotal]  # the last 30 days, oldest first
    months: list[PeriodTotal]  # the last 12 months, oldest first


@dataclass(frozen=True)
class PaymentsPage:
    items: list[Transaction]
    next_cursor: str | None


def spreadsheet_safe(text: str) -> str:
    """Notes are typed by payers: never let a spreadsheet read one as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class MerchantReports:
    def __init__(self, dbsession: Session):
        self.db = dbsession
        self.ledger = Ledger(dbsession)

    def dashboard(self, merchant: Merchant, today: dt.date) -> Dashboard:
        code = merchant.wallet_code
        days = self.ledger.daily_totals(code, today - dt.timedelta(days=CHART_DAYS - 1), today,
                                        IST_NAME)
        months = self.ledger.monthly_totals(code, months_back(today, CHART_MONTHS - 1), today,
                                            IST_NAME)
        return Dashboard(days[-1].credited_paise, months[-1].credited_paise, days, months)

    def _payments(self, merchant: Merchant, start: dt.date | None, end: dt.date | None, *,
                  limit: int, before_id: int | None = None) -> ScalarResult[Transaction]:
        """The shop's payments in the range (and before ``before_id``), newest first."""
        stmt = (select(Transaction)
                .where(Transaction.kind == Kind.PAYMENT,
                       Transaction.payee_merchant_id == merchant.id)
                .order_by(Transaction.id.desc()))
        if start is not None:
            stmt = stmt.where(Transaction.created_at >= ist_day_bounds(start)[0])
        if end is not None:
            stmt = stmt.where(Transaction.created_at < ist_day_bounds(end)[1])
        if before_id is not None:
            stmt = stmt.where(Transaction.id < before_id)
        return self.db.scalars(stmt.limit(limit)).unique()

    def payments(self, merchant: Merchant, start: dt.date | None = None,
                 end: dt.date | None = None, cursor: str | None = None,
                 limit: int = PAGE_SIZE) -> PaymentsPage:
        rows = list(self._payments(merchant, start, end, limit=limit + 1,
                                   before_id=None if cursor is None else int(cursor)))
        more = len(rows) > limit
        rows = rows[:limit]
        return PaymentsPage(rows, str(rows[-1].id) if more else None)

    def payments_csv(self, merchant: Merchant, start: dt.date | None,
                     end: dt.date | None) -> Iterator[str]:
        """CSV lines (header first) of the payments in the range, newest first."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["reference", "time_ist", "payer", "note", "amount_inr"])
        yield buffer.getvalue()
        for tx in self._payments(merchant, start, end, limit=MAX_CSV_ROWS):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([f"TXN{tx.id:08d}",
                             tx.created_at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S"),
                             tx.payer.masked_phone if tx.payer else "", spreadsheet_safe(tx.note),
                             to_decimal_string(tx.amount_paise)])
            yield buffer.getvalue()
