"""Upgrading a wallet database with ledger rows to ledgerlib 2 (running balances,
hash chains, overdraft limits): the backfill leaves books that verify clean."""
import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session

import ledgerlib

from ..conftest import ON_POSTGRES, reset_postgres_schema, schema_url

PREVIOUS_HEAD = "6f0c2e4b8a17"
SCHEMA = "ledger_migration_tests"
T0 = dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone.utc)


def _url(tmp_path):
    if ON_POSTGRES:
        reset_postgres_schema(SCHEMA)
        return schema_url(SCHEMA)
    return f"sqlite:///{tmp_path / 'old.sqlite'}"


def _alembic(url):
    config = Config()
    config.set_main_option("script_location", "wallet:alembic")
    config.attributes["settings"] = {"sqlalchemy.url": url}
    return config


def _old_rows(conn):
    """Ledger rows as the previous schema held them (no running balance, no hash);
    one posting stamped before the one ahead of it on its account."""
    stamp = (lambda t: t.replace(tzinfo=None)) if conn.dialect.name == "sqlite" else (
        lambda t: t)
    conn.execute(sa.text(
        "INSERT INTO ledger_accounts (id, code, kind, currency, allow_negative, posted_paise, "
        "held_paise, created_at) VALUES "
        "(1, 'bank', 'asset', 'INR', true, 15000, 0, :t), "
        "(2, 'user:1:wallet', 'liability', 'INR', false, 9000, 1000, :t), "
        "(3, 'user:2:wallet', 'liability', 'INR', false, 6000, 0, :t)"), {"t": stamp(T0)})
    moves = [  # entry id, debit account, credit account, amount, minutes after T0
        (1, 1, 2, 10000, 1), (2, 1, 3, 5000, 2), (3, 2, 3, 1000, 30)]
    for entry_id, debit_id, credit_id, amount, minutes in moves:
        at = stamp(T0 + dt.timedelta(minutes=minutes))
        conn.execute(sa.text(
            "INSERT INTO ledger_entries (id, fingerprint, memo, metadata, created_at) "
            "VALUES (:id, :fp, '', '{}', :t)"), {"id": entry_id, "fp": "0" * 64, "t": at})
        conn.execute(sa.text(
            "INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, "
            "created_at) VALUES (:e, :d, :a, 'INR', :t), (:e, :c, -:a, 'INR', :t)"),
            {"e": entry_id, "d": debit_id, "c": credit_id, "a": amount, "t": at})
    # A late clock: entry 4 is stamped before entry 3 on both wallets.
    at = stamp(T0 + dt.timedelta(minutes=10))
    conn.execute(sa.text(
        "INSERT INTO ledger_entries (id, fingerprint, memo, metadata, created_at) "
        "VALUES (4, :fp, '', '{}', :t)"), {"fp": "1" * 64, "t": at})
    conn.execute(sa.text(
        "INSERT INTO ledger_holds (source_account_id, destination_account_id, amount_paise, "
        "currency, status, memo, metadata, created_at) "
        "VALUES (2, 3, 1000, 'INR', 'pending', '', '{}', :t)"), {"t": stamp(T0)})
    conn.execute(sa.text(
        "INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, "
        "created_at) VALUES (4, 3, 500, 'INR', :t), (4, 2, -500, 'INR', :t)"), {"t": at})
    conn.execute(sa.text(
        "UPDATE ledger_accounts SET posted_paise = posted_paise + 500 WHERE id = 2"))
    conn.execute(sa.text(
        "UPDATE ledger_accounts SET posted_paise = posted_paise - 500 WHERE id = 3"))
    if conn.dialect.name == "postgresql":  # the ids above were given, not drawn
        for table in ("ledger_accounts", "ledger_entries"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"))


def test_upgrade_with_data_backfills_balances_and_chains(tmp_path):
    url = _url(tmp_path)
    command.upgrade(_alembic(url), PREVIOUS_HEAD)
    engine = ledgerlib.create_engine(url)
    try:
        with engine.begin() as conn:
            _old_rows(conn)
        command.upgrade(_alembic(url), "head")
        with Session(engine) as session, session.begin():
            ledger = ledgerlib.Ledger(session)
            report = ledger.verify()
            assert report.ok, report.summary()
            assert ledger.balance("user:1:wallet").posted_paise == 9500
            # Entry 4 (minute 10) was posted after entry 3 (minute 30): it takes
            # minute 30 on both wallets, so as-of follows the postings' order.
            assert ledger.balance_as_of("user:1:wallet", T0 + dt.timedelta(minutes=5)) == 10000
            assert ledger.balance_as_of("user:1:wallet", T0 + dt.timedelta(minutes=30)) == 9500
            assert ledger.balance_as_of("user:2:wallet", T0 + dt.timedelta(minutes=29)) == 5000
            heads = ledger.chain_heads()
            assert all(len(heads[code]) == 64 for code in ("bank", "user:1:wallet"))
            # New postings chain on from the backfilled heads; limits hold.
            ledger.transfer("user:2:wallet", "user:1:wallet", 100)
            ledger.set_overdraft_limit("user:2:wallet", 2000)
            ledger.transfer("user:2:wallet", "user:1:wallet", 7000)
            assert ledger.balance("user:2:wallet").posted_paise == -1600
            assert ledger.verify().ok
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            # The database itself refuses a balance below the overdraft limit.
            conn.execute(sa.text("UPDATE ledger_accounts SET overdraft_limit_paise = 0 "
                                 "WHERE code = 'user:2:wallet'"))
    finally:
        engine.dispose()
