"""The statements every payout step runs, built once (plain Core on the
tables, named parameters): building a statement and deriving its cache key
in Python cost more than running it, and these run several times per payout.

``for_owner(kind)`` has the variants that filter on the payer column of a
user ("user") or a merchant ("merchant").
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Executable, bindparam, case, insert, or_, select, update

from ..core.codes import AttemptKind, Kind, Status
from ..core.models import Transaction, table_of
from .models import PayoutAttempt, PayoutLane, Withdrawal

lanes = table_of(PayoutLane)
transactions = table_of(Transaction)
withdrawals = table_of(Withdrawal)
attempts = table_of(PayoutAttempt)

# (Parameters that set a column are named after it; the others must not be.)

#: Take or renew a lane: free, already ours, or its lease expired.
TAKE_LANE = (
    update(lanes)
    .where(lanes.c.owner == bindparam("lane_owner"),
           or_(lanes.c.holder.is_(None), lanes.c.holder == bindparam("lane_holder"),
               lanes.c.expires_at < bindparam("now")))
    .values(holder=bindparam("lane_holder"), expires_at=bindparam("lease_until"))
)
FREE_LANE = (
    update(lanes)
    .where(lanes.c.owner == bindparam("lane_owner"), lanes.c.holder == bindparam("lane_holder"))
    .values(holder=None)
)
START_SENDING = (
    update(transactions).where(transactions.c.id == bindparam("transaction_id"))
    .values(status=Status.SENDING, updated_at=bindparam("now"))
)
RECORD_ATTEMPT = insert(attempts).returning(attempts.c.id)
#: Set outcome, response, finished_at and latency_ms of one attempt.
RECORD_ANSWER = update(attempts).where(attempts.c.id == bindparam("attempt_id"))


@dataclass(frozen=True)
class OwnerStatements:
    #: The owner's current payout (the one being sent, else the oldest queued),
    #: with the last bank call about it and whether others are queued behind it.
    current: Executable
    #: Any payout of the owner still open besides ``transaction_id``?
    other_open: Executable


@functools.cache
def for_owner(kind: str) -> OwnerStatements:
    payer = "payer_merchant_id" if kind == "merchant" else "payer_user_id"
    tx = transactions
    # The last bank call about it (operator notes aside) decides the next one.
    last_attempt = (select(attempts.c.kind, attempts.c.outcome)
                    .where(attempts.c.transaction_id == tx.c.id,
                           attempts.c.kind != AttemptKind.OPERATOR)
                    .order_by(attempts.c.id.desc()).limit(1))
    other = tx.alias("other")
    others_queued = select(other.c.id).where(
        other.c.kind == Kind.WITHDRAWAL, other.c.status == Status.QUEUED,
        other.c[payer] == tx.c[payer], other.c.id != tx.c.id).exists()
    current = (
        select(tx.c.id, tx.c.status, tx.c.amount_paise, tx.c.bank_code,
               withdrawals.c.account_number, withdrawals.c.ifsc, withdrawals.c.next_attempt_at,
               last_attempt.with_only_columns(attempts.c.kind).scalar_subquery()
               .label("last_kind"),
               last_attempt.with_only_columns(attempts.c.outcome).scalar_subquery()
               .label("last_outcome"),
               others_queued.label("others_queued"))
        .join(withdrawals, withdrawals.c.transaction_id == tx.c.id)
        .where(tx.c.kind == Kind.WITHDRAWAL, tx.c[payer] == bindparam("owner_id"),
               tx.c.status.in_(Status.PAYOUT_OPEN))
        .order_by(case((tx.c.status == Status.SENDING, 0), else_=1), tx.c.id).limit(1)
    )
    other_open = (
        select(tx.c.id)
        .where(tx.c.kind == Kind.WITHDRAWAL, tx.c[payer] == bindparam("owner_id"),
               tx.c.status.in_(Status.PAYOUT_OPEN), tx.c.id != bindparam("transaction_id"))
        .limit(1)
    )
    return OwnerStatements(current, other_open)
