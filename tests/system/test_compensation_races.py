"""Compensation for late reversals swept by several workers at once
(PostgreSQL): each day of each ticket is paid once, none is missed, the
tickets being resolved meanwhile stop earning, and nothing deadlocks
(pg_stat_database.deadlocks).

Four threads call the workers' sweep (wallet.services.Background.pay_compensation)
together, twice each, over tickets on withdrawals really stuck (queued, no
worker sends them) whose days are all due at once, while an
operator resolves some of them in the same seconds (each resolution locks the
ticket, level 4, as the sweep does: one waits or is skipped, never both)."""
from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import func, select

import ledgerlib
from wallet.care.models import TicketCompensation
from wallet.core.codes import Kind, TicketActor, TicketStatus
from wallet.core.models import Transaction, User
from wallet.db import WalletSession, get_engine
from wallet.operations.bank_calls import cross_check
from wallet.services import Background

from ..compensation_helpers import (
    days_paid,
    expense,
    raise_ticket,
    start,
    stuck_withdrawal,
    world,
)
from ..schedule_helpers import services, settings
from ..wallet_helpers import PIN, make_user
from .test_payment_deadlocks import (
    ClientDeadlocks,
    flush_statistics_of_the_work,
    server_deadlocks,
    stats_engine,
    tagged,
)

pytestmark = pytest.mark.postgres

WORKERS, SWEEPS, USERS = 4, 2, 12


def test_workers_sweeping_at_once_pay_each_day_once_without_deadlocks(db, web_settings,
                                                                      caplog):
    clock = start()
    w = world(db, clock)
    tickets = [raise_ticket(db, clock, w.asha, w.withdrawal, "not_received")]
    for n in range(USERS):  # each with a withdrawal really stuck (queued, no worker)
        user = make_user(db, f"+9199000{n:05d}", f"User {n}", deposit_paise=500_00)
        with db() as session, session.begin():
            stuck = stuck_withdrawal(session, clock, session.get_one(User, user), 10_00,
                                     f"race-{n:04d}".ljust(22, "x"))
        tickets.append(raise_ticket(db, clock, user, stuck, "pending_too_long"))
    clock.advance(days=5)  # days 1..4 past T+1 earned by each
    resolved = tickets[::3]

    url = tagged(web_settings["sqlalchemy.url"])
    engine = get_engine({"sqlalchemy.url": url, "sqlalchemy.pool_size": "8"})

    def run(fn):
        def attempt():
            with WalletSession(engine, expire_on_commit=False) as session, session.begin():
                return fn(session)
        return ledgerlib.retrying(attempt)

    sweep = Background(run, settings(), clock=clock)
    stats = stats_engine()
    before = server_deadlocks(stats)
    barrier = threading.Barrier(WORKERS + 1)
    swept: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(SWEEPS):
                swept.append(sweep.pay_compensation())
        except BaseException as exc:  # noqa: BLE001 - the assertion shows it
            errors.append(exc)

    def operator() -> None:
        def close(session, ticket_id):
            tickets_ = services(session, clock).tickets
            tickets_.move(tickets_.locked(ticket_id), TicketStatus.RESOLVED,
                          "The money was returned.", actor=TicketActor.OPERATOR)
        try:
            barrier.wait()
            for ticket_id in resolved:
                run(lambda session, t=ticket_id: close(session, t))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    threads.append(threading.Thread(target=operator))
    with caplog.at_level(logging.ERROR), ClientDeadlocks() as client:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()
    print(f"sweeps (tickets, days) by {WORKERS} workers at once: {swept}; deadlocks: "
          f"{client.count} seen, {deadlocks} counted by PostgreSQL")
    assert errors == [] and client.count == 0 and deadlocks == 0, (errors, deadlocks)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    # A ticket skipped by every worker (held by the operator) is paid by the next sweep:
    # its days were earned before its resolution.
    swept.append(sweep.pay_compensation())
    engine.dispose()
    assert [days_paid(db, t) for t in tickets] == [[1, 2, 3, 4]] * len(tickets)
    with db() as session:
        rows = session.scalar(select(func.count()).select_from(TicketCompensation))
        credits = session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.kind == Kind.ADJUSTMENT))
        assert rows == credits == sum(days for _, days in swept) == 4 * len(tickets)
        assert ledgerlib.verify(session).ok and cross_check(session) == []
    assert expense(db) == 4 * len(tickets) * 100_00
    clock.advance(days=2)  # the resolved ones earn nothing more; the others do
    sweep.pay_compensation()
    assert {t: len(days_paid(db, t)) for t in tickets} == {
        t: 4 if t in resolved else 6 for t in tickets}


TWINS = 6


def test_twin_tickets_swept_at_once_pay_each_day_of_their_transaction_once(db, web_settings,
                                                                           caplog):
    """Payer and payee each report the same held transfer (really stuck: the
    sweep that lands it never runs). A sweep lists one ticket per transaction
    (the oldest), so workers listing at once contend for the same ticket (SKIP
    LOCKED); should two still pay twins at once (each under its own ticket's
    lock), the second's key is taken, its ticket's transaction rolls back
    whole (logged), and the next sweep sees the day paid. Each transaction's
    day is paid once in all."""
    clock = start()
    held, twins = [], []
    for n in range(TWINS):
        payer = make_user(db, f"+9199100{n:05d}", f"Payer {n}", deposit_paise=3_000_00)
        payee_phone = f"+9199200{n:05d}"
        payee = make_user(db, payee_phone, f"Payee {n}")
        with db() as session, session.begin():
            tx = services(session, clock).transfers.send(
                session.get_one(User, payer), payee_phone, 2_500_00,
                f"twin-{n:04d}".ljust(22, "x"), pin=PIN).transaction
            assert tx.status == "pending"
            held.append(tx.id)
        twins.append((raise_ticket(db, clock, payer, tx.id, "not_received"),
                      raise_ticket(db, clock, payee, tx.id, "not_received")))
    clock.advance(days=5)  # days 1..4 past T+1 earned by each transaction

    engine = get_engine({"sqlalchemy.url": tagged(web_settings["sqlalchemy.url"]),
                         "sqlalchemy.pool_size": "8"})

    def run(fn):
        def attempt():
            with WalletSession(engine, expire_on_commit=False) as session, session.begin():
                return fn(session)
        return ledgerlib.retrying(attempt)

    sweep = Background(run, settings(), clock=clock)
    stats = stats_engine()
    before = server_deadlocks(stats)
    barrier = threading.Barrier(WORKERS)
    swept: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(SWEEPS):
                swept.append(sweep.pay_compensation())
        except BaseException as exc:  # noqa: BLE001 - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    with caplog.at_level(logging.ERROR), ClientDeadlocks() as client:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()
    swept.append(sweep.pay_compensation())  # the next sweep: nothing left, or what a twin lost
    assert sweep.pay_compensation() == (0, 0)
    engine.dispose()
    lost = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    print(f"twin sweeps (tickets, days): {swept}; twins rolled back: {len(lost)}; "
          f"deadlocks: {client.count} seen, {deadlocks} counted by PostgreSQL")
    assert errors == [] and client.count == 0 and deadlocks == 0, (errors, deadlocks)
    assert all("not paid; tried again next sweep" in message for message in lost)
    for (by_payer, by_payee) in twins:
        days = days_paid(db, by_payer) + days_paid(db, by_payee)
        assert sorted(days) == [1, 2, 3, 4], (by_payer, by_payee, days)
    with db() as session:
        rows = session.scalar(select(func.count()).select_from(TicketCompensation))
        keys = set(session.scalars(select(Transaction.idempotency_key).where(
            Transaction.kind == Kind.ADJUSTMENT)))
        assert keys == {f"compensation:{t}:{n}" for t in held for n in (1, 2, 3, 4)}
        assert rows == len(keys) == sum(days for _, days in swept) == 4 * TWINS
        assert ledgerlib.verify(session).ok and cross_check(session) == []
    assert expense(db) == 4 * TWINS * 100_00
