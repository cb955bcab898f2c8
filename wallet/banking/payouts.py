"""Payouts: a worker drives each owner's withdrawals (a user's) or settlements
(a merchant's) through the bank, one at a time per owner, oldest first.

Every fact lives in the database, so a task that is lost or killed can be run
again safely. The next bank call follows from the attempt log: no attempt yet
-> send; the last send's outcome unknown -> ask the status API first; the
status API has no record -> send again (same reference, so the bank can
de-duplicate too). At most one payout per owner is ``sending`` (a partial
unique index), and only the holder of the owner's lane lease calls the bank.
What a definite answer means is :meth:`WithdrawalService.settle`'s to say.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Callable, Protocol, TypedDict

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.codes import (
    CURRENCY,
    AttemptKind,
    AttemptOutcome,
    Kind,
    PayoutAnswer,
    Status,
    payout_reference,
    utcnow,
)
from ..core.models import Transaction
from ..core.tasks import TransactionRunner
from . import payout_sql
from .bank_client import BankRecord
from .banks import BankConfig
from .models import PayoutAttempt, PayoutLane, Withdrawal
from .protocols import protocol_for
from .protocols.base import PayoutRequest
from .withdrawals import Owner, WithdrawalService, payout_details

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PayoutPolicy:
    """Limits of the payout pipeline (all named with their units)."""

    lease_s: float = 60.0  # > the bank timeout, so a live worker never loses its lane
    retry_budget: int = 6  # unclear answers before a human looks at it
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 300.0



class Plan(TypedDict):
    """The bank call a step is about to make, written down first (as an
    attempt ``in_progress``). A plain dict: one is made per bank call."""

    kind: AttemptKind  # SEND or STATUS
    attempt_id: int
    transaction_id: int
    bank_code: str
    reference: str
    request: PayoutRequest
    others_queued: bool


class PayoutBank(Protocol):
    """A bank's payout API as a step calls it (wallet.banking.bank_client.BankClient):
    the bank's records as it sent them, read by the bank's protocol."""

    def send_payout(self, payload: PayoutRequest, /) -> BankRecord: ...

    def payout_status(self, reference: str, /) -> BankRecord | None: ...


class StepKind(StrEnum):
    """What one payout step did."""

    PROGRESS = "progress"  # a bank call was made (``more``: the owner has more payout work)
    IDLE = "idle"  # nothing to do
    BUSY = "busy"  # another worker holds the owner's lane
    WAIT = "wait"  # the current payout may be retried in ``wait_s``


@dataclass(frozen=True)
class Step:
    """What one payout step did, and when to step again."""

    kind: StepKind
    wait_s: float = 0.0
    more: bool = False


class PayoutProcessor:
    """Drives an owner's payouts through the bank, one at a time, oldest first.

    One step is two short transactions around one bank call: *claim* (take the
    owner's lane lease, pick the payout, write down the attempt about to be
    made) and *record* (write the answer, settle, free the lane, and see
    whether more work is waiting). The task runs one step and queues the owner
    again at the back of the queue, so one owner's backlog does not hold up
    everybody else's payouts.
    """

    def __init__(self, run_in_transaction: TransactionRunner,
                 banks: dict[str, BankConfig], client_for: Callable[[BankConfig], PayoutBank],
                 *, policy: PayoutPolicy,
                 withdrawals_for: Callable[[Session], WithdrawalService],
                 clock: Callable[[], dt.datetime] = utcnow, rng: random.Random | None = None):
        self.run = run_in_transaction
        self.banks = banks
        self.client_for = client_for
        self.policy = policy
        #: The withdrawals' state machine on a transaction's session (built by wallet.services).
        self.withdrawals_for = withdrawals_for
        self.clock = clock
        self.rng = rng or random.Random()

    # --------------------------------------------------------------- the lane

    def acquire_lane(self, owner: Owner | int | str, holder: str) -> bool:
        return self.run(lambda db: self._take_lane(db, Owner.of(owner), holder))

    def release_lane(self, owner: Owner | int | str, holder: str) -> None:
        self.run(lambda db: self._free_lane(db, Owner.of(owner), holder))

    def _take_lane(self, db: Session, owner: Owner, holder: str) -> bool:
        """Take (or renew) the owner's lane lease; False if someone else holds it."""
        now = self.clock()
        lease_until = now + dt.timedelta(seconds=self.policy.lease_s)
        taken = db.connection().execute(payout_sql.TAKE_LANE, {
            "lane_owner": owner.key, "lane_holder": holder, "now": now,
            "lease_until": lease_until}).rowcount
        if taken:
            return True
        if db.get(PayoutLane, owner.key) is not None:
            return False  # someone else holds it, and it has not expired
        try:
            with db.begin_nested():
                db.add(PayoutLane(owner=owner.key, holder=holder, expires_at=lease_until))
                db.flush()
            return True
        except IntegrityError:
            return False  # created by another worker a moment ago

    @staticmethod
    def _free_lane(db: Session, owner: Owner, holder: str) -> None:
        db.connection().execute(payout_sql.FREE_LANE,
                                {"lane_owner": owner.key, "lane_holder": holder})

    def drain(self, owner: Owner | int | str, holder: str) -> float | None:
        """Run steps until the owner has nothing due. Returns the seconds until
        a retry is due (the caller schedules one), or None."""
        while True:
            step = self.run_one(owner, holder)
            if step.kind == StepKind.WAIT:
                return step.wait_s
            if step.kind != StepKind.PROGRESS or not step.more:
                return None

    @staticmethod
    def _has_other_work(db: Session, owner: Owner, transaction_id: int) -> bool:
        """Any payout of the owner still open besides this one?"""
        return db.connection().execute(payout_sql.for_owner(owner.kind).other_open, {
            "owner_id": owner.id, "transaction_id": transaction_id}).first() is not None

    # ---------------------------------------------------------------- a step

    def run_one(self, owner: Owner | int | str, holder: str) -> Step:
        """Claim the owner's lane and current payout, make one bank call,
        record its answer and free the lane."""
        owner = Owner.of(owner)
        plan = self.run(lambda db: self._claim(db, owner, holder))
        if isinstance(plan, Step):  # busy, idle or wait: no bank call
            return plan
        outcome, reason, reply, latency_ms = self._call_bank(plan)
        more = self.run(lambda db: self._record_and_free(db, plan, owner, holder, outcome, reply,
                                                         latency_ms, reason))
        return Step(StepKind.PROGRESS, more=more)

    def _claim(self, db: Session, owner: Owner, holder: str) -> Plan | Step:
        if not self._take_lane(db, owner, holder):
            return Step(StepKind.BUSY)
        plan = self._plan(db, owner)
        if plan is None:
            self._free_lane(db, owner, holder)
            return Step(StepKind.IDLE)
        if isinstance(plan, float):
            self._free_lane(db, owner, holder)
            return Step(StepKind.WAIT, plan)
        return plan

    def _record_and_free(self, db: Session, plan: Plan, owner: Owner, holder: str,
                         outcome: AttemptOutcome, reply: BankRecord | None, latency_ms: int,
                         reason: str = "") -> bool:
        """Write the bank's answer, free the lane; True if the owner has more
        payout work (this payout still open, or others queued)."""
        # Free the lane *before* looking for more work: a withdrawal whose own
        # task found the lane taken is then either seen here, or its task's
        # retry waits on this row until we commit and then takes the lane.
        # (Queued ones seen at the claim are still queued: only the lane's
        # holder takes them out of the queue, so no need to look again.)
        self._free_lane(db, owner, holder)
        others = plan["others_queued"] or self._has_other_work(db, owner,
                                                                plan["transaction_id"])
        # Last, as it locks the bank's settlement account, which every payout
        # shares: the less of the transaction is left after it, the better.
        still_open = self._record(db, plan, outcome, reply, latency_ms, reason)
        return others or still_open

    def _call_bank(self, plan: Plan) -> tuple[AttemptOutcome, str, BankRecord | None, int]:
        """One call to the bank: our outcome, the bank's reason, its reply
        (as sent: kept in the attempt log) and the latency."""
        bank = self.banks[plan["bank_code"]]
        client, protocol = self.client_for(bank), protocol_for(bank)
        started = time.monotonic()
        reply: BankRecord | None
        outcome, reason = AttemptOutcome.UNKNOWN, ""
        try:
            if plan["kind"] == AttemptKind.SEND:
                reply = client.send_payout(plan["request"])
            else:
                reply = client.payout_status(plan["reference"])
            if reply is None:
                outcome = AttemptOutcome.NO_RECORD
            else:
                word = protocol.payout_word(reply)
                outcome = (word.outcome.attempt_outcome if word.outcome is not None
                           else AttemptOutcome.UNKNOWN)
                reason = word.reason
        except Exception as error:  # noqa: BLE001 - any failure here is an unknown outcome
            reply, outcome = {"error": str(error)[:500]}, AttemptOutcome.UNKNOWN
        latency_ms = int((time.monotonic() - started) * 1000)
        log.info("payout %s: %s -> %s in %d ms", plan["reference"], plan["kind"], outcome,
                 latency_ms)
        return outcome, reason, reply, latency_ms

    def _plan(self, db: Session, owner: Owner | int | str) -> Plan | float | None:
        """Under the lane: pick the owner's current withdrawal (the one being
        sent, else the oldest queued) and write down the attempt about to be
        made, before making it; or the seconds until its retry is due; None if
        the owner has no payout open. (Core statements: this runs for every
        payout.)"""
        owner = Owner.of(owner)
        now = self.clock()
        conn = db.connection()
        current = conn.execute(payout_sql.for_owner(owner.kind).current,
                               {"owner_id": owner.id}).first()
        if current is None:
            return None
        if current.status == Status.QUEUED:
            # The partial unique index guards "one sending per owner" here too.
            conn.execute(payout_sql.START_SENDING, {"transaction_id": current.id, "now": now})
        if current.next_attempt_at is not None and current.next_attempt_at > now:
            wait_s: float = (current.next_attempt_at - now).total_seconds()  # > 0
            return wait_s
        # Never resend blindly: after any send whose answer we did not get, ask first.
        kind = AttemptKind.SEND if current.last_kind is None or (
            current.last_kind == AttemptKind.STATUS
            and current.last_outcome == AttemptOutcome.NO_RECORD
        ) else AttemptKind.STATUS
        reference = payout_reference(current.id)
        payload: PayoutRequest = {
            "reference": reference, "amount_paise": current.amount_paise, "currency": CURRENCY,
            "account_number": current.account_number, "ifsc": current.ifsc}
        attempt_id = conn.execute(payout_sql.RECORD_ATTEMPT, {
            "transaction_id": current.id, "kind": kind, "outcome": AttemptOutcome.IN_PROGRESS,
            "request": json.dumps(payload if kind == AttemptKind.SEND
                                  else {"reference": reference}),
            "response": "", "started_at": now}).scalar_one()
        return {"kind": kind, "attempt_id": attempt_id, "transaction_id": current.id,
                "bank_code": current.bank_code, "reference": reference, "request": payload,
                "others_queued": bool(current.others_queued)}

    def _record(self, db: Session, plan: Plan, outcome: AttemptOutcome, reply: BankRecord | None,
                latency_ms: int, reason: str = "") -> bool:
        """Write down the bank's answer (``reply`` as sent; ``outcome`` and
        ``reason`` as its protocol reads it) and act on it; True if the payout
        is still open (another call is due: now, or after a backoff)."""
        db.connection().execute(payout_sql.RECORD_ANSWER, {
            "attempt_id": plan["attempt_id"], "outcome": outcome,
            "response": json.dumps(reply, default=str)[:2000], "finished_at": self.clock(),
            "latency_ms": latency_ms})
        service = self.withdrawals_for(db)
        tx_id = plan["transaction_id"]
        if outcome in PayoutAnswer.ALL:
            service.settle(tx_id, PayoutAnswer(outcome), reason=reason,
                           source=f"bank ({plan['kind']})")
            return False
        if outcome == AttemptOutcome.NO_RECORD:
            return True  # the next step sends it again, at once
        tx = db.execute(select(Transaction).where(Transaction.id == tx_id)
                        .with_for_update(of=Transaction, key_share=True)).scalar_one()
        if tx.status != Status.SENDING:
            return False  # settled meanwhile (a webhook, an operator): nothing to retry
        self._back_off(db, tx)
        return tx.status == Status.SENDING

    def _back_off(self, db: Session, tx: Transaction) -> None:
        unclear = 0  # unclear answers since the last operator retry
        for a in db.scalars(select(PayoutAttempt).where(PayoutAttempt.transaction_id == tx.id)
                            .order_by(PayoutAttempt.id)):
            if a.kind == AttemptKind.OPERATOR:
                unclear = 0
            elif a.outcome in (AttemptOutcome.UNKNOWN, AttemptOutcome.IN_PROGRESS):
                unclear += 1
        wd = payout_details(db, tx.id)
        if unclear >= self.policy.retry_budget:
            # Money neither lost nor paid twice: the hold stays until a human decides.
            tx.status, tx.updated_at = Status.NEEDS_REVIEW, self.clock()
            wd.next_attempt_at = None
            wd.failure_reason = f"no clear answer from the bank after {unclear} attempts"
            return
        delay_s = min(self.policy.backoff_cap_s, self.policy.backoff_base_s * 2 ** (unclear - 1))
        now = self.clock()
        wd.next_attempt_at = now + dt.timedelta(seconds=delay_s * (0.5 + self.rng.random()))

    # -------------------------------------------------------------- recovery

    def owners_needing_work(self, older_than: dt.timedelta) -> list[Owner]:
        """Owners with a withdrawal that nobody seems to be driving: queued or
        sending, not touched for ``older_than``, retry due, and lane free."""

        def find(db: Session) -> list[Owner]:
            now = self.clock()
            rows = db.execute(
                select(Transaction.payer_user_id, Transaction.payer_merchant_id)
                .join(Withdrawal, Withdrawal.transaction_id == Transaction.id)
                .where(Transaction.kind == Kind.WITHDRAWAL,
                       Transaction.status.in_(Status.PAYOUT_OPEN),
                       Transaction.updated_at < now - older_than,
                       or_(Withdrawal.next_attempt_at.is_(None), Withdrawal.next_attempt_at <= now))
            ).all()
            # (Every payout has a payer; a row without one names no owner.)
            owners = ({Owner(Owner.USER, u) for u, _ in rows if u is not None}
                      | {Owner(Owner.MERCHANT, m) for u, m in rows if u is None and m is not None})
            busy = {lane.owner for lane in db.scalars(select(PayoutLane).where(
                PayoutLane.holder.is_not(None), PayoutLane.expires_at >= now))}
            return sorted((o for o in owners if o.key not in busy), key=lambda o: o.key)
        return self.run(find)
