"""Compensation for late reversals cannot be farmed (wallet.care.compensation):
only a transaction that really was late earns, each of its days once whoever
reports it on however many tickets, and the sweep's list reaches new tickets
however many old ones there are."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

import ledgerlib
from wallet.care import compensation
from wallet.care.compensation import CompensationPolicy
from wallet.care.models import TicketCompensation
from wallet.core.codes import Kind
from wallet.core.models import Transaction, User
from wallet.operations.bank_calls import cross_check

from ..compensation_helpers import (
    days_paid,
    expense,
    land,
    raise_ticket,
    resolve,
    start,
    stuck_withdrawal,
    sweep,
    world,
)
from ..schedule_helpers import services
from ..wallet_helpers import make_user

H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def credits(db) -> list[str]:
    with db() as session:
        return list(session.scalars(select(Transaction.idempotency_key).where(
            Transaction.kind == Kind.ADJUSTMENT).order_by(Transaction.id)))


def test_a_completed_transfer_reported_months_later_earns_nothing_ever(db, runner):
    """The reviewer's case: "not received" on a transfer completed 5 months
    ago, answered in 2 minutes; then again and again, by both sides."""
    clock = start()
    w = world(db, clock)
    clock.advance(days=150)
    for _ in range(3):
        for user, tx in ((w.asha, w.transfer), (w.ravi, w.transfer), (w.asha, w.payment)):
            tk = raise_ticket(db, clock, user, tx, "not_received")
            assert sweep(runner, clock) == (0, 0)  # live: nothing
            clock.advance(minutes=2)
            resolve(db, clock, tk)  # "it is in your wallet"
        clock.advance(hours=3)
        assert sweep(runner, clock) == (0, 0)  # the catch-up: nothing either
    clock.advance(days=2)
    assert sweep(runner, clock) == (0, 0)
    assert credits(db) == [] and expense(db) == 0


def test_a_completed_transfer_reported_before_its_deadline_earns_nothing(db, runner):
    clock = start()
    w = world(db, clock)
    tk = raise_ticket(db, clock, w.asha, w.transfer, "pending_too_long")  # left open
    clock.advance(days=9)
    assert sweep(runner, clock) == (0, 0)
    assert days_paid(db, tk) == [] and expense(db) == 0
    with db() as session, session.begin():
        assert services(session, clock).compensations.pay_due(tk) == []


def test_payer_and_payee_reporting_the_same_stuck_transfer_are_paid_each_day_once(db,
                                                                                  runner):
    clock = start()
    w = world(db, clock)
    by_asha = raise_ticket(db, clock, w.asha, w.held, "not_received")
    by_kiran = raise_ticket(db, clock, w.kiran, w.held, "not_received")
    deadline = CompensationPolicy().deadline(Kind.TRANSFER, clock.now)
    for hours in (1, 25, 49, 50):
        clock.now = deadline + hours * H
        sweep(runner, clock)
    assert days_paid(db, by_asha) == [1, 2, 3] and days_paid(db, by_kiran) == []
    land(db, clock, w.held)  # on day 3: nothing after
    clock.advance(days=3)
    assert sweep(runner, clock) == (0, 0)
    assert credits(db) == [f"compensation:{w.held}:{n}" for n in (1, 2, 3)]
    assert expense(db) == 3 * 100_00
    with db() as session:
        assert ledgerlib.verify(session).ok and cross_check(session) == []


def test_a_new_ticket_on_the_same_stuck_withdrawal_earns_only_the_days_not_paid(db, runner):
    clock = start()
    w = world(db, clock)
    deadline = CompensationPolicy().deadline(Kind.WITHDRAWAL, clock.now)
    first = raise_ticket(db, clock, w.asha, w.withdrawal, "not_received")
    clock.now = deadline + DAY + H  # days 1, 2 earned; the sweep is down
    resolve(db, clock, first)
    clock.advance(hours=1)
    second = raise_ticket(db, clock, w.asha, w.withdrawal, "pending_too_long")  # day 2 again
    clock.now = deadline + 3 * DAY + H  # days 2..4 earned by the second
    with db() as session, session.begin():  # one ticket per transaction a sweep: the oldest
        assert services(session, clock).compensations.due() == [first]
    sweep(runner, clock)
    assert days_paid(db, first) == [1, 2] and days_paid(db, second) == []
    with db() as session, session.begin():
        assert services(session, clock).compensations.due() == [second]
    sweep(runner, clock)
    assert days_paid(db, first) == [1, 2] and days_paid(db, second) == [3, 4]
    resolve(db, clock, second)
    clock.advance(hours=1)
    third = raise_ticket(db, clock, w.asha, w.withdrawal, "not_received")
    sweep(runner, clock)  # day 4 again (the report's day): paid already
    clock.advance(days=1)
    sweep(runner, clock)
    assert days_paid(db, third) == [5]
    assert credits(db) == [f"compensation:{w.withdrawal}:{n}" for n in (1, 2, 3, 4, 5)]
    assert expense(db) == 5 * 100_00
    with db() as session:
        assert ledgerlib.verify(session).ok and cross_check(session) == []


def test_a_twin_ticket_paying_a_day_already_paid_rolls_back_whole(db, runner, monkeypatch):
    """Two workers paying twin tickets at once (each under its own ticket's
    lock) both try day 1; the second's key is taken: its transaction fails and
    rolls back whole, and the next sweep sees the day paid."""
    clock = start()
    w = world(db, clock)
    by_asha = raise_ticket(db, clock, w.asha, w.held, "not_received")
    by_kiran = raise_ticket(db, clock, w.kiran, w.held, "not_received")
    clock.now = CompensationPolicy().deadline(Kind.TRANSFER, clock.now) + H
    with db() as session, session.begin():
        comp = services(session, clock).compensations
        comp.due()  # (opens the expense account)
        assert [c.day_number for c in comp.pay_due(by_asha) or ()] == [1]
    # What the twin read before the first committed: nothing paid yet.
    monkeypatch.setattr(compensation.Compensations, "_paid_days", lambda self, ids: {})
    with pytest.raises(ledgerlib.IdempotencyConflict), db() as session, session.begin():
        services(session, clock).compensations.pay_due(by_kiran)
    monkeypatch.undo()
    assert sweep(runner, clock) == (0, 0)
    assert days_paid(db, by_asha) == [1] and days_paid(db, by_kiran) == []
    with db() as session:
        assert session.scalar(select(func.count()).select_from(TicketCompensation)) == 1
        assert ledgerlib.verify(session).ok and cross_check(session) == []
    assert expense(db) == 100_00


def test_the_sweeps_list_pages_past_old_tickets_with_nothing_due(db, runner, monkeypatch):
    """More than ``limit`` (and than a page) old qualifying tickets, all paid
    up: a new one is still found."""
    clock = start()
    w = world(db, clock)
    monkeypatch.setattr(compensation, "PAGE", 2)
    old = []
    for n in range(5):
        user = make_user(db, f"+91990000000{n}", f"User {n}", deposit_paise=500_00)
        with db() as session, session.begin():
            stuck = stuck_withdrawal(session, clock, session.get_one(User, user), 10_00,
                                     f"{n}" * 22)
        old.append(raise_ticket(db, clock, user, stuck, "not_received"))
    clock.advance(days=2)
    sweep(runner, clock)  # every old ticket paid up to now
    assert all(days_paid(db, t) == [1] for t in old)
    new = raise_ticket(db, clock, w.asha, w.withdrawal, "not_received")
    with db() as session, session.begin():
        comp = services(session, clock).compensations
        assert comp.due(limit=1) == [new]
        assert comp.due(limit=3) == [new]
    clock.advance(days=1)  # day 2 for all: the first `limit`, oldest first
    with db() as session, session.begin():
        assert services(session, clock).compensations.due(limit=3) == old[:3]
    assert sweep(runner, clock) == (6, 6 + 1)
