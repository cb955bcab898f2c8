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
import ledgerlib.autocommit
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

from ..conftest import ON_POSTGRES, VIA_PGBOUNCER

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
def wire(books, tmp_path):
    """What goes over the wire on each checked-out connection (libpq's trace):
    per checkout, a list of its messages' (direction, type, arguments)."""
    from psycopg import pq

    traces: list = []

    def on_checkout(dbapi_connection, _record, _proxy):
        trace = (tmp_path / f"trace{len(traces)}").open("w+")
        traces.append(trace)
        dbapi_connection.pgconn.trace(trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(
            pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def on_checkin(dbapi_connection, _record):
        if dbapi_connection is not None:
            dbapi_connection.pgconn.untrace()

    event.listen(books, "checkout", on_checkout)
    event.listen(books, "checkin", on_checkin)

    def messages():
        out = []
        for trace in traces:
            trace.flush()
            trace.seek(0)
            # A message: direction (F: frontend, B: backend), length, type,
            # arguments (a statement's text may go on over further lines).
            lines = [(line + "\t\t\t").split("\t") for line in trace.read().splitlines()]
            out.append([(parts[0], parts[2], parts[3].strip()) for parts in lines
                        if parts[0] in ("F", "B") and parts[1].isdigit()])
        return out

    yield messages
    event.remove(books, "checkout", on_checkout)
    event.remove(books, "checkin", on_checkin)
    for trace in traces:
        trace.close()


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
def test_on_postgres_a_transfer_is_one_round_trip_in_autocommit(books, wire):
    AutocommitLedger(books, clock=fixed()).transfer("w0", "w1", 300, idempotency_key="t1")
    [sent] = wire()  # one connection checked out
    frontend = [kind for direction, kind, _ in sent if direction == "F"]
    ready = [arg for direction, kind, arg in sent if kind == "ReadyForQuery"]
    # One batch of messages ending in Sync, one answer: one round trip. No
    # "Query" message (BEGIN or COMMIT): the statement was its own transaction,
    # committed when it ended (the server is idle, "I", not in a transaction).
    assert frontend[-1] == "Sync" and frontend.count("Sync") == 1, frontend
    assert "Query" not in frontend
    assert ready == ["I"]
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
        books, monkeypatch):
    """Four threads move money both ways between the same accounts at once:
    no deadlock (nothing retries here), nothing lost, every posting chained,
    and every transfer took the one statement (funds never run short here)."""
    with Session(books) as session, session.begin():
        ledger = Ledger(session)
        for code, amount in (("w0", 99_000), ("w1", 100_000), ("w2", 100_000)):
            ledger.transfer("bank", code, amount)
    one_statement: list[int] = []  # rows each autocommitted statement gave back
    real = ledgerlib.autocommit._autocommitted

    def counted(*args):
        rows = real(*args)
        one_statement.append(len(rows))
        return rows

    monkeypatch.setattr(ledgerlib.autocommit, "_autocommitted", counted)
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
    assert one_statement == [2] * (4 * 150)  # each posted by its one statement
    moved = sum(7 + i % 13 for i in range(150))
    # w0: -w0>w1 +w1>w0 +w2>w0; w1: +w0>w1 -w1>w0 -w1>w2; w2: +w1>w2 -w2>w0.
    assert balances(books, "w0", "w1", "w2") == {
        "w0": 100_000 + moved, "w1": 100_000 - moved, "w2": 100_000}
    assert count(books, entries) == 4 + 4 * 150
    assert verified(books)


@pytest.mark.skipif(not ON_POSTGRES, reason="the one-statement path is PostgreSQL's")
def test_database_errors_come_as_sqlalchemys_and_the_connection_is_reusable(
        books, monkeypatch):
    from ledgerlib import fastpath

    monkeypatch.setattr(fastpath, "statement", lambda *_a, **_k: ("SELECT 1 / 0", {}))
    ledger = AutocommitLedger(books, clock=fixed())
    with pytest.raises(sa.exc.DataError) as failed:
        ledger.transfer("w0", "w1", 300)
    assert not failed.value.connection_invalidated
    monkeypatch.undo()
    ledger.transfer("w0", "w1", 300)
    with Session(books) as session, session.begin():
        assert not session.connection().connection.dbapi_connection.autocommit
    assert balances(books, "w0", "w1") == {"w0": 700, "w1": 300}


@pytest.mark.postgres
@pytest.mark.skipif(VIA_PGBOUNCER, reason="a killed server backend is PgBouncer's to replace")
def test_a_lost_connection_leaves_the_pool_and_the_next_call_works(books):
    from ..conftest import LEDGER_SCHEMA, postgres_engine

    engine = postgres_engine(LEDGER_SCHEMA, pool_size=1, max_overflow=0)
    try:
        ledger = AutocommitLedger(engine, clock=fixed())
        ledger.transfer("w0", "w1", 100, idempotency_key="before")
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with books.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        with pytest.raises(sa.exc.OperationalError) as lost:
            ledger.transfer("w0", "w1", 100, idempotency_key="lost")
        assert lost.value.connection_invalidated
        # A fresh connection: the same call again posts it (it never arrived).
        assert not ledger.transfer("w0", "w1", 100, idempotency_key="lost").replayed
    finally:
        engine.dispose()
    assert balances(books, "w0", "w1") == {"w0": 800, "w1": 200}
    assert verified(books)
