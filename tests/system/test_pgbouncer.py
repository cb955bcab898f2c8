"""Everything works behind PgBouncer in transaction mode, where each
transaction may run on another server connection: no server-side prepared
statements, and nothing else that outlives a transaction in the server
session (session advisory locks, SET, LISTEN, temporary tables, WITH HOLD
cursors). The suite's PostgreSQL pass runs through such a PgBouncer
(bin/test.sh); these tests pin the rules down on any database."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

import ledgerlib
from wallet.db import get_engine

from ..conftest import ON_POSTGRES
from ..pgbouncer import TEST_SCHEMAS, alias, config

ROOT = Path(__file__).resolve().parents[2]
#: The packages that run against the wallet's database.
PACKAGES = ("ledgerlib", "wallet", "webcommon", "webapp", "api_app", "webhook_app",
            "huey_tasks", "wallet_cli")
SESSION_STATE = {
    "session-level advisory lock (use pg_advisory_xact_lock / pg_try_advisory_xact_lock)":
        re.compile(r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I),
    "SET outside a transaction (use SET LOCAL)":
        re.compile(r"""["']\s*SET\s+(?!LOCAL\b|TRANSACTION\b)[a-z_.]+\s*(=|TO\b)""", re.I),
    "set_config(..., false) (session-wide; pass true)":
        re.compile(r"set_config\s*\([^)]*,\s*false\s*\)", re.I),
    "LISTEN/UNLISTEN (needs a session of its own)":  # (SQL's capitals: not an ini's listen)
        re.compile(r"""["']\s*(UN)?LISTEN\s+\w"""),
    "a temporary table (lives in the session)": re.compile(r"CREATE\s+TEMP", re.I),
    "a cursor WITH HOLD": re.compile(r"WITH\s+HOLD", re.I),
    "PREPARE (a server-side prepared statement)": re.compile(r"""["']\s*PREPARE\s""", re.I),
}


def test_no_session_state_in_the_code():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text()
            for what, pattern in SESSION_STATE.items():
                for match in pattern.finditer(source):
                    line = source.count("\n", 0, match.start()) + 1
                    found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == []


@pytest.mark.parametrize("sql", [
    "SELECT pg_advisory_lock(1)", "conn.execute('SET search_path = x')",
    "\"SET statement_timeout TO 5\"", "set_config('a.b', 'c', false)", "'LISTEN jobs'",
    "CREATE TEMP TABLE t (x int)", "DECLARE c CURSOR WITH HOLD FOR", "'PREPARE p AS SELECT 1'",
])
def test_the_scan_sees_each_kind_of_session_state(sql):
    assert any(pattern.search(sql) for pattern in SESSION_STATE.values()), sql


@pytest.mark.parametrize("sql", [
    "SELECT pg_try_advisory_xact_lock(1, 2)", "SET LOCAL lock_timeout = '5s'",
    "UPDATE t SET x = 1", "    SET posted_paise = c.posted_paise + c.posted,",
])
def test_the_scan_lets_transaction_scoped_statements_be(sql):
    assert not any(pattern.search(sql) for pattern in SESSION_STATE.values()), sql


def test_each_test_schema_has_a_pool_whose_connections_live_in_it(tmp_path):
    ini = config(sa.make_url("postgresql+psycopg://postgres@db.internal:5433/test"), 6999,
                 tmp_path)
    assert "pool_mode = transaction" in ini and "listen_port = 6999" in ini
    assert "test = host=db.internal port=5433 dbname=test" in ini
    for schema in TEST_SCHEMAS:
        assert (f"{alias('test', schema)} = host=db.internal port=5433 dbname=test "
                f"connect_query='SET search_path TO {schema}'") in ini


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL-only")
@pytest.mark.parametrize("make", [
    lambda url: get_engine({"sqlalchemy.url": url}),
    lambda url: ledgerlib.create_engine(url),
], ids=["wallet.get_engine", "ledgerlib.create_engine"])
def test_engines_never_prepare_statements_on_the_server(make, app_db_url):
    engine = make(app_db_url)
    try:
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection.prepare_threshold is None
            for _ in range(10):  # psycopg would prepare from the 5th run on
                conn.exec_driver_sql("SELECT count(*) FROM users").scalar()
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM pg_prepared_statements").scalar() == 0
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL-only")
@pytest.mark.parametrize("make", [
    lambda url: get_engine({"sqlalchemy.url": url, "sqlalchemy.prepared_statements": "true"}),
    lambda url: ledgerlib.create_engine(url, prepared_statements=True),
], ids=["wallet.get_engine", "ledgerlib.create_engine"])
def test_a_direct_connection_may_keep_prepared_statements(make, app_db_url):
    """Opted in (a host that reaches PostgreSQL directly), psycopg keeps its
    default: a statement is prepared from its 5th run on a connection. (Only
    the setting is checked: this pass may run through PgBouncer 1.18, where
    prepared statements must stay off.)"""
    engine = make(app_db_url)
    try:
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection.prepare_threshold == 5
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL-only")
def test_the_same_statement_from_many_connections_and_transactions(app_db_url):
    """What failed through PgBouncer ("prepared statement "_pg3_0" already
    exists"): each connection repeating the same statements, transaction after
    transaction, while the others do the same."""
    engine = get_engine({"sqlalchemy.url": app_db_url, "sqlalchemy.pool_size": "4"})
    errors: list[BaseException] = []

    def client() -> None:
        try:
            for n in range(12):
                with engine.begin() as conn:
                    conn.exec_driver_sql("SELECT count(*) FROM users WHERE id > %(n)s", {"n": n})
                    conn.exec_driver_sql("SELECT count(*) FROM transactions").scalar()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []

