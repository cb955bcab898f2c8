"""Checks and reports for operators (``wallet-admin``): the ledger's own
verification plus cross-checks between our records and the ledger, and a
reconciliation of a bank's statement against our records."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import schema as ls

from .models import Transaction, Withdrawal

IST = ZoneInfo("Asia/Kolkata")
IN_FLIGHT = ("queued", "sending", "needs_review")
# Withdrawal status -> the state its ledger hold must be in.
HOLD_STATE_FOR = {"queued": "pending", "sending": "pending", "needs_review": "pending",
                  "completed": "committed", "reversed": "committed", "failed": "released"}


def cross_check(session: Session) -> list[str]:
    """Problems between our business records and the ledger ([] when clean)."""
    conn = session.connection()
    entries_by_key = dict(conn.execute(
        select(ls.entries.c.idempotency_key, ls.entries.c.id)
        .where(ls.entries.c.idempotency_key.is_not(None))).all())
    holds = {row.id: row for row in conn.execute(select(ls.holds))}
    held_by_account = {row.code: row.held_paise for row in conn.execute(
        select(ls.accounts.c.code, ls.accounts.c.held_paise))}
    problems: list[str] = []
    in_flight_by_wallet: dict[str, int] = defaultdict(int)

    rows = session.execute(
        select(Transaction, Withdrawal).outerjoin(
            Withdrawal, Withdrawal.transaction_id == Transaction.id).order_by(Transaction.id)
    ).unique()
    for tx, wd in rows:
        name = f"{tx.kind} {tx.id} ({tx.status})"
        if tx.kind == "deposit":
            entry = entries_by_key.get(f"onramp:{tx.token}")
            if tx.status == "success" and (entry is None or entry != tx.ledger_entry_id):
                problems.append(f"{name}: succeeded but its credit entry is missing or differs")
            if tx.status != "success" and entry is not None:
                problems.append(f"{name}: has a credit entry {entry} but did not succeed")
        elif tx.kind == "transfer":
            if tx.status == "completed" and tx.ledger_entry_id is None:
                problems.append(f"{name}: completed without a ledger entry")
        elif tx.kind == "withdrawal":
            if wd is None:
                problems.append(f"{name}: has no payout details")
                continue
            hold = holds.get(wd.hold_id)
            wanted = HOLD_STATE_FOR.get(tx.status)
            if hold is None or (wanted and hold.status != wanted):
                problems.append(f"{name}: its hold is {hold.status if hold else 'missing'}, "
                                f"expected {wanted}")
            elif hold.amount_paise != tx.amount_paise:
                problems.append(f"{name}: hold of {hold.amount_paise} for {tx.amount_paise}")
            if tx.status in ("completed", "reversed") and (
                    hold is None or hold.commit_entry_id != tx.ledger_entry_id):
                problems.append(f"{name}: payout entry does not match its hold's commit")
            has_refund = f"withdrawal:{tx.id}:reversal" in entries_by_key
            if has_refund != (tx.status == "reversed"):
                problems.append(f"{name}: refund entry {'present' if has_refund else 'missing'}")
            if tx.status in IN_FLIGHT:
                wallet = (f"user:{tx.payer_user_id}:wallet" if tx.payer_user_id is not None
                          else f"merchant:{tx.payer_merchant_id}:wallet")
                in_flight_by_wallet[wallet] += tx.amount_paise
    for code, held in held_by_account.items():
        if code.startswith(("user:", "merchant:")) and held != in_flight_by_wallet.get(code, 0):
            problems.append(f"{code}: {held} held but withdrawals in flight total "
                            f"{in_flight_by_wallet.get(code, 0)}")
    return problems


@dataclass(frozen=True)
class VerifyResult:
    ledger: ledgerlib.VerifyReport
    records: list[str]

    @property
    def ok(self) -> bool:
        return self.ledger.ok and not self.records


def verify_all(session: Session) -> VerifyResult:
    return VerifyResult(ledgerlib.verify(session), cross_check(session))


# ------------------------------------------------------------ reconciliation


def ist_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), IST)
    return start, start + dt.timedelta(days=1)


def our_bank_movements(session: Session, bank_code: str, day: dt.date) -> dict[tuple, int]:
    """(type, reference) -> amount of what we recorded as settled with the bank on ``day``."""
    start, end = ist_day_bounds(day)
    found: dict[tuple, int] = {}
    for tx in session.scalars(select(Transaction).where(
            Transaction.bank_code == bank_code, Transaction.settled_at >= start,
            Transaction.settled_at < end)):
        if tx.kind == "deposit" and tx.status == "success":
            found[("payment", tx.token)] = tx.amount_paise
        elif tx.kind == "withdrawal" and tx.status in ("completed", "reversed"):
            found[("payout", f"wd_{tx.id}")] = tx.amount_paise
    return found


def our_record(session: Session, kind: str, reference: str) -> Transaction | None:
    if kind == "payment":
        return session.scalar(select(Transaction).where(Transaction.token == reference))
    if reference.startswith("wd_") and reference[3:].isdigit():
        return session.get(Transaction, int(reference[3:]))
    return None


EXPECTED_STATUS = {"payment": ("success",), "payout": ("completed", "reversed"),
                   "payout_reversal": ("reversed",)}


def reconcile(session: Session, bank_code: str, day: dt.date,
              statements: dict[dt.date, list[dict]]) -> list[tuple[str, str, str]]:
    """Mismatches between the bank's statement for ``day`` and our records, as
    (reference, what, detail) rows. ``statements`` holds the bank's statements
    for day-1, day and day+1: a movement settled near midnight may be dated
    differently by the two sides, which is not a mismatch."""
    mismatches = []
    for line in statements.get(day, []):
        tx = our_record(session, line["type"], line["reference"])
        if tx is None:
            mismatches.append((line["reference"], "missing in our books",
                               f"bank has a {line['type']} of {line['amount_paise']}"))
        elif tx.amount_paise != line["amount_paise"]:
            mismatches.append((line["reference"], "amount differs",
                               f"bank {line['amount_paise']}, ours {tx.amount_paise}"))
        elif tx.status not in EXPECTED_STATUS[line["type"]]:
            mismatches.append((line["reference"], "status differs",
                               f"bank reports a {line['type']}, ours is {tx.status}"))
    nearby = {(line["type"], line["reference"])
              for lines in statements.values() for line in lines}
    for (kind, reference), amount in our_bank_movements(session, bank_code, day).items():
        if (kind, reference) not in nearby:
            mismatches.append((reference, "missing at the bank",
                               f"we settled a {kind} of {amount} on {day}"))
    return mismatches
