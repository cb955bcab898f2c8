"""A settlement's report (wallet.banking.auto_settlement): what came in over
its period -- payments by store (``transactions.payee_store_id``; none named:
the shop's first store), refunds -- what stayed in the wallet (the disputes'
holds, the minimum kept), fees (none today) and what was paid out, in which
payouts; and the same as CSV."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledgerlib import to_decimal_string

from ..core import codes
from ..core.codes import IST, Kind, Status
from ..core.models import MerchantStore, Transaction
from ..core.text import spreadsheet_safe
from .models import Settlement, SettlementPayout

__all__ = ["SettlementReport", "StoreLine", "report_csv", "settlement_report"]


@dataclass(frozen=True)
class StoreLine:
    name: str
    handle: str
    payments: int
    paise: int


@dataclass(frozen=True)
class PayoutLine:
    reference: str
    paise: int
    status: str


@dataclass(frozen=True)
class SettlementReport:
    settlement: Settlement
    account_name: str
    stores: list[StoreLine]
    refunds: int
    refunds_paise: int
    payouts: list[PayoutLine]
    fees_paise: int = 0

    @property
    def payments(self) -> int:
        return sum(line.payments for line in self.stores)

    @property
    def payments_paise(self) -> int:
        return sum(line.paise for line in self.stores)

    @property
    def net_paise(self) -> int:
        """What went to the bank: the settlement's amount, less fees."""
        return self.settlement.amount_paise - self.fees_paise


def settlement_report(db: Session, settlement: Settlement, account_name: str) -> SettlementReport:
    s = settlement
    # (start, end]: a payment at the very instant of a settlement is in it, not the next.
    in_period = (Transaction.created_at > s.period_start, Transaction.created_at <= s.period_end,
                 Transaction.status == Status.COMPLETED)
    stores = list(db.scalars(select(MerchantStore).where(
        MerchantStore.merchant_id == s.merchant_id).order_by(MerchantStore.id)))
    first = stores[0].id if stores else None
    totals: dict[int | None, tuple[int, int]] = {}
    for store_id, count, paise in db.execute(
            select(Transaction.payee_store_id, func.count(), func.sum(Transaction.amount_paise))
            .where(Transaction.kind == Kind.PAYMENT,
                   Transaction.payee_merchant_id == s.merchant_id, *in_period)
            .group_by(Transaction.payee_store_id)):
        key = first if store_id is None else store_id
        before = totals.get(key, (0, 0))
        totals[key] = (before[0] + int(count), before[1] + int(paise or 0))
    lines = [StoreLine(store.name, store.handle, *totals.get(store.id, (0, 0)))
             for store in stores]
    refunds, refunds_paise = db.execute(
        select(func.count(), func.coalesce(func.sum(Transaction.amount_paise), 0))
        .where(Transaction.kind == Kind.REFUND,
               Transaction.payer_merchant_id == s.merchant_id, *in_period)).one()
    payouts = [PayoutLine(codes.payout_reference(tx_id), int(paise), status)
               for tx_id, paise, status in db.execute(
                   select(SettlementPayout.transaction_id, SettlementPayout.amount_paise,
                          Transaction.status)
                   .join(Transaction, Transaction.id == SettlementPayout.transaction_id)
                   .where(SettlementPayout.settlement_id == s.id)
                   .order_by(SettlementPayout.part))]
    return SettlementReport(s, account_name, lines, int(refunds), int(refunds_paise), payouts)


def _moment(at: dt.datetime) -> str:
    return at.astimezone(IST).strftime("%Y-%m-%d %H:%M")


def report_csv(report: SettlementReport) -> str:
    """The report as CSV: one line per figure (section, item, count, amount in ₹)."""
    s = report.settlement
    buffer = io.StringIO()
    out = csv.writer(buffer)
    rupees = to_decimal_string
    out.writerow(["section", "item", "count", "amount_inr"])
    out.writerow(["settlement", s.public_id, "", rupees(s.amount_paise)])
    out.writerow(["status", s.status, "", ""])
    out.writerow(["period_ist", f"{_moment(s.period_start)} to {_moment(s.period_end)}", "", ""])
    out.writerow(["bank_account", spreadsheet_safe(report.account_name), "", ""])
    for line in report.stores:
        out.writerow(["payments", spreadsheet_safe(f"{line.name} ({line.handle})"),
                      line.payments, rupees(line.paise)])
    out.writerow(["payments", "total", report.payments, rupees(report.payments_paise)])
    out.writerow(["refunds", "total", report.refunds, rupees(report.refunds_paise)])
    out.writerow(["disputes_held", "held in the wallet", "", rupees(s.disputes_held_paise)])
    out.writerow(["kept", "minimum balance kept", "", rupees(s.kept_paise)])
    out.writerow(["fees", "total", "", rupees(report.fees_paise)])
    out.writerow(["net", "paid to the bank", "", rupees(report.net_paise)])
    for payout in report.payouts:
        out.writerow(["payout", payout.reference, payout.status, rupees(payout.paise)])
    return buffer.getvalue()
