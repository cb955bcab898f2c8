"""Withdrawals (off-ramp): the one place their state machine lives.

    queued --a worker takes the user's lane--> sending --bank accepts--> completed --bank reverses--> reversed
                                                  | --bank rejects--> failed (hold released)
                                                  | --unclear answer--> ask the bank's status API, then
                                                  |                     settle, or resend after backoff
                                                  +--retry budget spent--> needs_review (hold kept)

The request only records the withdrawal and holds the money (one DB
transaction); workers drive the rest through :class:`PayoutProcessor`, which
keeps every fact in the database, so a task that is lost or killed can be run
again safely. The next bank call follows from the attempt log: no attempt yet
-> send; the last send's outcome unknown -> ask the status API first; the
status API has no record -> send again (same reference, so the bank can
de-duplicate too). At most one withdrawal per user is ``sending`` (a partial
unique index), and only the holder of the user's lane lease calls the bank.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from ledgerlib import InsufficientFunds, format_paise

from . import payout_sql
from .banks import BankConfig
from .models import Merchant, PayoutAttempt, PayoutLane, Transaction, User, Withdrawal
from .models.withdrawal import payout_reference
from .wallet import InsufficientBalance, WalletError, WalletService, bank_settlement_code, utcnow

log = logging.getLogger(__name__)

MIN_WITHDRAWAL_PAISE = 1_00
MAX_WITHDRAWAL_PAISE = 1_00_000_00
_ACCOUNT_NUMBER = re.compile(r"[0-9]{9,18}", re.ASCII)
_IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}", re.ASCII)


@dataclass(frozen=True)
class Owner:
    """Whose payouts: a user's withdrawals or a merchant's settlements."""

    kind: str  # "user" or "merchant"
    id: int

    @classmethod
    def of(cls, value: "Owner | int | str") -> "Owner":
        """An Owner from itself, a user id, or a key such as "merchant:3"."""
        if isinstance(value, Owner):
            return value
        if isinstance(value, int):
            return cls("user", value)
        kind, _, number = str(value).partition(":")
        if kind not in ("user", "merchant") or not number.isdigit():
            raise ValueError(f"not a payout owner: {value!r}")
        return cls(kind, int(number))

    @classmethod
    def for_account(cls, account: User | Merchant) -> "Owner":
        return cls("merchant" if isinstance(account, Merchant) else "user", account.id)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def wallet_code(self) -> str:
        return f"{self.kind}:{self.id}:wallet"

    @property
    def payer_column(self):  # type: ignore[no-untyped-def]
        return Transaction.payer_user_id if self.kind == "user" else Transaction.payer_merchant_id

    def of_transaction(self, tx: Transaction) -> bool:
        return (tx.payer_user_id if self.kind == "user" else tx.payer_merchant_id) == self.id

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class PayoutPolicy:
    """Limits of the payout pipeline (all named with their units)."""

    lease_s: float = 60.0  # > the bank timeout, so a live worker never loses its lane
    retry_budget: int = 6  # unclear answers before a human looks at it
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: dict) -> "PayoutPolicy":
        return cls(
            lease_s=float(settings.get("wallet.payout_lease_s", cls.lease_s)),
            retry_budget=int(settings.get("wallet.payout_retry_budget", cls.retry_budget)),
            backoff_base_s=float(settings.get("wallet.payout_backoff_base_s", cls.backoff_base_s)),
            backoff_cap_s=float(settings.get("wallet.payout_backoff_cap_s", cls.backoff_cap_s)),
        )


class WithdrawalService:
    """What a request does: record a withdrawal and hold its money."""

    def __init__(self, dbsession: Session, banks: dict[str, BankConfig], *,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.banks = banks
        self.clock = clock
        self.wallet = WalletService(dbsession, clock=clock)

    def request(self, user: User | Merchant, bank_code: str, account_number: str, ifsc: str,
                amount_paise: int, request_key: str) -> Transaction:
        """Record a withdrawal (a merchant's: a settlement) and hold its money."""
        owner = Owner.for_account(user)
        account_number = re.sub(r"[\s-]", "", account_number or "")
        ifsc = (ifsc or "").strip().upper()
        if bank_code not in self.banks:
            raise WalletError("Choose one of the listed banks.", "bank")
        if not _ACCOUNT_NUMBER.fullmatch(account_number):
            raise WalletError("Enter the account number: 9 to 18 digits.", "account_number")
        if not _IFSC.fullmatch(ifsc):
            raise WalletError("Enter the 11-character IFSC, like HDFC0001234.", "ifsc")
        if amount_paise < MIN_WITHDRAWAL_PAISE:
            raise WalletError(f"Withdraw at least {format_paise(MIN_WITHDRAWAL_PAISE)}.", "amount")
        if amount_paise > MAX_WITHDRAWAL_PAISE:
            raise WalletError(f"Withdraw at most {format_paise(MAX_WITHDRAWAL_PAISE)} at a time.",
                              "amount")
        key = self.wallet.idempotency_key(
            "withdrawal" if owner.kind == "user" else "settlement", user, request_key)
        existing = self.wallet.replay(key, bank_code=bank_code, amount_paise=amount_paise)
        if existing is not None:
            return existing
        settlement = bank_settlement_code(bank_code)
        self.wallet.ledger.open_account(settlement, "asset", allow_negative=True)
        now = self.clock()
        tx = Transaction(kind="withdrawal", status="queued", amount_paise=amount_paise,
                         payer_user_id=user.id if owner.kind == "user" else None,
                         payer_merchant_id=user.id if owner.kind == "merchant" else None,
                         bank_code=bank_code,
                         note=f"To {self.banks[bank_code].name} a/c ••{account_number[-4:]}",
                         idempotency_key=key, created_at=now, updated_at=now)
        try:
            with self.db.begin_nested():  # the hold may refuse: then no record either
                self.db.add(tx)
                self.db.flush()
                hold = self.wallet.ledger.hold(
                    owner.wallet_code, settlement, amount_paise,
                    idempotency_key=f"withdrawal:{tx.id}:hold",
                    memo=tx.note, metadata={"kind": "withdrawal", "transaction_id": tx.id})
                self.db.add(Withdrawal(
                    transaction_id=tx.id, account_number=account_number, ifsc=ifsc,
                    hold_id=hold.id, user_id=user.id if owner.kind == "user" else None,
                    merchant_id=user.id if owner.kind == "merchant" else None))
                self.db.flush()
        except InsufficientFunds as exc:
            raise InsufficientBalance(
                f"Your available balance is {format_paise(exc.available_paise)}: "
                f"not enough to withdraw {format_paise(amount_paise)}.") from None
        except IntegrityError:  # the same form, submitted twice at once: the other won
            replay = self.wallet.replay(key, bank_code=bank_code, amount_paise=amount_paise)
            if replay is None:
                raise
            return replay
        return tx

    def for_user(self, user: User | Merchant,
                 transaction_id: int) -> tuple[Transaction, Withdrawal] | None:
        """The withdrawal if it is ``user``'s (a user or a merchant); else None (a 404)."""
        tx = self.db.get(Transaction, transaction_id)
        if tx is None or tx.kind != "withdrawal" or not Owner.for_account(user).of_transaction(tx):
            return None
        return tx, self.db.get(Withdrawal, tx.id)

    def attempts(self, transaction_id: int) -> list[PayoutAttempt]:
        return list(self.db.scalars(select(PayoutAttempt)
                                    .where(PayoutAttempt.transaction_id == transaction_id)
                                    .order_by(PayoutAttempt.id)))

    # ----------------------------------------------------- settling (locked)

    def settle(self, transaction_id: int, outcome: str, *, reason: str = "",
               source: str = "") -> str:
        """Apply a definite bank answer to a withdrawal, under its row lock.

        ``outcome``: accepted | rejected | reversed. Returns what happened:
        completed, failed, reversed, already, or flagged (contradiction).
        """
        tx, wd = self.db.execute(
            select(Transaction, Withdrawal).join(Withdrawal)
            .options(lazyload("*"))  # just the two rows: no joined payer/payee
            .where(Transaction.id == transaction_id).with_for_update(of=Transaction)).one()
        ledger = self.wallet.ledger
        now = self.clock()
        target = {"accepted": "completed", "rejected": "failed", "reversed": "reversed"}[outcome]
        if tx.status == target or (tx.status == "reversed" and outcome == "accepted"):
            return "already"  # (accepted is old news once the payout came back)
        never_sent = tx.status == "queued" and self.db.scalar(
            select(PayoutAttempt.id).where(PayoutAttempt.transaction_id == tx.id,
                                           PayoutAttempt.kind == "send").limit(1)) is None
        if tx.status in ("queued", "sending", "needs_review") and not never_sent:
            if outcome == "rejected":
                ledger.release_hold(wd.hold_id)
                wd.failure_reason = (reason or "rejected by the bank")[:300]
            else:
                tx.ledger_entry_id = ledger.commit_hold(wd.hold_id).id
                if outcome == "reversed":  # paid, then returned by the bank
                    self._refund(tx)
            tx.status, tx.settled_at, tx.updated_at = target, now, now
            wd.next_attempt_at = None
            return target
        if tx.status == "completed" and outcome == "reversed":
            self._refund(tx)
            tx.status, tx.updated_at = "reversed", now
            return "reversed"
        tx.flag_reason = f"{source or 'bank'} reported {outcome} after {tx.status}"[:300]
        tx.updated_at = now
        return "flagged"

    def _refund(self, tx: Transaction) -> None:
        self.wallet.ledger.reverse(
            tx.ledger_entry_id, idempotency_key=f"withdrawal:{tx.id}:reversal",
            memo=f"Returned by the bank: {tx.note}",
            metadata={"kind": "withdrawal_reversal", "transaction_id": tx.id})

    # ------------------------------------------------------ operator actions

    def _needs_review(self, transaction_id: int) -> tuple[Transaction, Withdrawal]:
        tx = self.db.scalar(select(Transaction).where(Transaction.id == transaction_id)
                            .with_for_update(of=Transaction))
        if tx is None or tx.kind != "withdrawal":
            raise WalletError(f"no withdrawal {transaction_id}")
        if tx.status != "needs_review":
            raise WalletError(f"withdrawal {transaction_id} is {tx.status}, not needs_review")
        return tx, self.db.get(Withdrawal, transaction_id)

    def _operator_note(self, tx: Transaction, what: str, detail: dict) -> None:
        now = self.clock()
        self.db.add(PayoutAttempt(transaction_id=tx.id, kind="operator", outcome=what,
                                  request=json.dumps(detail), started_at=now, finished_at=now))

    def operator_retry(self, transaction_id: int) -> None:
        """Put a needs_review withdrawal back in its user's queue with a fresh
        retry budget; the worker asks the bank's status before any resend."""
        tx, wd = self._needs_review(transaction_id)
        self._operator_note(tx, "retry", {})
        tx.status, tx.updated_at = "queued", self.clock()
        wd.next_attempt_at, wd.failure_reason = None, ""

    def operator_resolve(self, transaction_id: int, paid: bool, bank_record: dict | None) -> str:
        """Settle a needs_review withdrawal by hand, but never against the bank's
        word: ``bank_record`` is what its status API says right now."""
        tx, _ = self._needs_review(transaction_id)
        bank_status = None if bank_record is None else bank_record.get("status")
        bank_paid = bank_status in ("accepted", "reversed")
        if paid != bank_paid:
            raise WalletError(
                f"the bank says {bank_status or 'it has no such payout'}: refusing to mark "
                f"withdrawal {transaction_id} as {'paid' if paid else 'not paid'}")
        self._operator_note(tx, "resolved", {"paid": paid, "bank_status": bank_status})
        outcome = bank_status if paid else "rejected"
        return self.settle(transaction_id, outcome, reason="resolved by an operator",
                           source="operator")

    def settle_by_reference(self, reference: str, outcome: str, *, bank_code: str,
                            amount_paise: int, currency: str, source: str) -> str:
        """A bank report about a payout (webhook): unknown / mismatch / what settle
        says. Only the bank that made the payout can report on it."""
        match = re.fullmatch(r"wd_([0-9]{1,18})", reference or "")
        tx = self.db.get(Transaction, int(match.group(1))) if match else None
        if tx is None or tx.kind != "withdrawal" or tx.bank_code != bank_code:
            return "unknown"
        if tx.amount_paise != amount_paise or currency != "INR":
            tx.flag_reason = (f"{source} reported {amount_paise} {currency} for a payout of "
                              f"{tx.amount_paise} INR")
            return "mismatch"
        return self.settle(tx.id, outcome, source=source)


@dataclass(frozen=True)
class Step:
    """What one payout step did: ``progress`` (a bank call was made; ``more``:
    the owner has more payout work), ``idle`` (nothing to do), ``busy``
    (another worker holds the owner's lane) or ``wait`` (the current payout may
    be retried in ``wait_s``)."""

    kind: str
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

    def __init__(self, run_in_transaction: Callable[[Callable[[Session], Any]], Any],
                 banks: dict[str, BankConfig], client_for: Callable[[BankConfig], Any],
                 policy: PayoutPolicy = PayoutPolicy(), *,
                 clock: Callable[[], dt.datetime] = utcnow, rng: random.Random | None = None):
        self.run = run_in_transaction
        self.banks = banks
        self.client_for = client_for
        self.policy = policy
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
            if step.kind == "wait":
                return step.wait_s
            if step.kind != "progress" or not step.more:
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
        if plan["kind"] in ("busy", "idle", "wait"):
            return Step(plan["kind"], plan.get("wait_s", 0.0))
        outcome, reply, latency_ms = self._call_bank(plan)
        more = self.run(lambda db: self._record_and_free(db, plan, owner, holder, outcome, reply,
                                                         latency_ms))
        return Step("progress", more=more)

    def _claim(self, db: Session, owner: Owner, holder: str) -> dict:
        if not self._take_lane(db, owner, holder):
            return {"kind": "busy"}
        plan = self._plan(db, owner)
        if plan is None:
            self._free_lane(db, owner, holder)
            return {"kind": "idle"}
        if plan["wait_s"]:
            self._free_lane(db, owner, holder)
            return {"kind": "wait", "wait_s": plan["wait_s"]}
        return plan

    def _record_and_free(self, db: Session, plan: dict, owner: Owner, holder: str,
                         outcome: str, reply: Any, latency_ms: int) -> bool:
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
        still_open = self._record(db, plan, outcome, reply, latency_ms)
        return others or still_open

    def _call_bank(self, plan: dict) -> tuple[str, Any, int]:
        client = self.client_for(self.banks[plan["bank_code"]])
        started = time.monotonic()
        try:
            if plan["kind"] == "send":
                reply = client.send_payout(plan["request"])
                outcome = reply["status"]
            else:
                reply = client.payout_status(plan["reference"])
                outcome = "no_record" if reply is None else reply.get("status", "unknown")
                if outcome not in ("accepted", "rejected", "reversed", "no_record"):
                    outcome = "unknown"
        except Exception as error:  # noqa: BLE001 - any failure here is an unknown outcome
            reply, outcome = {"error": str(error)[:500]}, "unknown"
        latency_ms = int((time.monotonic() - started) * 1000)
        log.info("payout %s: %s -> %s in %d ms", plan["reference"], plan["kind"], outcome,
                 latency_ms)
        return outcome, reply, latency_ms

    def _plan(self, db: Session, owner: Owner | int | str) -> dict | None:
        """Under the lane: pick the owner's current withdrawal (the one being
        sent, else the oldest queued) and write down the attempt about to be
        made, before making it. (Core statements: this runs for every payout.)"""
        owner = Owner.of(owner)
        now = self.clock()
        conn = db.connection()
        current = conn.execute(payout_sql.for_owner(owner.kind).current,
                               {"owner_id": owner.id}).first()
        if current is None:
            return None
        if current.status == "queued":
            # The partial unique index guards "one sending per owner" here too.
            conn.execute(payout_sql.START_SENDING, {"transaction_id": current.id, "now": now})
        if current.next_attempt_at is not None and current.next_attempt_at > now:
            return {"wait_s": (current.next_attempt_at - now).total_seconds()}
        # Never resend blindly: after any send whose answer we did not get, ask first.
        kind = "send" if current.last_kind is None or (
            current.last_kind == "status" and current.last_outcome == "no_record") else "status"
        reference = payout_reference(current.id)
        payload = {"reference": reference, "amount_paise": current.amount_paise,
                   "currency": "INR", "account_number": current.account_number,
                   "ifsc": current.ifsc}
        attempt_id = conn.execute(payout_sql.RECORD_ATTEMPT, {
            "transaction_id": current.id, "kind": kind, "outcome": "in_progress",
            "request": json.dumps(payload if kind == "send" else {"reference": reference}),
            "response": "", "started_at": now}).scalar_one()
        return {"wait_s": 0, "kind": kind, "attempt_id": attempt_id, "transaction_id": current.id,
                "bank_code": current.bank_code, "reference": reference, "request": payload,
                "others_queued": bool(current.others_queued)}

    def _record(self, db: Session, plan: dict, outcome: str, reply: Any, latency_ms: int) -> bool:
        """Write down the bank's answer and act on it; True if the payout is
        still open (another call is due: now, or after a backoff)."""
        db.connection().execute(payout_sql.RECORD_ANSWER, {
            "attempt_id": plan["attempt_id"], "outcome": outcome,
            "response": json.dumps(reply, default=str)[:2000], "finished_at": self.clock(),
            "latency_ms": latency_ms})
        service = WithdrawalService(db, self.banks, clock=self.clock)
        tx_id = plan["transaction_id"]
        if outcome in ("accepted", "rejected", "reversed"):
            reason = reply.get("reason", "") if isinstance(reply, dict) else ""
            service.settle(tx_id, outcome, reason=reason, source=f"bank ({plan['kind']})")
            return False
        if outcome == "no_record":
            return True  # the next step sends it again, at once
        tx = db.scalar(select(Transaction).where(Transaction.id == tx_id)
                       .with_for_update(of=Transaction))
        if tx.status != "sending":
            return False  # settled meanwhile (a webhook, an operator): nothing to retry
        self._back_off(db, tx_id)
        return tx.status == "sending"

    def _back_off(self, db: Session, tx_id: int) -> None:
        unclear = 0  # unclear answers since the last operator retry
        for a in db.scalars(select(PayoutAttempt).where(PayoutAttempt.transaction_id == tx_id)
                            .order_by(PayoutAttempt.id)):
            if a.kind == "operator":
                unclear = 0
            elif a.outcome in ("unknown", "in_progress"):
                unclear += 1
        wd = db.get(Withdrawal, tx_id)
        tx = db.get(Transaction, tx_id)
        if unclear >= self.policy.retry_budget:
            # Money neither lost nor paid twice: the hold stays until a human decides.
            tx.status, tx.updated_at = "needs_review", self.clock()
            wd.next_attempt_at = None
            wd.failure_reason = f"no clear answer from the bank after {unclear} attempts"
            return
        delay_s = min(self.policy.backoff_cap_s, self.policy.backoff_base_s * 2 ** (unclear - 1))
        wd.next_attempt_at = self.clock() + dt.timedelta(seconds=delay_s * (0.5 + self.rng.random()))

    # -------------------------------------------------------------- recovery

    def owners_needing_work(self, older_than: dt.timedelta) -> list[Owner]:
        """Owners with a withdrawal that nobody seems to be driving: queued or
        sending, not touched for ``older_than``, retry due, and lane free."""

        def find(db: Session) -> list[Owner]:
            now = self.clock()
            rows = db.execute(
                select(Transaction.payer_user_id, Transaction.payer_merchant_id)
                .join(Withdrawal, Withdrawal.transaction_id == Transaction.id)
                .where(Transaction.kind == "withdrawal",
                       Transaction.status.in_(("queued", "sending")),
                       Transaction.updated_at < now - older_than,
                       or_(Withdrawal.next_attempt_at.is_(None), Withdrawal.next_attempt_at <= now))
            ).all()
            owners = {Owner("user", u) if u is not None else Owner("merchant", m) for u, m in rows}
            busy = {lane.owner for lane in db.scalars(select(PayoutLane).where(
                PayoutLane.holder.is_not(None), PayoutLane.expires_at >= now))}
            return sorted((o for o in owners if o.key not in busy), key=lambda o: o.key)
        return self.run(find)
