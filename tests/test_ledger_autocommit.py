"""ledgerlib.AutocommitLedger: each call its own transaction; on PostgreSQL one
statement sent in autocommit (one round trip), everywhere the same results and
errors as Ledger.post. Runs on SQLite (generic path) and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import (
    AccountNotFound,
    AutocommitLedger,
    IdempotencyConflict,
    InsufficientFunds,
    Ledger,
    credit,
    debit,
)
from ledgerlib.tables import entries, holds, postings

from .conftest import ON_POSTGRES

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def fixed(at: dt.datetime = NOW):
    return lambda: at


@pytest.fixture
def books(ledger_engine):
    """bank (may go negative), w0 with 1,000, w1 and w2 empty; committed."""
    with Session(ledger_engine) as session, session.begin():
        ledger = Ledger(session, clock=fixed())
        ledger.open_account("bank", "asset", allow_negative=True)
        for code in ("w0", "w1", "w2"):
            ledger.open_account(code, "liability")
        ledger.transfer("bank", "w0", 1_000, idempotency_key="fund")
    return ledger_engine


def balances(engine, *codes: str) -> dict[str, int]:
    with Session(engine) as session:
        ledger = Ledger(session)
        return {code: ledger.balance(code).available_paise for code in codes}


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def verified(engine) -> bool:
    with Session(engine) as session:
        report = ledgerlib.verify(session)
        return report.ok


@pytest.fixture
def statements(books):
    """Every statement the engine sends: (SQL, was the connection in autocommit)."""
    seen: list[tuple[str, bool]] = []

    def record(conn, _cursor, statement, *_args):
        seen.append((statement, bool(getattr(conn.connection.dbapi_connection,
                                             "autocommit", False))))

    event.listen(books, "before_cursor_execute", record)
    yield seen
    event.remove(books, "before_cursor_execute", record)


def test_a_transfer_is_committed_when_the_call_returns(books):
    entry = AutocommitLedger(books, clock=fixed()).transfer(
        "w0", "w1", 300, idempotency_key="t1", memo="rent", metadata={"n": 1})
    assert (entry.idempotency_key, entry.memo, dict(entry.metadata), entry.created_at) == (
        "t1", "rent", {"n": 1}, NOW)
    assert [(p.account_code, p.amount_paise, p.currency) for p in entry.postings] == [
        ("w0", 300, "INR"), ("w1", -300, "INR")]
    assert not entry.replayed
    # Seen from another connection: committed.
    assert balances(books, "w0", "w1") == {"w0": 700, "w1": 300}
    with Session(books) as session:
        assert Ledger(session).get_entry(entry.id) == entry
    assert verified(books)


@pytest.mark.skipif(not ON_POSTGRES, reason="the one-statement path is PostgreSQL's")
def test_on_postgres_a_transfer_is_one_statement_sent_in_autocommit(books, statements):
    AutocommitLedger(books, clock=fixed()).transfer("w0", "w1", 300, idempotency_key="t1")
    assert len(statements) == 1, [sql[:60] for sql, _ in statements]
    sql, autocommit = statements[0]
    assert "FOR UPDATE" in sql and "INSERT INTO ledger_postings" in sql
    assert autocommit  # its own transaction: no BEGIN, no COMMIT round trips
    # The pooled connection went back to transactions for the next user.
    with Session(books) as session, session.begin():
        assert not session.connection().connection.dbapi_connection.autocommit


def test_the_same_key_replays_the_entry_and_moves_nothing(books):
    ledger = AutocommitLedger(books, clock=fixed())
    first = ledger.transfer("w0", "w1", 300, idempotency_key="t1")
    again = ledger.transfer("w0", "w1", 300, idempotency_key="t1")
    assert again.replayed and again.id == first.id and again.postings == first.postings
    assert balances(books, "w0", "w1") == {"w0": 700, "w1": 300}
    with pytest.raises(IdempotencyConflict):
        ledger.transfer("w0", "w1", 301, idempotency_key="t1")
    with pytest.raises(IdempotencyConflict):
        ledger.transfer("w0", "w2", 300, idempotency_key="t1")
    assert count(books, entries) == 2  # the funding and t1


def test_a_replay_is_not_refused_for_the_funds_it_already_moved(books):
    ledger = AutocommitLedger(books, clock=fixed())
    first = ledger.transfer("w0", "w1", 1_000, idempotency_key="all")
    assert ledger.transfer("w0", "w1", 1_000, idempotency_key="all").id == first.id


def test_entries_keep_the_hash_chain_and_running_balances(books):
    ledger = AutocommitLedger(books, clock=fixed())
    for i, (source, destination, amount) in enumerate(
            [("w0", "w1", 100), ("w1", "w2", 40), ("w0", "w2", 10), ("w2", "w0", 50)]):
        ledger.transfer(source, destination, amount, idempotency_key=f"t{i}")
    ledger.post([debit("w0", 5), credit("w1", 3), credit("w2", 2)])
    assert balances(books, "w0", "w1", "w2") == {"w0": 935, "w1": 63, "w2": 2}
    assert verified(books)
    with Session(books) as session:
        heads = Ledger(session).chain_heads()
        assert all(heads[code] for code in ("w0", "w1", "w2"))
        history = Ledger(session).history("w2", limit=3)
        assert [item.balance_after_paise for item in history.items] == [2, 0, 50]


def test_an_account_with_two_legs_of_one_entry_is_posted_too(books):
    entry = AutocommitLedger(books, clock=fixed()).post(
        [debit("w0", 100), credit("w1", 60), credit("w0", 40)])
    assert len(entry.postings) == 3
    assert balances(books, "w0", "w1") == {"w0": 940, "w1": 60}
    assert verified(books)


def test_pending_holds_are_respected(books):
    with Session(books) as session, session.begin():
        Ledger(session, clock=fixed()).hold("w0", "bank", 800)
    ledger = AutocommitLedger(books, clock=fixed())
    with pytest.raises(InsufficientFunds) as refused:
        ledger.transfer("w0", "w1", 300, idempotency_key="too-much")
    assert refused.value.available_paise == 200
    assert count(books, entries) == 1 and balances(books, "w0", "w1") == {"w0": 200, "w1": 0}
    ledger.transfer("w0", "w1", 200, idempotency_key="fits")
    assert balances(books, "w0", "w1") == {"w0": 0, "w1": 200}
    assert verified(books)


def test_an_expired_hold_frees_the_money_it_held(books):
    with Session(books) as session, session.begin():
        held = Ledger(session, clock=fixed()).hold(
            "w0", "bank", 800, expires_at=NOW + dt.timedelta(minutes=5))
    later = AutocommitLedger(books, clock=fixed(NOW + dt.timedelta(minutes=6)))
    later.transfer("w0", "w1", 900, idempotency_key="after-expiry")
    assert balances(books, "w0", "w1") == {"w0": 100, "w1": 900}
    with books.connect() as conn:
        status = conn.execute(sa.select(holds.c.status).where(holds.c.id == held.id))
        assert status.scalar_one() == "expired"
    assert verified(books)


def test_refusals_write_nothing(books):
    ledger = AutocommitLedger(books, clock=fixed())
    with pytest.raises(AccountNotFound):
        ledger.transfer("w0", "ghost", 1)
    with pytest.raises(InsufficientFunds):
        ledger.transfer("w1", "w0", 1)
    with pytest.raises(ledgerlib.InvalidAmount):
        ledger.transfer("w0", "w1", 0)
    with pytest.raises(ValueError, match="naive"):
        AutocommitLedger(books, clock=lambda: dt.datetime(2026, 3, 1)).transfer("w0", "w1", 1)
    assert (count(books, entries), count(books, postings)) == (1, 2)


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's statement triggers")
def test_the_guards_run_before_an_autocommitted_statement_commits(books):
    """In autocommit a statement commits when it ends; the ledger's guards are
    statement triggers, so they refuse it before that (nothing stays)."""
    with books.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(sa.exc.DBAPIError, match="does not balance"):
            conn.exec_driver_sql(
                "WITH e AS (INSERT INTO ledger_entries (fingerprint, memo, metadata, "
                "created_at) VALUES ('x', '', '{}', now()) RETURNING id) "
                "INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, "
                "created_at, balance_after, hash) SELECT e.id, a.id, 5, 'INR', now(), 0, 'h' "
                "FROM e, ledger_accounts AS a WHERE a.code IN ('w1', 'w2')")
        # None of the ledger's triggers or constraints waits for COMMIT.
        deferred = conn.exec_driver_sql(
            "SELECT (SELECT count(*) FROM pg_trigger WHERE tgdeferrable AND tgrelid::regclass"
            "::text LIKE 'ledger_%%') + (SELECT count(*) FROM pg_constraint WHERE "
            "condeferrable AND conrelid::regclass::text LIKE 'ledger_%%')").scalar_one()
        assert deferred == 0
    assert (count(books, entries), count(books, postings)) == (1, 2)


@pytest.mark.postgres
def test_opposite_transfers_from_four_threads_conserve_money_without_deadlock(
        books, fast_path_calls):
    """Four threads move money both ways between the same accounts at once:
    no deadlock (nothing retries here), nothing lost, every posting chained,
    and every transfer took the one statement (funds never run short here)."""
    with Session(books) as session, session.begin():
        ledger = Ledger(session)
        for code, amount in (("w0", 99_000), ("w1", 100_000), ("w2", 100_000)):
            ledger.transfer("bank", code, amount)
    ledger = AutocommitLedger(books)
    routes = [("w0", "w1"), ("w1", "w0"), ("w1", "w2"), ("w2", "w0")]
    errors: list[BaseException] = []
    start = threading.Barrier(len(routes))

    def run(k: int) -> None:
        source, destination = routes[k]
        try:
            start.wait()
            for i in range(150):
                ledger.transfer(source, destination, 7 + i % 13, idempotency_key=f"{k}:{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(routes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert fast_path_calls == {"tried": 3 + 4 * 150, "applied": 3 + 4 * 150}
    moved = sum(7 + i % 13 for i in range(150))
    # w0: -w0>w1 +w1>w0 +w2>w0; w1: +w0>w1 -w1>w0 -w1>w2; w2: +w1>w2 -w2>w0.
    assert balances(books, "w0", "w1", "w2") == {
        "w0": 100_000 + moved, "w1": 100_000 - moved, "w2": 100_000}
    assert count(books, entries) == 4 + 4 * 150
    assert verified(books)
