"""Engine set-up and transaction retries, for applications that want them.

Optional helpers: the ledger works with any SQLAlchemy session on PostgreSQL
or SQLite, but on SQLite a write transaction should start with
``BEGIN IMMEDIATE`` -- otherwise two connections that both read and then both
write fail with "database is locked" instead of waiting their turn.

On PostgreSQL the engine must also work behind a pooler in transaction mode
(PgBouncer ``pool_mode = transaction``), where each transaction may run on
another server connection: nothing may outlive a transaction in the server
session. psycopg 3 prepares a statement server-side after it ran 5 times on a
connection (``_pg3_0``, ``_pg3_1``...), which then meets another client's
statement of the same name ("prepared statement "_pg3_0" already exists") or
is missing where the next transaction lands. :func:`ledgerlib.configure_engine` turns
that off, for every engine made here or by an application that calls it --
unless told ``prepared_statements=True``: right for a direct connection (or a
pooler that keeps prepared statements, such as PgBouncer 1.21+ with
``max_prepared_statements``), where parsing and planning each statement once
per connection makes a transfer much quicker (``bench/ledger_bench.py``
measures both).
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL SQLSTATEs after which the whole transaction may simply be re-run.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization, deadlock


def create_engine(url: str, *, prepared_statements: bool = False, **kwargs: Any) -> Engine:
    """``sqlalchemy.create_engine`` plus :func:`ledgerlib.configure_engine`."""
    engine = sqlalchemy.create_engine(url, **kwargs)
    configure_engine(engine, prepared_statements=prepared_statements)
    return engine


def configure_engine(engine: Engine, *, prepared_statements: bool = False) -> None:
    """What a ledger needs of an engine, decided here once for every process.

    SQLite: foreign keys on, WAL for files, a busy timeout and ``BEGIN IMMEDIATE``.
    PostgreSQL with psycopg 3: by default no server-side prepared statements,
    so that the engine works through a transaction-mode pooler (see the
    module's doc); the cost is a parse and plan per statement. With
    ``prepared_statements=True`` (a direct connection) psycopg prepares a
    statement from its 5th run on a connection, as it does by default.
    """
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)
    elif engine.dialect.driver == "psycopg" and not prepared_statements:
        event.listen(engine, "connect", _no_prepared_statements, insert=True)


def _no_prepared_statements(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.prepare_threshold = None  # psycopg 3: never prepare server-side


def configure_sqlite(engine: Engine) -> None:
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite would defer it to the first write).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_retryable(error: BaseException) -> bool:
    """True for errors after which re-running the transaction is the right move."""
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(error.orig)


def retrying(
    attempt: Callable[[], T],
    *,
    attempts: int = 5,
    base_delay_s: float = 0.01,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``attempt`` (which must run one whole transaction) until it does not
    fail with a retryable database error, with jittered exponential backoff."""
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except DBAPIError as error:
            if number == attempts or not is_retryable(error):
                raise
            sleep(random.uniform(0, base_delay_s * 2**number))
    raise AssertionError("unreachable")
