"""PostgreSQL concurrency: threads with their own connections hammer a few
accounts and one hot merchant account at once. No retries are used, so a
deadlock or serialization error would reach the test and fail it. Transfers
and hold commits run through the one-statement fast path (checked below), so
this also tests its locking and its balance updates under READ COMMITTED."""
from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import InsufficientFunds, Ledger

pytestmark = pytest.mark.postgres

WALLETS = [f"user:{i}:wallet" for i in range(5)]
HOT = "merchant:hot:wallet"
BANK = "bank:hdfc:settlement"
THREADS = 8
OPS_PER_THREAD = 400
FUNDING_PAISE = 20_000_00
counts_lock = threading.Lock()


def worker(engine, seed: int, errors: list, counts: dict) -> None:
    rng = random.Random(seed)
    try:
        for i in range(OPS_PER_THREAD):
            with Session(engine) as session, session.begin():
                ledger = Ledger(session)
                source = rng.choice(WALLETS)
                roll = rng.random()
                try:
                    if roll < 0.45:  # payment into the one hot account
                        ledger.transfer(source, HOT, rng.randint(1, 5_000),
                                        idempotency_key=f"pay:{seed}:{i}")
                        entries = 1
                    elif roll < 0.85:  # transfers among a few friends, both directions
                        destination = rng.choice([w for w in WALLETS if w != source])
                        ledger.transfer(source, destination, rng.randint(1, 20_000))
                        entries = 1
                    else:  # a withdrawal: hold, then commit or release
                        hold = ledger.hold(source, BANK, rng.randint(1, 30_000))
                        if rng.random() < 0.5:
                            ledger.commit_hold(hold.id)
                            entries = 1
                        else:
                            ledger.release_hold(hold.id)
                            entries = 0
                    with counts_lock:
                        counts["ok"] += 1
                        counts["entries"] += entries
                except InsufficientFunds:
                    with counts_lock:
                        counts["insufficient"] += 1
                        counts["declined"] += roll < 0.85  # a transfer tried the fast path
    except Exception as exc:  # noqa: BLE001 - any other error fails the test
        errors.append(exc)


def test_concurrent_transfers_conserve_money_without_deadlocks(ledger_engine, fast_path_calls):
    with Session(ledger_engine) as session, session.begin():
        ledger = Ledger(session)
        ledger.open_account(BANK, "asset", allow_negative=True)
        ledger.open_account(HOT, "liability")
        for code in WALLETS:
            ledger.open_account(code, "liability")
            ledger.transfer(BANK, code, FUNDING_PAISE)

    errors: list = []
    counts = {"ok": 0, "insufficient": 0, "entries": 0, "declined": 0}
    threads = [
        threading.Thread(target=worker, args=(ledger_engine, seed, errors, counts))
        for seed in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [], errors[:3]
    assert counts["ok"] > THREADS * OPS_PER_THREAD // 2
    # Every entry posted (the funding, transfers, hold commits) went through
    # the one-statement fast path; only refusals fell back to the generic path.
    assert fast_path_calls["applied"] == len(WALLETS) + counts["entries"]
    assert fast_path_calls["tried"] == fast_path_calls["applied"] + counts["declined"]
    with Session(ledger_engine) as session:
        ledger = Ledger(session)
        balances = {code: ledger.balance(code) for code in [*WALLETS, HOT, BANK]}
        assert all(b.held_paise == 0 and b.available_paise >= 0
                   for code, b in balances.items() if code != BANK)
        in_wallets = sum(balances[c].posted_paise for c in [*WALLETS, HOT])
        paid_out = FUNDING_PAISE * len(WALLETS) - balances[BANK].posted_paise
        assert in_wallets + paid_out == FUNDING_PAISE * len(WALLETS)
        assert balances[HOT].posted_paise > 0
        report = ledgerlib.verify(session)
        assert report.ok, report.summary()


def _wait_until_blocked(engine, timeout_s: float = 10.0) -> None:
    """Until some session of this database waits on a row lock in the fast path."""
    import time

    deadline = time.monotonic() + timeout_s
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%%), locked AS%%'"
            ).scalar()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second transfer never waited for the lock")


@pytest.mark.parametrize("first, second, expected", [
    # The source is credited meanwhile: the second transfer may spend it all.
    (("bank", "w0", 900), ("w0", "w1", 1_000), {"w0": 0, "w1": 1_000}),
    # The source is debited meanwhile: what is left is too little.
    (("w0", "w1", 60), ("w0", "w1", 50), InsufficientFunds),
])
def test_fast_path_sees_the_balance_a_concurrent_transaction_committed(
    ledger_engine, fast_path_calls, first, second, expected
):
    """The second transfer's statement starts (and takes its snapshot) while the
    first transaction holds the lock, so the row in its snapshot is stale: the
    checks and the new balance must use the locked, latest row."""
    with Session(ledger_engine) as session, session.begin():
        ledger = Ledger(session)
        ledger.open_account("bank", "asset", allow_negative=True)
        ledger.open_account("w0", "liability")
        ledger.open_account("w1", "liability")
        ledger.transfer("bank", "w0", 100)

    outcome: list = []

    def second_transfer() -> None:
        try:
            with Session(ledger_engine) as session, session.begin():
                outcome.append(Ledger(session).transfer(*second))
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    with Session(ledger_engine) as session, session.begin():
        Ledger(session).transfer(*first)  # holds the row locks until commit
        thread = threading.Thread(target=second_transfer)
        thread.start()
        _wait_until_blocked(ledger_engine)
    thread.join()

    assert len(outcome) == 1
    if expected is InsufficientFunds:
        assert isinstance(outcome[0], InsufficientFunds), outcome
        assert (outcome[0].available_paise, outcome[0].requested_paise) == (40, 50)
    else:
        assert isinstance(outcome[0], ledgerlib.Entry), outcome
        with Session(ledger_engine) as session:
            ledger = Ledger(session)
            assert {code: ledger.balance(code).posted_paise for code in expected} == expected
    assert fast_path_calls["applied"] == (2 if expected is InsufficientFunds else 3)
    with Session(ledger_engine) as session:
        assert ledgerlib.verify(session).ok
