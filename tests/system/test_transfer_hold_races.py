"""A held first payment's undo racing its landing (PostgreSQL): the sender
presses Undo in the last instant of the window while two workers' sweeps
land it, and an ordinary transfer leaves the same wallet meanwhile. Asserted:
each held transfer ends one way only -- cancelled (all of it back to the
sender, nothing to the recipient) or landed (once) -- money is conserved,
the ledger verifies and the records cross-check, and no deadlock, counted by
the clients and by PostgreSQL (``pg_stat_database.deadlocks``)."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

from wallet.core.codes import Status
from wallet.core.models import Transaction, User
from wallet.db import WalletSession, get_engine
from wallet.money.errors import UndoClosed
from wallet.money.models import TransferHold
from wallet.operations.bank_calls import verify_all

from ..schedule_helpers import Clock, background, services
from ..wallet_helpers import PIN, make_user
from .test_payment_deadlocks import (
    ClientDeadlocks,
    flush_statistics_of_the_work,
    race,
    server_deadlocks,
    stats_engine,
    tagged,
    wallet_balance,
)

pytestmark = pytest.mark.postgres

ASHA = "+919876543210"
START_PAISE = 1_00_000_00
ROUNDS = 16
AMOUNT = 2_500_00
NOW = dt.datetime(2026, 12, 10, 8, 32, tzinfo=dt.timezone.utc)
WINDOW = dt.timedelta(seconds=1800)


def test_undo_racing_the_landing_ends_one_way_and_conserves_money(db, web_settings):
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=START_PAISE)
    payees = [make_user(db, f"+9199000{i:05d}", f"Payee {i}") for i in range(ROUNDS)]
    engine = get_engine({"sqlalchemy.url": tagged(web_settings["sqlalchemy.url"]),
                         "sqlalchemy.pool_size": "8"})
    stats = stats_engine()
    errors: list[BaseException] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(fn: Callable[..., object]) -> object:
        with WalletSession(engine, expire_on_commit=False) as session, session.begin():
            return fn(session)

    def noted(name: str, fn: Callable[[], object]) -> None:
        try:
            fn()
            outcome = name
        except UndoClosed:
            outcome = f"{name}: closed"
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)
            return
        with lock:
            outcomes[outcome] += 1

    def send(clock: Clock, payee_index: int, amount: int, key: str) -> int:
        def make(session) -> int:
            return services(session, clock).transfers.send(
                session.get(User, asha), f"+9199000{payee_index:05d}", amount,
                f"form-key-{key:0>10}", pin=PIN).transaction.id
        return int(run(make))  # type: ignore[call-overload]


    before = server_deadlocks(stats)
    held: list[int] = []
    with ClientDeadlocks() as client:
        for round_ in range(ROUNDS):
            sent_at = Clock(NOW + dt.timedelta(hours=round_))
            tx_id = send(sent_at, round_, AMOUNT, f"held-{round_}")
            held.append(tx_id)
            # The last instant of the window for the undo; its end for the sweeps.
            pressing = Clock(sent_at.now + WINDOW - dt.timedelta(milliseconds=1))
            landing = Clock(sent_at.now + WINDOW)
            sweeps = background(run, landing)

            def undo(tx_id: int = tx_id, pressing: Clock = pressing) -> None:
                noted("undo", lambda: run(lambda s: services(s, pressing).transfer_holds.undo(
                    s.get(User, asha), tx_id)))

            def sweep(sweeps=sweeps) -> None:
                noted("sweep", sweeps.land_due_transfers)

            def ordinary(round_: int = round_, pressing: Clock = pressing) -> None:
                if round_:  # to an earlier payee: no first payment, completed at once
                    noted("transfer", lambda: send(pressing, round_ - 1, 10_00,
                                                   f"plain-{round_}"))

            race(undo, undo, sweep, sweep, ordinary)
    engine.dispose()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()

    summary = f"deadlocks: {client.count} seen, {deadlocks} counted; outcomes {dict(outcomes)}"
    print(summary)
    assert client.count == 0 and deadlocks == 0, summary
    assert errors == [], (summary, errors[:5])
    with db() as session:
        ends = dict(session.execute(select(TransferHold.transaction_id, TransferHold.status)
                                    .where(TransferHold.transaction_id.in_(held))).all())
        statuses = dict(session.execute(select(Transaction.id, Transaction.status)
                                        .where(Transaction.id.in_(held))).all())
        plain = session.scalars(select(Transaction.amount_paise).where(
            Transaction.payer_user_id == asha, Transaction.id.not_in(held),
            Transaction.status == Status.COMPLETED)).all()
    assert set(ends.values()) <= {"landed", "cancelled"} and len(ends) == ROUNDS, ends
    for tx_id in held:
        assert statuses[tx_id] == {"landed": "completed", "cancelled": "failed"}[ends[tx_id]]
    landed = [held.index(tx_id) for tx_id, end in ends.items() if end == "landed"]
    received = {i: 0 for i in range(ROUNDS)}
    for i in landed:
        received[i] += AMOUNT
    for i in range(ROUNDS - 1):
        received[i] += 10_00  # each ordinary transfer (rounds 1..) paid payee round-1
    for i, payee in enumerate(payees):
        assert wallet_balance(db, f"user:{payee}:wallet") == received[i]
    assert wallet_balance(db, f"user:{asha}:wallet") == (
        START_PAISE - AMOUNT * len(landed) - sum(plain))
    assert len(plain) == ROUNDS - 1
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)
