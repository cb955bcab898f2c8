"""pgledger (github: pgr0ss/pgledger) in bench/ledger_bench.py: the same transfers, same run.

pgledger is a double-entry ledger in PL/pgSQL with running balances and a
version per account. It is never vendored or installed by the project: give
``bench/ledger_bench.py --pgledger PATH`` a checkout of it, and every run loads
its SQL files (``vendor/scoville-pgsql-ulid/*.sql`` and ``pgledger.sql``, in its
own install order) into a fresh schema of the database ``--pgledger-url``
names (default: the benchmark's own database).

Each transfer is its call as pgledger documents it, on a connection in
autocommit: ``SELECT id FROM pgledger_create_transfer(from, to, amount)`` --
one statement, so one network round trip and its own transaction. It runs on
a bare psycopg connection (no SQLAlchemy in between: pgledger's best case)
that prepares statements exactly when the ledgerlib engines of the run do.
The wallets refuse a negative balance (``allow_negative_balance => false``),
as ledgerlib's do; the bank may go negative. Not offered by pgledger, so not
measured: idempotency keys, a hash chain, holds, overdraft limits.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

SCHEMA = "pgledger_bench"
#: Its install order (its justfile's ``dbload``).
SQL_FILES = ("vendor/scoville-pgsql-ulid/ulid-to-uuid.sql",
             "vendor/scoville-pgsql-ulid/uuid-to-ulid.sql",
             "pgledger.sql")
TRANSFER = "SELECT id FROM pgledger_create_transfer(%s, %s, %s)"

Transfer = tuple[int, int, int]


def conninfo(url: str) -> str:
    """A libpq connection string from an SQLAlchemy URL."""
    u = make_url(url)
    parts = {"host": u.host, "port": u.port, "user": u.username, "password": u.password,
             "dbname": u.database}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def check_checkout(path: Path) -> None:
    missing = [name for name in SQL_FILES if not (path / name).is_file()]
    if missing:
        raise SystemExit(f"--pgledger {path}: not a pgledger checkout (missing {missing})")


def connect(url: str, *, prepared: bool, options: str = "") -> psycopg.Connection[Any]:
    conn = psycopg.connect(conninfo(url), autocommit=True,
                           options=f"-csearch_path={SCHEMA}{options}")
    if not prepared:
        conn.prepare_threshold = None
    return conn


@contextmanager
def fresh_ledger(path: Path, url: str, accounts: int, funding: int) -> Iterator[list[str]]:
    """A fresh schema with pgledger loaded, a bank and ``accounts`` funded wallets;
    yields the wallets' ids."""
    with psycopg.connect(conninfo(url), autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        admin.execute(f"CREATE SCHEMA {SCHEMA}")
        admin.execute(f"SET search_path = {SCHEMA}")
        with admin.transaction():
            for name in SQL_FILES:
                admin.execute((path / name).read_text())
        bank = admin.execute(
            "SELECT id FROM pgledger_create_account('bench:bank', 'INR', true, true)"
        ).fetchone()
        assert bank is not None
        wallets = []
        for i in range(accounts):
            row = admin.execute(
                "SELECT id FROM pgledger_create_account(%s, 'INR', false, true)",
                (f"bench:{i}:wallet",)).fetchone()
            assert row is not None
            wallets.append(row[0])
            admin.execute(TRANSFER, (bank[0], row[0], funding))
    try:
        yield wallets
    finally:
        with psycopg.connect(conninfo(url), autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def worker(conn: psycopg.Connection[Any], wallets: list[str]
           ) -> Callable[[int, Transfer], None]:
    def do(_i: int, t: Transfer) -> None:
        src, dst, amount = t
        row = conn.execute(TRANSFER, (wallets[src], wallets[dst], amount)).fetchone()
        assert row is not None
    return do


def verify(url: str, planned_total: int) -> bool:
    """Money conserved, no wallet negative, every running balance consistent,
    and as many transfers as planned (plus the funding ones)."""
    with psycopg.connect(conninfo(url), autocommit=True,
                         options=f"-csearch_path={SCHEMA}") as conn:
        row = conn.execute("""
            SELECT (SELECT sum(balance) FROM pgledger_accounts) = 0,
                   NOT EXISTS (SELECT FROM pgledger_accounts
                               WHERE NOT allow_negative_balance AND balance < 0),
                   NOT EXISTS (SELECT FROM pgledger_accounts AS a
                               WHERE a.balance <> (SELECT coalesce(sum(amount), 0)
                                                   FROM pgledger_entries AS e
                                                   WHERE e.account_id = a.id)),
                   (SELECT count(*) FROM pgledger_transfers)
                   - (SELECT count(*) FROM pgledger_accounts) + 1
        """).fetchone()
    assert row is not None
    return bool(row[0] and row[1] and row[2] and row[3] == planned_total)
