"""Shared fixtures.

The suite runs on SQLite by default. With ``WALLET_TEST_DATABASE_URL`` set to
a PostgreSQL URL it runs the same tests there (each test file family in its own
schema), plus the PostgreSQL-only concurrency tests (marked ``postgres``).
A configured database that cannot be reached is an error, never a skip.
"""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

import ledgerlib

TEST_DATABASE_URL = os.environ.get("WALLET_TEST_DATABASE_URL", "").strip()
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def pytest_report_header(config):
    return f"wallet test database: {TEST_DATABASE_URL or 'SQLite (per-test temporary file)'}"


def pytest_collection_modifyitems(config, items):
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="PostgreSQL-only: set WALLET_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def postgres_engine(schema: str, **kwargs) -> sa.Engine:
    """An engine whose connections live in ``schema`` of the test database."""
    return ledgerlib.create_engine(
        TEST_DATABASE_URL, connect_args={"options": f"-csearch_path={schema}"}, **kwargs
    )


def reset_postgres_schema(schema: str) -> None:
    engine = sa.create_engine(TEST_DATABASE_URL)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:
        pytest.fail(f"WALLET_TEST_DATABASE_URL is set but unreachable: {exc}", pytrace=False)
    finally:
        engine.dispose()


LEDGER_SCHEMA = "ledgerlib_tests"


@pytest.fixture(scope="session")
def _ledger_pg_engine():
    if not ON_POSTGRES:
        yield None
        return
    reset_postgres_schema(LEDGER_SCHEMA)
    engine = postgres_engine(LEDGER_SCHEMA, pool_size=10)
    ledgerlib.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger_engine(tmp_path, _ledger_pg_engine):
    """An engine with the ledger tables, empty at the start of each test."""
    if _ledger_pg_engine is None:
        engine = ledgerlib.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
        ledgerlib.create_all(engine)
        yield engine
        engine.dispose()
        return
    with _ledger_pg_engine.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE ledger_holds, ledger_postings, ledger_entries, ledger_accounts "
            "RESTART IDENTITY CASCADE"
        )
    yield _ledger_pg_engine


@pytest.fixture
def session(ledger_engine):
    """A session in an open transaction; rolled back at the end of the test."""
    from sqlalchemy.orm import Session

    with Session(ledger_engine) as session:
        session.begin()
        yield session
        session.rollback()


@pytest.fixture
def ledger(session):
    return ledgerlib.Ledger(session)
