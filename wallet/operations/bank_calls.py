"""Checks and reports for operators (``wallet-admin``): the ledger's own
verification plus cross-checks between our records and the ledger, and a
reconciliation of a bank's statement against our records."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import tables as lt

from ..banking import settlement
from ..banking.models import Withdrawal
from ..banking.protocols.base import StatementLine
from ..core import codes
from ..core.codes import DisputeStatus, Kind, Status, ist_day_bounds
from ..core.models import Transaction
from ..merchants.models import Dispute
from ..money.models import TransferHold

# Withdrawal status -> the state its ledger hold must be in.
HOLD_STATE_FOR: dict[str, str] = {Status.QUEUED: "pending", Status.SENDING: "pending",
                  Status.NEEDS_REVIEW: "pending", Status.COMPLETED: "committed",
                  Status.REVERSED: "committed", Status.FAILED: "released"}

# Dispute status -> the state its ledger hold must be in.
DISPUTE_HOLD_STATE: dict[DisputeStatus, str] = {
    DisputeStatus.OPEN: "pending", DisputeStatus.CONTESTED: "pending",
    DisputeStatus.ACCEPTED: "committed", DisputeStatus.LOST: "committed",
    DisputeStatus.WON: "released"}


@dataclass
class _LedgerFacts:
    """What the cross-check compares our records with, read once."""

    entries_by_key: dict[str, int]
    holds: dict[int, Row[Any]]
    held_by_account: dict[str, int]
    #: A transfer held for its undo window -> its ledger hold's id.
    transfer_holds: dict[int, int]

    @cached_property
    def hold_commits(self) -> set[int]:
        """The entries that committed a hold (a fraud hold returned, a dispute
        decided for the customer: movements whose entry is the hold's)."""
        return {h.commit_entry_id for h in self.holds.values() if h.commit_entry_id}

    @classmethod
    def read(cls, session: Session) -> _LedgerFacts:
        conn = session.connection()
        entries = lt.entries
        return cls(
            dict(conn.execute(select(entries.c.idempotency_key, entries.c.id)
                              .where(entries.c.idempotency_key.is_not(None))).all()),
            {row.id: row for row in conn.execute(select(lt.holds))},
            dict(conn.execute(select(lt.accounts.c.code, lt.accounts.c.held_paise)).all()),
            {tx_id: hold_id for tx_id, hold_id in session.execute(
                select(TransferHold.transaction_id, TransferHold.hold_id))},
        )


def cross_check(session: Session) -> list[str]:
    """Problems between our business records and the ledger ([] when clean)."""
    facts = _LedgerFacts.read(session)
    problems: list[str] = []
    in_flight_by_wallet: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(Transaction, Withdrawal).outerjoin(
            Withdrawal, Withdrawal.transaction_id == Transaction.id).order_by(Transaction.id)
    ).unique()
    for tx, wd in rows:
        name = f"{tx.kind} {tx.id} ({tx.status})"
        if tx.kind == Kind.DEPOSIT:
            problems += _check_deposit(tx, name, facts)
        elif tx.id in facts.transfer_holds:
            problems += _check_held_transfer(tx, name, facts)
            if tx.status == Status.PENDING:
                in_flight_by_wallet[_payer_wallet(tx)] += tx.amount_paise
        elif tx.kind in (Kind.TRANSFER, Kind.PAYMENT, Kind.REFUND, Kind.ADJUSTMENT):
            problems += _check_movement(tx, name, facts)
        elif tx.kind == Kind.WITHDRAWAL:
            problems += _check_withdrawal(tx, wd, name, facts)
            if wd is not None and tx.status in Status.PAYOUT_IN_FLIGHT:
                in_flight_by_wallet[_payer_wallet(tx)] += tx.amount_paise
    for code, held in _fraud_holds(session, facts).items():  # (wallet.care.fraud)
        in_flight_by_wallet[code] += held
    problems += _check_disputes(session, facts, in_flight_by_wallet)
    for code, held in facts.held_by_account.items():
        if code.startswith(codes.WALLET_PREFIXES) and held != in_flight_by_wallet.get(code, 0):
            problems.append(f"{code}: {held} held but withdrawals in flight, disputes and "
                            f"held transfers total {in_flight_by_wallet.get(code, 0)}")
    return problems + _check_bank_positions(session)


def _fraud_holds(session: Session, facts: _LedgerFacts) -> dict[str, int]:
    """What fraud reports hold in recipients' wallets (pending holds the care
    package made, by their metadata's kind), by wallet."""
    pending = [h for h in facts.holds.values() if h.status == "pending"
               and isinstance(h.metadata, dict) and h.metadata.get("kind") == "fraud_hold"]
    if not pending:
        return {}
    code_of = dict(session.connection().execute(select(lt.accounts.c.id, lt.accounts.c.code)
                                                .where(lt.accounts.c.id.in_(
                                                    {h.source_account_id for h in pending}))
                                                ).all())
    held: dict[str, int] = defaultdict(int)
    for h in pending:
        held[code_of[h.source_account_id]] += h.amount_paise
    return held


def _check_disputes(session: Session, facts: _LedgerFacts,
                    held_by_wallet: dict[str, int]) -> list[str]:
    """A dispute's hold (wallet.merchants.disputes): pending while undecided
    (its amount counted in the shop's wallet's held), committed to the refund
    when the customer won, released when the shop did."""
    problems = []
    for dispute in session.scalars(select(Dispute).where(Dispute.hold_id.is_not(None))):
        name = f"dispute {dispute.id} ({dispute.status})"
        hold = facts.holds.get(dispute.hold_id or 0)
        wanted = DISPUTE_HOLD_STATE[DisputeStatus(dispute.status)]
        if hold is None or hold.status != wanted or hold.amount_paise != dispute.held_paise:
            problems.append(f"{name}: its hold is {hold.status if hold else 'missing'}, "
                            f"expected {wanted} of {dispute.held_paise}")
        if wanted == "pending":
            held_by_wallet[codes.merchant_wallet(dispute.merchant_id)] += dispute.held_paise
    return problems


def _check_bank_positions(session: Session) -> list[str]:
    """Each bank's position (the sum of its settlement shards) is what our
    records say came in from it, less what was paid out through it."""
    actual, expected = settlement.positions(session), settlement.expected_positions(session)
    return [f"bank {bank}: settlement shards sum to {actual.get(bank, 0)} but our records "
            f"say {expected.get(bank, 0)}"
            for bank in sorted(actual.keys() | expected.keys())
            if actual.get(bank, 0) != expected.get(bank, 0)]


def _payer_wallet(tx: Transaction) -> str:
    if tx.payer_user_id is not None:
        return codes.user_wallet(tx.payer_user_id)
    return codes.merchant_wallet(tx.payer_merchant_id or 0)


def _check_deposit(tx: Transaction, name: str, facts: _LedgerFacts) -> list[str]:
    entry = facts.entries_by_key.get(codes.onramp_key(tx.token or ""))
    if tx.status == Status.SUCCESS and (entry is None or entry != tx.ledger_entry_id):
        return [f"{name}: succeeded but its credit entry is missing or differs"]
    if tx.status != Status.SUCCESS and entry is not None:
        return [f"{name}: has a credit entry {entry} but did not succeed"]
    return []


def _check_movement(tx: Transaction, name: str, facts: _LedgerFacts) -> list[str]:
    """A transfer, a shop payment, a shop's refund or an adjustment (a day's
    compensation, wallet.care.compensation): completed means its entry
    is in the ledger, under the record's own idempotency key."""
    if tx.status != Status.COMPLETED:
        return []
    entry = facts.entries_by_key.get(tx.idempotency_key)
    if entry is None and tx.ledger_entry_id in facts.hold_commits:
        return []  # (a hold committed: the hold's entry, under no key of the record's)
    if tx.ledger_entry_id is None or entry is None:
        return [f"{name}: completed without a ledger entry"]
    if entry != tx.ledger_entry_id:
        return [f"{name}: its ledger entry {tx.ledger_entry_id} is not the entry {entry} "
                f"made with its key"]
    return []


#: A held transfer's status -> the state its ledger hold must be in.
TRANSFER_HOLD_STATE: dict[str, str] = {
    Status.PENDING: "pending", Status.COMPLETED: "committed", Status.FAILED: "released"}


def _check_held_transfer(tx: Transaction, name: str, facts: _LedgerFacts) -> list[str]:
    """A first payment held for its undo window: its hold pending, committed
    (with the transfer's entry) or released, as its status says."""
    hold = facts.holds.get(facts.transfer_holds[tx.id])
    wanted = TRANSFER_HOLD_STATE.get(tx.status)
    if hold is None or hold.status != wanted:
        return [f"{name}: its hold is {hold.status if hold else 'missing'}, expected {wanted}"]
    if hold.amount_paise != tx.amount_paise:
        return [f"{name}: hold of {hold.amount_paise} for {tx.amount_paise}"]
    if tx.status == Status.COMPLETED and hold.commit_entry_id != tx.ledger_entry_id:
        return [f"{name}: its entry does not match its hold's commit"]
    return []


def _check_withdrawal(tx: Transaction, wd: Withdrawal | None, name: str,
                      facts: _LedgerFacts) -> list[str]:
    if wd is None:
        return [f"{name}: has no payout details"]
    problems = []
    hold = facts.holds.get(wd.hold_id)
    wanted = HOLD_STATE_FOR.get(tx.status)
    if hold is None or (wanted and hold.status != wanted):
        problems.append(f"{name}: its hold is {hold.status if hold else 'missing'}, "
                        f"expected {wanted}")
    elif hold.amount_paise != tx.amount_paise:
        problems.append(f"{name}: hold of {hold.amount_paise} for {tx.amount_paise}")
    if tx.status in (Status.COMPLETED, Status.REVERSED) and (
            hold is None or hold.commit_entry_id != tx.ledger_entry_id):
        problems.append(f"{name}: payout entry does not match its hold's commit")
    has_refund = codes.withdrawal_reversal_key(tx.id) in facts.entries_by_key
    if has_refund != (tx.status == Status.REVERSED):
        problems.append(f"{name}: refund entry {'present' if has_refund else 'missing'}")
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


def our_bank_movements(session: Session, bank_code: str,
                       day: dt.date) -> dict[tuple[str, str], int]:
    """(type, reference) -> amount of what we recorded as settled with the bank on ``day``."""
    start, end = ist_day_bounds(day)
    found: dict[tuple[str, str], int] = {}
    for tx in session.scalars(select(Transaction).where(
            Transaction.bank_code == bank_code, Transaction.settled_at >= start,
            Transaction.settled_at < end)):
        if tx.kind == Kind.DEPOSIT and tx.status == Status.SUCCESS:
            found[("payment", tx.token or "")] = tx.amount_paise
        elif tx.kind == Kind.WITHDRAWAL and tx.status in (Status.COMPLETED, Status.REVERSED):
            found[("payout", codes.payout_reference(tx.id))] = tx.amount_paise
    return found


def our_record(session: Session, kind: str, reference: str) -> Transaction | None:
    if kind == "payment":
        return session.scalar(select(Transaction).where(Transaction.token == reference))
    transaction_id = codes.parse_payout_reference(reference)
    return None if transaction_id is None else session.get(Transaction, transaction_id)


# A bank statement line's type -> the statuses our record may have.
EXPECTED_STATUS = {"payment": (Status.SUCCESS,), "payout": (Status.COMPLETED, Status.REVERSED),
                   "payout_reversal": (Status.REVERSED,)}


def reconcile(session: Session, bank_code: str, day: dt.date,
              statements: Mapping[dt.date, Sequence[StatementLine]]) -> list[tuple[str, str, str]]:
    """Mismatches between the bank's statement for ``day`` and our records, as
    (reference, what, detail) rows. ``statements`` holds the bank's statements
    for day-1, day and day+1: a movement settled near midnight may be dated
    differently by the two sides, which is not a mismatch."""
    mismatches: list[tuple[str, str, str]] = []
    for line in statements.get(day, []):
        tx = our_record(session, line.kind, line.reference)
        if tx is None:
            mismatches.append((line.reference, "missing in our books",
                               f"bank has a {line.kind} of {line.amount_paise}"))
        elif tx.amount_paise != line.amount_paise:
            mismatches.append((line.reference, "amount differs",
                               f"bank {line.amount_paise}, ours {tx.amount_paise}"))
        elif tx.status not in EXPECTED_STATUS[line.kind]:
            mismatches.append((line.reference, "status differs",
                               f"bank reports a {line.kind}, ours is {tx.status}"))
    nearby = {(line.kind, line.reference)
              for lines in statements.values() for line in lines}
    for (kind, reference), amount in our_bank_movements(session, bank_code, day).items():
        if (kind, reference) not in nearby:
            mismatches.append((reference, "missing at the bank",
                               f"we settled a {kind} of {amount} on {day}"))
    return mismatches
