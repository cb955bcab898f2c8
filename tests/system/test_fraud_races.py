"""Fraud reported while the recipient spends (PostgreSQL): each round Asha
sends Ravi money, then at once Asha reports it as fraud while Ravi sends it on
to Zoya (twice) and Zoya sends Ravi some back. Asserted: Ravi's wallet never
goes below zero (posted >= held, every hold at most what was left), each
report holds at most the transfer's amount, a spend needing held money is
refused; no deadlock, counted by the clients and by PostgreSQL
(``pg_stat_database.deadlocks``); the ledger verifies and the records
cross-check (fraud holds included)."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

import ledgerlib
from wallet.care.models import FraudHold
from wallet.core.models import Transaction, User
from wallet.db import WalletSession, get_engine
from wallet.money.errors import InsufficientBalance
from wallet.operations.bank_calls import verify_all

from ..wallet_helpers import PIN, make_user, services_for_tests
from .test_payment_deadlocks import (
    ClientDeadlocks,
    flush_statistics_of_the_work,
    race,
    server_deadlocks,
    stats_engine,
    tagged,
)

pytestmark = pytest.mark.postgres

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"
ROUNDS = 15


def test_reporting_while_the_recipient_spends_never_goes_negative(db, web_settings):
    asha = make_user(db, ASHA, "Asha", deposit_paise=50_000_00)
    ravi = make_user(db, RAVI, "Ravi", deposit_paise=50_00)
    zoya = make_user(db, ZOYA, "Zoya", deposit_paise=5_000_00)
    engine = get_engine({"sqlalchemy.url": tagged(web_settings["sqlalchemy.url"]),
                         "sqlalchemy.pool_size": "8"})
    stats = stats_engine()
    errors: list[BaseException] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    keys = iter(range(1, 10_000))

    def run(fn: Callable[..., object]) -> object:
        with WalletSession(engine, expire_on_commit=False) as session, session.begin():
            return fn(services_for_tests(session), session)

    def send(payer: int, phone: str, paise: int) -> Transaction:
        key = f"race-{next(keys)}".ljust(22, "x")
        return run(lambda s, session: s.transfers.send_money(  # type: ignore[return-value]
            session.get(User, payer), phone, paise, key, pin=PIN))

    def step(name: str, fn: Callable[[], object]) -> None:
        try:
            fn()
            outcome = name
        except InsufficientBalance:
            outcome = f"{name}: refused"
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)
            return
        with lock:
            outcomes[outcome] += 1


    before = server_deadlocks(stats)
    with ClientDeadlocks() as client:
        for round_ in range(ROUNDS):
            tx = send(asha, RAVI, 300_00 + round_)
            race(lambda tx=tx: step("report", lambda: run(
                     lambda s, session: s.fraud_reports.report(
                         session.get(User, asha), tx.id, "scam"))),
                 lambda: step("spend", lambda: send(ravi, ZOYA, 200_00)),
                 lambda: step("spend", lambda: send(ravi, ZOYA, 150_00)),
                 lambda: step("back", lambda: send(zoya, RAVI, 20_00)))
            with db() as session:
                b = ledgerlib.Ledger(session).balance(f"user:{ravi}:wallet")
            assert b.posted_paise >= b.held_paise >= 0, b
    engine.dispose()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()
    summary = f"deadlocks: {client.count} seen, {deadlocks} counted; outcomes {dict(outcomes)}"
    print(summary)
    assert client.count == 0 and deadlocks == 0, summary
    assert errors == [], (summary, errors[:5])
    assert outcomes["report"] == ROUNDS
    with db() as session:
        holds = session.execute(select(FraudHold.held_paise, Transaction.amount_paise).join(
            Transaction, Transaction.id == FraudHold.transaction_id)).all()
        assert len(holds) == ROUNDS and all(0 <= held <= amount for held, amount in holds)
        b = ledgerlib.Ledger(session).balance(f"user:{ravi}:wallet")
        assert b.held_paise == sum(held for held, _ in holds) <= b.posted_paise
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)
