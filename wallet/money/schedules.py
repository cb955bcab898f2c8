"""Scheduled and recurring payments: a user approves, with the PIN, a payment
to a friend or a shop once on a date, or every week or month
(wallet.money.schedule_dates); the workers pay each run when it is due.

    schedule: active <--pause/resume--> paused;  -> completed (no run left)
                                                 -> cancelled (by the payer)
    run:  scheduled --due, within the cap--> completed
                    --due, refused--> retrying (a retry allowed) | failed
                    --due, above the cap--> awaiting_pin --payer confirms with the PIN--> completed
          retrying --retry time, paid--> completed | --refused again--> failed
          scheduled | retrying | awaiting_pin --payer skips--> skipped
                                              --schedule cancelled--> cancelled
          scheduled --its date passed while paused, then resumed--> skipped

Exactly once: a run is one row, unique per (schedule, run number), and its
payment's ledger key is derived from that pair
(codes.schedule_run_request_key): a second worker, a worker's crash after the
commit, a failover or the payer's confirmation all pay under the same key.
Every change of a schedule or its runs locks the schedule's row first
(``FOR NO KEY UPDATE``; the sweep claims with ``SKIP LOCKED``, so it never
waits), which covers its runs (docs/architecture.md, "Lock order").

A run within the per-run cap is paid with the payer's standing approval
(Pins.standing): they approved the schedule with the PIN. Above the cap it
waits for the PIN in the app. The payer hears of each run ``notice_hours``
before it (the notice always comes before the debit), of each payment, each
refusal and each run that waits for the PIN.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..core import codes
from ..core.codes import Kind, RunStatus, ScheduleFrequency, ScheduleStatus, utcnow
from ..core.errors import DuplicateRequest, WalletError
from ..core.models import Merchant, Transaction, User
from ..core.notifications import Notice, notify
from ..identity.pins import PinInput, Pins
from . import records
from .errors import RecipientNotFound, ScheduleNotChangeable, ScheduleNotFound
from .freeze import ensure_can_spend
from .models import PaymentSchedule, ScheduleRun
from .schedule_dates import run_at, run_exists, today_in_india
from .shop_payments import ShopPayments
from .transfers import Transfers

__all__ = ["NOTE_CHARS", "NewSchedule", "PaymentSchedules", "SchedulePolicy", "Payee"]

#: A schedule's own note (each run's is "Scheduled payment: <note>").
NOTE_CHARS = 100
NOTICE_BATCH = 200


@dataclass(frozen=True)
class SchedulePolicy:
    #: The payer is told of a run this long before it.
    notice_hours: float = 24.0
    #: A run above this waits for the payer's PIN in the app.
    run_cap_paise: int = 5_000_00
    #: A refused run (no money, a frozen wallet...) is tried once more, this long after.
    retry: bool = True
    retry_delay_s: float = 6 * 3600.0


@dataclass(frozen=True)
class NewSchedule:
    """A schedule's details, read and checked (wallet.money.schedule_quotes)."""

    to_phone: str | None
    merchant_handle: str | None
    amount_paise: int
    frequency: ScheduleFrequency
    start_date: dt.date
    end_date: dt.date | None
    count: int | None
    note: str


@dataclass(frozen=True)
class Payee:
    user: User | None
    merchant: Merchant | None

    @property
    def name(self) -> str:
        if self.user is not None:
            return f"{self.user.name} ({self.user.masked_phone})"
        assert self.merchant is not None
        return f"{self.merchant.name} (@{self.merchant.handle})"


class PaymentSchedules:
    def __init__(self, dbsession: Session, *, clock: Callable[[], dt.datetime] = utcnow,
                 policy: SchedulePolicy, pins: Pins, transfers: Transfers,
                 shop_payments: ShopPayments):
        self.db = dbsession
        self.clock = clock
        self.policy = policy
        #: The schedule is approved with the PIN; its runs within the cap stand on it.
        self.pins = pins
        self.transfers = transfers
        self.shop_payments = shop_payments

    # ------------------------------------------------------------ creating

    def payee(self, payer: User, new: NewSchedule) -> Payee:
        """The user or shop ``new`` pays (RecipientNotFound, SelfTransfer)."""
        if new.to_phone is not None:
            user, _ = self.transfers.preview_transfer(payer, new.to_phone, new.amount_paise,
                                                      "schedule-preview-key")[:2]
            return Payee(user, None)
        merchant = self.shop_payments.merchant_by_handle(new.merchant_handle or "")
        if merchant is None:
            raise RecipientNotFound("No shop has that payment handle.", "handle")
        return Payee(None, merchant)

    def create(self, payer: User, new: NewSchedule, request_key: str, *,
               pin: PinInput) -> PaymentSchedule:
        """Make the schedule, approved by ``payer``'s PIN (checked last); the
        same ``request_key`` again returns the first one, other details under
        it are refused."""
        key = records.idempotency_key("schedule", payer, request_key)
        earlier = self.db.scalar(select(PaymentSchedule).where(
            PaymentSchedule.idempotency_key == key))
        ensure_can_spend(payer)
        payee = self.payee(payer, new)
        if earlier is not None:  # the same form again: no PIN compared
            return self._same(earlier, new, payee)
        self.pins.approve(payer, pin)
        now = self.clock()
        schedule = PaymentSchedule(
            public_id=codes.public_id("ps"), payer_user_id=payer.id,
            payee_user_id=None if payee.user is None else payee.user.id,
            payee_merchant_id=None if payee.merchant is None else payee.merchant.id,
            amount_paise=new.amount_paise, note=new.note, frequency=new.frequency,
            start_date=new.start_date, end_date=new.end_date, max_runs=new.count,
            status=ScheduleStatus.ACTIVE, last_run_number=0, idempotency_key=key,
            created_at=now, updated_at=now)
        try:
            with self.db.begin_nested():  # the same form twice at once: one wins
                self.db.add(schedule)
                self.db.flush()
        except IntegrityError:
            found = self.db.scalar(select(PaymentSchedule).where(
                PaymentSchedule.idempotency_key == key))
            if found is None:
                raise
            return self._same(found, new, payee)
        run = self._advance(schedule, now)
        if run is not None and run.notify_at <= now:  # sooner than the notice period
            self._notice(schedule, run, now)
        return schedule

    @staticmethod
    def _same(earlier: PaymentSchedule, new: NewSchedule, payee: Payee) -> PaymentSchedule:
        """The schedule made before with this key, if ``new`` is what it was."""
        if (earlier.amount_paise, earlier.frequency, earlier.start_date, earlier.end_date,
                earlier.max_runs, earlier.note, earlier.payee_user_id,
                earlier.payee_merchant_id) != (
                    new.amount_paise, new.frequency, new.start_date, new.end_date, new.count,
                    new.note, None if payee.user is None else payee.user.id,
                    None if payee.merchant is None else payee.merchant.id):
            raise DuplicateRequest("This form was already submitted with other details. "
                                   "Check your scheduled payments, then start again.")
        return earlier

    # ------------------------------------------------------------- reading

    def get(self, payer: User, public_id: str, *, lock: bool = False) -> PaymentSchedule:
        stmt = select(PaymentSchedule).where(PaymentSchedule.public_id == public_id,
                                             PaymentSchedule.payer_user_id == payer.id)
        if lock:
            stmt = stmt.with_for_update(key_share=True).execution_options(
                populate_existing=True)
        schedule = self.db.scalar(stmt)
        if schedule is None:
            raise ScheduleNotFound("No such scheduled payment.")
        return schedule

    def page(self, payer: User, *, cursor: int | None = None,
             limit: int = 20) -> tuple[list[PaymentSchedule], int | None]:
        """The payer's schedules, newest first: (page, cursor of the next page)."""
        stmt = (select(PaymentSchedule).where(PaymentSchedule.payer_user_id == payer.id)
                .order_by(PaymentSchedule.id.desc()).limit(limit + 1))
        if cursor is not None:
            stmt = stmt.where(PaymentSchedule.id < cursor)
        rows = list(self.db.scalars(stmt))
        return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)

    def runs(self, schedule: PaymentSchedule, limit: int = 50) -> list[ScheduleRun]:
        """Its runs, latest first."""
        return list(self.db.scalars(
            select(ScheduleRun).where(ScheduleRun.schedule_id == schedule.id)
            .order_by(ScheduleRun.run_number.desc()).limit(limit)))

    def next_run(self, schedule: PaymentSchedule) -> ScheduleRun | None:
        """Its earliest open run (the one "skip" skips)."""
        return self.db.scalar(
            select(ScheduleRun).where(ScheduleRun.schedule_id == schedule.id,
                                      ScheduleRun.status.in_(RunStatus.OPEN))
            .order_by(ScheduleRun.attempt_at, ScheduleRun.run_number).limit(1)
            .execution_options(populate_existing=True))

    def payee_of(self, schedule: PaymentSchedule) -> Payee:
        return Payee(None if schedule.payee_user_id is None
                     else self.db.get(User, schedule.payee_user_id),
                     None if schedule.payee_merchant_id is None
                     else self.db.get(Merchant, schedule.payee_merchant_id))

    # ----------------------------------------------------- the payer's changes

    def skip_next(self, payer: User, public_id: str) -> ScheduleRun:
        """Skip the schedule's next open run (found under its lock)."""
        schedule = self.get(payer, public_id, lock=True)
        self._check_live(schedule, "skipped")
        run = self.next_run(schedule)
        if run is None:
            raise ScheduleNotChangeable("This scheduled payment has no run left to skip.")
        return self._skip(schedule, run)

    def skip(self, payer: User, public_id: str, run_number: int) -> ScheduleRun:
        """Skip an open run (skipping it again changes nothing)."""
        schedule = self.get(payer, public_id, lock=True)
        run = self._run(schedule, run_number)
        if run.status == RunStatus.SKIPPED:
            return run
        self._check_live(schedule, "skipped")
        if run.status not in RunStatus.OPEN:
            raise ScheduleNotChangeable(f"This run is {run.status}: it cannot be skipped.")
        return self._skip(schedule, run)

    def _skip(self, schedule: PaymentSchedule, run: ScheduleRun) -> ScheduleRun:
        was, now = run.status, self.clock()
        self._end(run, RunStatus.SKIPPED, now, "skipped by you")
        if was == RunStatus.SCHEDULED:
            self._advance(schedule, now)
        self._maybe_complete(schedule, now)
        return run

    def pause(self, payer: User, public_id: str) -> PaymentSchedule:
        schedule = self._live(payer, public_id, "paused")
        schedule.status, schedule.updated_at = ScheduleStatus.PAUSED, self.clock()
        return schedule

    def resume(self, payer: User, public_id: str) -> PaymentSchedule:
        """Active again; runs whose date passed while paused are skipped (missed)."""
        schedule = self._live(payer, public_id, "resumed")
        now = self.clock()
        today = today_in_india(now)
        while (run := self._unattempted(schedule)) is not None and run.due_date < today:
            self._end(run, RunStatus.SKIPPED, now, "missed while paused")
            self._advance(schedule, now)
        schedule.status, schedule.updated_at = ScheduleStatus.ACTIVE, now
        self._maybe_complete(schedule, now)
        return schedule

    def cancel(self, payer: User, public_id: str) -> PaymentSchedule:
        schedule = self.get(payer, public_id, lock=True)
        if schedule.status == ScheduleStatus.CANCELLED:
            return schedule
        if schedule.status not in ScheduleStatus.LIVE:
            raise ScheduleNotChangeable(f"This scheduled payment is {schedule.status}.")
        now = self.clock()
        for run in self._open_runs(schedule):
            self._end(run, RunStatus.CANCELLED, now, "schedule cancelled")
        schedule.status, schedule.updated_at = ScheduleStatus.CANCELLED, now
        return schedule

    def awaiting(self, payer: User, public_id: str, run_number: int) -> tuple[
            PaymentSchedule, ScheduleRun]:
        """A run of the payer's waiting for their PIN (else refused)."""
        schedule = self.get(payer, public_id)
        run = self._run(schedule, run_number)
        if run.status != RunStatus.AWAITING_PIN:
            raise ScheduleNotChangeable(f"This run is {run.status}: it is not waiting for "
                                        "your PIN.")
        return schedule, run

    def pay_awaiting(self, payer: User, public_id: str, run_number: int, *,
                     pin: PinInput) -> Transaction:
        """Pay a run above the cap, with the PIN typed now (its try counted);
        a refusal is raised as any payment's (the run keeps waiting)."""
        schedule = self.get(payer, public_id, lock=True)
        run = self._run(schedule, run_number)
        if run.status == RunStatus.COMPLETED and run.transaction_id is not None:
            return self.db.get_one(Transaction, run.transaction_id)  # a repeat
        if run.status != RunStatus.AWAITING_PIN:
            raise ScheduleNotChangeable(f"This run is {run.status}: it is not waiting for "
                                        "your PIN.")
        now = self.clock()
        run.attempts += 1
        tx = self._move(schedule, run, payer, pin)
        self._paid(schedule, run, tx, now)
        return tx

    # ---------------------------------------------------------- the workers

    def send_notices(self, batch: int = NOTICE_BATCH) -> int:
        """Tell payers of runs within the notice period (their schedules
        claimed SKIP LOCKED: a second worker takes others); how many."""
        now = self.clock()
        rows = self.db.execute(
            select(PaymentSchedule, ScheduleRun)
            .join(ScheduleRun, ScheduleRun.schedule_id == PaymentSchedule.id)
            .where(ScheduleRun.notified_at.is_(None), ScheduleRun.notify_at <= now,
                   ScheduleRun.status == RunStatus.SCHEDULED,
                   PaymentSchedule.status == ScheduleStatus.ACTIVE)
            .order_by(ScheduleRun.notify_at, ScheduleRun.id).limit(batch)
            .with_for_update(key_share=True, skip_locked=True, of=PaymentSchedule)
            .execution_options(populate_existing=True)).all()
        for schedule, run in rows:
            self._notice(schedule, run, now)
        return len(rows)

    def run_due_one(self, *, passed_over: Collection[int] = (),
                    claimed: list[int] | None = None) -> ScheduleRun | None:
        """Pay the run due first, if any (its schedule claimed SKIP LOCKED,
        in due order): the caller's transaction is this run's alone.
        ``passed_over``: schedules not to claim (one that failed unexpectedly
        in this sweep must not hold up every run due after it); ``claimed``
        gets the id of the schedule claimed, for the caller to pass over."""
        now = self.clock()
        due = [ScheduleRun.status.in_(RunStatus.DUE), ScheduleRun.attempt_at <= now,
               PaymentSchedule.status == ScheduleStatus.ACTIVE]
        if passed_over:
            due.append(PaymentSchedule.id.not_in(list(passed_over)))
        claimed_row = self.db.execute(
            select(PaymentSchedule, ScheduleRun.id)
            .join(ScheduleRun, ScheduleRun.schedule_id == PaymentSchedule.id)
            .where(*due)
            .order_by(ScheduleRun.attempt_at, ScheduleRun.id).limit(1)
            .with_for_update(key_share=True, skip_locked=True, of=PaymentSchedule)
            .execution_options(populate_existing=True)).first()
        if claimed_row is None:
            return None
        schedule, run_id = claimed_row
        if claimed is not None:
            claimed.append(schedule.id)
        # Read again under the lock: another worker may have paid it since
        # this statement's snapshot (the ledger key would refuse it anyway).
        run = self.db.scalar(select(ScheduleRun).where(ScheduleRun.id == run_id)
                             .execution_options(populate_existing=True))
        if run is None or run.status not in RunStatus.DUE or run.attempt_at > now:
            return None
        self._run_now(schedule, run, now)
        return run

    def _run_now(self, schedule: PaymentSchedule, run: ScheduleRun, now: dt.datetime) -> None:
        first = run.status == RunStatus.SCHEDULED
        if run.notified_at is None:  # (no worker ran in its notice period)
            self._notice(schedule, run, now)
        if first:
            self._advance(schedule, now)
        payer, _payee = self._parties(schedule)  # (held: _move finds the payee in the map)
        if schedule.amount_paise > self.policy.run_cap_paise:
            run.status, run.updated_at = RunStatus.AWAITING_PIN, now
            notify(self.db, payer.id, Notice.SCHEDULED_PAYMENT_NEEDS_PIN,
                   f"Your scheduled payment of {format_paise(schedule.amount_paise)} to "
                   f"{self.payee_of(schedule).name} is above "
                   f"{format_paise(self.policy.run_cap_paise)}: confirm it with your PIN "
                   "in Scheduled payments.", now=now)
            return
        try:
            with self.db.begin_nested():  # a refusal writes nothing of the payment
                tx = self._move(schedule, run, payer, self.pins.standing(payer))
        except WalletError as exc:
            run.attempts += 1
            self._refused(schedule, run, payer, exc, retry=first, now=now)
            return
        run.attempts += 1  # (after the savepoint: one UPDATE of the run with its outcome)
        self._paid(schedule, run, tx, now)

    # ------------------------------------------------------------ internals

    def _move(self, schedule: PaymentSchedule, run: ScheduleRun, payer: User,
              pin: PinInput) -> Transaction:
        """The run's payment, through the one rule of each (freeze, limits,
        ledger); its key is the run's, so it moves money once."""
        request_key = codes.schedule_run_request_key(schedule.id, run.run_number)
        note = "Scheduled payment" + (f": {schedule.note}" if schedule.note else "")
        if schedule.payee_user_id is not None:
            recipient = self.db.get_one(User, schedule.payee_user_id)
            return self.transfers.send_money(payer, recipient.phone, schedule.amount_paise,
                                             request_key, note, pin=pin)
        merchant = self.db.get_one(Merchant, schedule.payee_merchant_id)
        if not merchant.is_active:
            raise RecipientNotFound("This shop does not take payments now.", "handle")
        key = records.idempotency_key(Kind.PAYMENT, payer, request_key)
        return self.shop_payments.pay_shop(payer, merchant, schedule.amount_paise, key, note,
                                           pin=pin)

    def _parties(self, schedule: PaymentSchedule) -> tuple[User, User | None]:
        """The payer, and the receiving user if it is one, in one query."""
        ids = [schedule.payer_user_id] + ([schedule.payee_user_id]
                                          if schedule.payee_user_id is not None else [])
        found = {user.id: user for user in self.db.scalars(select(User).where(
            User.id.in_(ids)))}
        return found[schedule.payer_user_id], found.get(schedule.payee_user_id or 0)

    def _paid(self, schedule: PaymentSchedule, run: ScheduleRun, tx: Transaction,
              now: dt.datetime) -> None:
        run.status, run.transaction_id, run.updated_at = RunStatus.COMPLETED, tx.id, now
        run.failure_reason = None
        notify(self.db, schedule.payer_user_id, Notice.SCHEDULED_PAYMENT_PAID,
               f"Scheduled payment of {format_paise(schedule.amount_paise)} to "
               f"{self.payee_of(schedule).name} paid.", tx, now=now)
        self._maybe_complete(schedule, now)

    def _refused(self, schedule: PaymentSchedule, run: ScheduleRun, payer: User,
                 exc: WalletError, *, retry: bool, now: dt.datetime) -> None:
        run.failure_reason, run.updated_at = str(exc)[:300], now
        what = (f"Your scheduled payment of {format_paise(schedule.amount_paise)} to "
                f"{self.payee_of(schedule).name} failed: {exc}")
        if retry and self.policy.retry:
            run.status = RunStatus.RETRYING
            run.attempt_at = now + dt.timedelta(seconds=self.policy.retry_delay_s)
            text = f"{what} We will try once more at {_shown(run.attempt_at)}."
        else:
            run.status = RunStatus.FAILED
            text = f"{what} It will not be tried again."
        notify(self.db, payer.id, Notice.SCHEDULED_PAYMENT_FAILED, text, now=now)
        if run.status == RunStatus.FAILED:
            self._maybe_complete(schedule, now)

    def _notice(self, schedule: PaymentSchedule, run: ScheduleRun, now: dt.datetime) -> None:
        run.notified_at, run.updated_at = now, now
        above = (" It is above your per-run limit: you will confirm it with your PIN."
                 if schedule.amount_paise > self.policy.run_cap_paise else "")
        notify(self.db, schedule.payer_user_id, Notice.SCHEDULED_PAYMENT_DUE,
               f"Scheduled payment of {format_paise(schedule.amount_paise)} to "
               f"{self.payee_of(schedule).name} on {_shown(run.attempt_at)}.{above}",
               now=now)

    def _advance(self, schedule: PaymentSchedule, now: dt.datetime) -> ScheduleRun | None:
        """Make the schedule's next run, if it has one."""
        number = schedule.last_run_number + 1
        day = run_exists(schedule.start_date, ScheduleFrequency(schedule.frequency), number,
                         until=schedule.end_date, count=schedule.max_runs)
        if day is None:
            return None
        due = run_at(day)
        run = ScheduleRun(schedule_id=schedule.id, run_number=number, due_date=day,
                          notify_at=due - dt.timedelta(hours=self.policy.notice_hours),
                          notified_at=None, attempt_at=due, status=RunStatus.SCHEDULED,
                          attempts=0, created_at=now, updated_at=now)
        self.db.add(run)
        schedule.last_run_number, schedule.updated_at = number, now
        self.db.flush()
        return run

    def _maybe_complete(self, schedule: PaymentSchedule, now: dt.datetime) -> None:
        """Completed once no run is open and none is to come."""
        if schedule.status not in ScheduleStatus.LIVE:
            return
        if run_exists(schedule.start_date, ScheduleFrequency(schedule.frequency),
                      schedule.last_run_number + 1, until=schedule.end_date,
                      count=schedule.max_runs) is not None:
            return  # its newest run is still to come (a run's end makes the next)
        self.db.flush()
        open_runs = self.db.scalar(select(func.count()).select_from(ScheduleRun).where(
            ScheduleRun.schedule_id == schedule.id, ScheduleRun.status.in_(RunStatus.OPEN)))
        if not open_runs:
            schedule.status, schedule.updated_at = ScheduleStatus.COMPLETED, now

    @staticmethod
    def _end(run: ScheduleRun, status: RunStatus, now: dt.datetime, reason: str) -> None:
        run.status, run.failure_reason, run.updated_at = status, reason, now

    def _live(self, payer: User, public_id: str, doing: str) -> PaymentSchedule:
        schedule = self.get(payer, public_id, lock=True)
        self._check_live(schedule, doing)
        return schedule

    @staticmethod
    def _check_live(schedule: PaymentSchedule, doing: str) -> None:
        allowed = {"skipped": ScheduleStatus.LIVE, "paused": (ScheduleStatus.ACTIVE,),
                   "resumed": (ScheduleStatus.PAUSED,)}[doing]
        if schedule.status not in allowed:
            raise ScheduleNotChangeable(f"This scheduled payment is {schedule.status}: it "
                                        f"cannot be {doing}.")

    def _run(self, schedule: PaymentSchedule, run_number: int) -> ScheduleRun:
        run = self.db.scalar(select(ScheduleRun).where(
            ScheduleRun.schedule_id == schedule.id, ScheduleRun.run_number == run_number)
            .execution_options(populate_existing=True))
        if run is None:
            raise ScheduleNotFound("No such run of this scheduled payment.")
        return run

    def _unattempted(self, schedule: PaymentSchedule) -> ScheduleRun | None:
        return self.db.scalar(select(ScheduleRun).where(
            ScheduleRun.schedule_id == schedule.id, ScheduleRun.status == RunStatus.SCHEDULED)
            .order_by(ScheduleRun.run_number).limit(1))

    def _open_runs(self, schedule: PaymentSchedule) -> list[ScheduleRun]:
        return list(self.db.scalars(select(ScheduleRun).where(
            ScheduleRun.schedule_id == schedule.id, ScheduleRun.status.in_(RunStatus.OPEN))))


def _shown(when: dt.datetime) -> str:
    """"5 Jan 2027, 09:00" in India."""
    return when.astimezone(codes.IST).strftime("%-d %b %Y, %H:%M")
