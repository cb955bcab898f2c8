"""Compensation for late reversals (wallet.care.compensation): ₹100 a day past
the transaction's deadline (T+1 transfers, deposits, withdrawals; T+5 shop
payments) while the transaction itself is still not put right (a withdrawal
left queued, a deposit left pending: really stuck) and a ticket about stuck
money stays open, paid once per day by an hourly sweep that may die midway;
the company's expense is what users got; the books stay clean. The abuse
cases (a completed transaction reported late, twin tickets, the sweep's
paging) are in test_compensation_abuse.py."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

import ledgerlib
from wallet.care.compensation import CompensationPolicy, Compensations, deadline_label
from wallet.care.models import Ticket
from wallet.core.codes import IST, Kind, TicketEventKind
from wallet.core.models import Notification, Transaction, User
from wallet.money.statements import Month
from wallet.operations.bank_calls import cross_check

from ..compensation_helpers import (
    days_paid,
    expense,
    land,
    raise_ticket,
    resolve,
    settle_deposit,
    start,
    stuck_withdrawal,
    sweep,
    world,
)
from ..schedule_helpers import services
from ..wallet_helpers import balance, make_user

H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
US = dt.timedelta(microseconds=1)


def ist(y, m, d, hh=0, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=IST).astimezone(dt.timezone.utc)


# ------------------------------------------------------------------ the rule


def test_the_deadline_is_the_end_of_the_india_day_t_plus_n():
    policy = CompensationPolicy()
    late_evening = ist(2026, 12, 8, 23, 59)  # 18:29 UTC, still 8 Dec in India
    assert policy.deadline(Kind.TRANSFER, late_evening) == ist(2026, 12, 10)
    assert policy.deadline(Kind.DEPOSIT, late_evening) == ist(2026, 12, 10)
    assert policy.deadline(Kind.WITHDRAWAL, late_evening) == ist(2026, 12, 10)
    assert policy.deadline(Kind.PAYMENT, late_evening) == ist(2026, 12, 14)
    assert policy.deadline(Kind.TRANSFER, ist(2026, 12, 9, 0, 1)) == ist(2026, 12, 11)
    assert deadline_label(ist(2026, 12, 10)) == "9 Dec"


def test_day_n_is_due_at_the_deadline_plus_n_minus_one_days():
    deadline, reported = ist(2026, 12, 10), ist(2026, 12, 8, 12)
    earned = CompensationPolicy.days_earned
    assert list(earned(deadline, reported, deadline - US)) == []
    assert list(earned(deadline, reported, deadline)) == [1]
    assert list(earned(deadline, reported, deadline + DAY - US)) == [1]
    assert list(earned(deadline, reported, deadline + DAY)) == [1, 2]
    assert list(earned(deadline, reported, deadline + 6 * DAY + 5 * H)) == [1, 2, 3, 4, 5, 6, 7]
    # Reported late: from the day the report falls in (the earlier days ended before it).
    assert list(earned(deadline, deadline + 30 * H, deadline + 30 * H)) == [2]
    assert list(earned(deadline, deadline + DAY, deadline + 3 * DAY)) == [2, 3, 4]


# ------------------------------------------------------------ a week of sweeps


def test_a_week_of_sweeps_pays_100_a_day_late_once_a_day_and_stops_at_resolution(db, runner):
    clock = start()  # 10:00 India time: the withdrawal's deadline is the next day's end
    w = world(db, clock)
    clock.advance(hours=2)
    tk = raise_ticket(db, clock, w.asha, w.withdrawal, "not_received")
    deadline = ist(*(clock.now.astimezone(IST).date() + DAY).timetuple()[:3]) + DAY
    assert deadline - clock.now == 36 * H
    money_before = balance(db, w.asha)[0]
    seen = []
    for _ in range(18):  # every 6 hours: 4½ days, to day 4's very instant
        clock.advance(hours=6)
        sweep(runner, clock)
        sweep(runner, clock)  # twice in a row: nothing more
        seen.append((clock.now, days_paid(db, tk)))
    for now, paid in seen:
        expected = [] if now < deadline else list(range(1, (now - deadline) // DAY + 2))
        assert paid == expected, now
    assert days_paid(db, tk) == [1, 2, 3, 4] and clock.now < deadline + 4 * DAY
    resolve(db, clock, tk)  # on day 4: nothing more
    for _ in range(4 * 3):
        clock.advance(hours=6)
        assert sweep(runner, clock) == (0, 0)
    assert days_paid(db, tk) == [1, 2, 3, 4]
    assert balance(db, w.asha)[0] == money_before + 4 * 100_00
    assert expense(db) == 4 * 100_00  # money conserved: what the users got, exactly

    with db() as session:
        t = session.get_one(Ticket, tk)
        lines = [e.text for e in services(session, clock).tickets.events(t)
                 if e.kind == TicketEventKind.COMPENSATION]
        label = deadline_label(deadline)
        assert lines == [f"₹100.00 credited: day {n} past the deadline of {label}."
                         for n in (1, 2, 3, 4)]
        shown = services(session, clock).compensations.compensation_of(t)
        assert (shown.days, shown.total_paise, shown.deadline) == ((1, 2, 3, 4), 400_00,
                                                                    deadline)
        credits = session.scalars(select(Transaction).where(
            Transaction.kind == Kind.ADJUSTMENT).order_by(Transaction.id)).all()
        assert [(c.payee_user_id, c.amount_paise, c.status, c.idempotency_key)
                for c in credits] == [(w.asha, 100_00, "completed",
                                       f"compensation:{w.withdrawal}:{n}")
                                      for n in (1, 2, 3, 4)]
        notices = session.scalars(select(Notification.text).where(
            Notification.kind == "compensation_credited")).all()
        assert len(notices) == 4 and notices[0].startswith("₹100.00 credited")
        # In the user's history and monthly statement(s).
        asha = session.get_one(User, w.asha)
        page = services(session, clock).activity.page(asha, only=None)
        assert sum(item.transaction.kind == Kind.ADJUSTMENT for item in page.items) == 4
        statements = services(session, clock).statements
        months = {(c.created_at.astimezone(IST).year, c.created_at.astimezone(IST).month)
                  for c in credits}
        lines_seen = [line for m in sorted(months)
                      for line in statements.for_month(asha, Month(*m)).lines
                      if line.kind == "Adjustment"]
        assert [(line.change_paise, line.counterparty) for line in lines_seen] == [
            (100_00, "The wallet")] * 4
        assert "day 1 late" in lines_seen[0].note
        assert ledgerlib.verify(session).ok and cross_check(session) == []


def test_the_days_stop_when_the_transaction_settles_though_the_ticket_stays_open(db, runner):
    clock = start()
    w = world(db, clock)
    tk = raise_ticket(db, clock, w.asha, w.deposit, "pending_too_long")
    deadline = CompensationPolicy().deadline(Kind.DEPOSIT, clock.now)
    money_before = balance(db, w.asha)[0]
    clock.now = deadline + 2 * DAY + 3 * H  # days 1..3 earned
    sweep(runner, clock)
    assert days_paid(db, tk) == [1, 2, 3]
    clock.advance(hours=1)
    settle_deposit(db, clock, w)  # the bank answers at last, on day 3: the ticket stays open
    for _ in range(4 * 4):
        clock.advance(hours=6)
        assert sweep(runner, clock) == (0, 0)
    assert days_paid(db, tk) == [1, 2, 3]
    assert balance(db, w.asha)[0] == money_before + 200_00 + 3 * 100_00
    assert expense(db) == 3 * 100_00
    with db() as session:
        assert ledgerlib.verify(session).ok and cross_check(session) == []


def test_a_settlement_the_sweep_missed_still_bounds_the_catch_up(db, runner):
    clock = start()
    w = world(db, clock)
    tk = raise_ticket(db, clock, w.asha, w.held, "not_received")
    deadline = CompensationPolicy().deadline(Kind.TRANSFER, clock.now)
    clock.now = deadline + DAY + H  # days 1 and 2 earned; the sweep is down
    land(db, clock, w.held)
    clock.advance(days=5)
    sweep(runner, clock)
    assert days_paid(db, tk) == [1, 2]


def test_a_shop_payment_has_until_t_plus_5_a_transfer_t_plus_1(db, runner):
    """No shop payment can be stuck in this wallet (a payment or refund is
    settled when made: see test_compensation_abuse), so the T+5 deadline is
    the policy's computation, checked against the T+1 of a stuck withdrawal
    made at the same instant."""
    clock = start()
    w = world(db, clock)
    on_withdrawal = raise_ticket(db, clock, w.asha, w.withdrawal, "pending_too_long")
    on_payment = raise_ticket(db, clock, w.asha, w.payment, "paid_twice")
    day = clock.now.astimezone(IST).date()
    midnight = ist(day.year, day.month, day.day)
    t1, t5 = midnight + 2 * DAY, midnight + 6 * DAY
    policy = CompensationPolicy()
    assert policy.deadline(Kind.WITHDRAWAL, clock.now) == t1
    assert policy.deadline(Kind.PAYMENT, clock.now) == t5
    assert policy.deadline(Kind.REFUND, clock.now) == t5
    assert list(policy.days_earned(t5, clock.now, t5 - US)) == []
    assert list(policy.days_earned(t5, clock.now, t5)) == [1]
    clock.now = t5 - US
    sweep(runner, clock)
    assert days_paid(db, on_withdrawal) == [1, 2, 3, 4]
    clock.now = t5
    sweep(runner, clock)
    assert days_paid(db, on_withdrawal) == [1, 2, 3, 4, 5]
    assert days_paid(db, on_payment) == []  # paid at once: never late
    assert t5 - t1 == 4 * DAY


def test_the_deadlines_are_settings(db, runner):
    clock = start()
    w = world(db, clock)
    tk = raise_ticket(db, clock, w.asha, w.withdrawal, "not_received")
    clock.advance(days=3)  # past T+1, not past T+3
    sweep(runner, clock, reversal_deadline_days_p2p=3, compensation_paise_per_day=250_00)
    assert days_paid(db, tk) == []
    clock.advance(days=1)  # 10 hours past T+3's end
    sweep(runner, clock, reversal_deadline_days_p2p=3, compensation_paise_per_day=250_00)
    assert days_paid(db, tk) == [1] and expense(db) == 250_00


def test_a_ticket_not_about_stuck_money_earns_nothing(db, runner):
    clock = start()
    w = world(db, clock)
    # The held transfer really is stuck, but "wrong person" is not about stuck money.
    tk = raise_ticket(db, clock, w.asha, w.held, "wrong_person")
    clock.advance(days=10)
    assert sweep(runner, clock) == (0, 0)
    assert days_paid(db, tk) == [] and expense(db) == 0
    with db() as session:  # nor when asked about that one ticket
        comp = services(session, clock).compensations
        assert comp.pay_due(tk) is None


def test_a_ticket_resolved_before_the_sweep_ran_still_gets_the_days_it_earned(db, runner):
    clock = start()
    w = world(db, clock)
    tk = raise_ticket(db, clock, w.asha, w.withdrawal, "not_received")
    deadline = CompensationPolicy().deadline(Kind.WITHDRAWAL, clock.now)
    clock.now = deadline + DAY + H  # days 1 and 2 earned; the sweep was down
    resolve(db, clock, tk)
    clock.advance(days=3)
    sweep(runner, clock)
    assert days_paid(db, tk) == [1, 2]


def test_a_wallet_at_its_maximum_still_gets_compensation(db, runner):
    clock = start()
    # A minimum-KYC wallet at its ₹10,000 maximum, with a withdrawal stuck in the queue.
    meera = make_user(db, "+919811122233", "Meera", deposit_paise=10_000_00, full_kyc=False)
    with db() as session, session.begin():
        stuck = stuck_withdrawal(session, clock, session.get_one(User, meera))
    tk = raise_ticket(db, clock, meera, stuck, "not_received")
    clock.advance(days=3)
    sweep(runner, clock)
    assert days_paid(db, tk) and balance(db, meera)[0] > 10_000_00


class Killed(BaseException):
    """A worker killed mid-sweep (not an Exception: the sweep does not catch it)."""


def test_a_sweep_killed_midway_pays_neither_twice_nor_never(db, runner, monkeypatch):
    clock = start()
    w = world(db, clock)
    others = [make_user(db, f"+91990000000{n}", f"User {n}", deposit_paise=500_00)
              for n in range(3)]
    tickets = [raise_ticket(db, clock, w.asha, w.withdrawal, "not_received")]
    for n, user in enumerate(others):
        with db() as session, session.begin():
            stuck = stuck_withdrawal(session, clock, session.get_one(User, user), 10_00,
                                     f"{n}" * 22)
        tickets.append(raise_ticket(db, clock, user, stuck, "not_received"))
    clock.advance(days=4)  # days 1..3 earned by each
    real_pay, calls = Compensations._pay, []

    def dying(self, *args):
        calls.append(args)
        made = real_pay(self, *args)
        if len(calls) == 5:  # the second ticket's second day posted, then the worker dies
            raise Killed
        return made

    monkeypatch.setattr(Compensations, "_pay", dying)
    with pytest.raises(Killed):
        sweep(runner, clock)
    monkeypatch.setattr(Compensations, "_pay", real_pay)
    assert [days_paid(db, tk) for tk in tickets] == [[1, 2, 3], [], [], []]
    sweep(runner, clock)
    sweep(runner, clock)
    assert [days_paid(db, tk) for tk in tickets] == [[1, 2, 3]] * 4
    assert expense(db) == 12 * 100_00
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.kind == Kind.ADJUSTMENT)) == 12
        assert ledgerlib.verify(session).ok and cross_check(session) == []
