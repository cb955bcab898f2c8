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
