"""PostgreSQL: batches over overlapping accounts, with single transfers in
between, from several connections at once and without retries. A deadlock
would reach a thread and fail the test; money is conserved and verify is clean."""
from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import InsufficientFunds, Ledger, transfer_item

pytestmark = pytest.mark.postgres

WALLETS = [f"user:{i}:wallet" for i in range(6)]
BANK = "bank:settlement"
THREADS = 6
ROUNDS = 25
FUNDING = 50_000


def worker(engine, seed: int, errors: list, posted: list) -> None:
    rng = random.Random(seed)
    try:
        for n in range(ROUNDS):
            with Session(engine) as session, session.begin():
                ledger = Ledger(session)
                if rng.random() < 0.8:
                    batch = []
                    for i in range(rng.randint(1, 60)):
                        source, destination = rng.sample(WALLETS, 2)
                        batch.append(transfer_item(source, destination, rng.randint(1, 9_000),
                                                   idempotency_key=f"b:{seed}:{n}:{i}"))
                    results = ledger.post_batch(batch, atomic=rng.random() < 0.3)
                    posted.append(sum(r.status == "posted" for r in results))
                else:
                    source, destination = rng.sample(WALLETS, 2)
                    try:
                        ledger.transfer(source, destination, rng.randint(1, 9_000))
                        posted.append(1)
                    except InsufficientFunds:
                        pass
    except ledgerlib.BatchRefused:
        pass  # an all-or-nothing batch refused as a whole: fine, nothing written
    except Exception as exc:  # noqa: BLE001 - a deadlock or any other error fails the test
        errors.append(exc)


def test_concurrent_batches_conserve_money_without_deadlocks(ledger_engine):
    with Session(ledger_engine) as session, session.begin():
        ledger = Ledger(session)
        ledger.open_account(BANK, "asset", allow_negative=True)
        for code in WALLETS:
            ledger.open_account(code, "liability")
            ledger.transfer(BANK, code, FUNDING)
    errors: list = []
    posted: list = []
    threads = [threading.Thread(target=worker, args=(ledger_engine, seed, errors, posted))
               for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], errors[:3]
    assert sum(posted) > THREADS * ROUNDS  # real contention happened
    with ledgerlib.snapshot_session(ledger_engine) as session:
        ledger = Ledger(session)
        balances = [ledger.balance(code).posted_paise for code in WALLETS]
        assert sum(balances) == FUNDING * len(WALLETS)
        assert min(balances) >= 0
        report = ledger.verify()
        assert report.ok, report.summary()
