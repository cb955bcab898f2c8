"""The database refuses a status (kind, outcome...) it does not know: a CHECK
per vocabulary column, each frozen in a migration, each equal to the code's
vocabulary today. Runs on SQLite and on PostgreSQL (WALLET_TEST_DATABASE_URL)."""
from __future__ import annotations

import datetime as dt
import importlib.util
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from wallet.core.codes import (
    AttemptKind,
    AttemptOutcome,
    Delivery,
    Event,
    Kind,
    KycLevel,
    MoneyRequestStatus,
    RequestStatus,
    SplitMode,
    SplitStatus,
    Status,
)
from wallet.db import target_metadata

#: (table, column) -> its vocabulary in the code.
VOCABULARIES = {
    ("transactions", "kind"): Kind,
    ("transactions", "status"): Status,
    ("payment_requests", "status"): RequestStatus,
    ("merchant_deliveries", "status"): Delivery,
    ("merchant_events", "type"): Event,
    ("payout_attempts", "kind"): AttemptKind,
    ("payout_attempts", "outcome"): AttemptOutcome,
    ("users", "kyc_level"): KycLevel,
    # Users' money requests and split bills (migration a1b7c0de2601).
    ("money_requests", "status"): MoneyRequestStatus,
    ("splits", "mode"): SplitMode,
    ("splits", "status"): SplitStatus,
}
VERSIONS = Path(__file__).resolve().parents[2] / "wallet" / "alembic" / "versions"
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.timezone.utc)


def _table(name: str) -> sa.Table:
    return next(md.tables[name] for md in target_metadata if name in md.tables)


def _words_checked(engine: sa.Engine, table: str, column: str) -> set[str]:
    """The words the database's CHECK on ``table.column`` allows, as it has it."""
    checks = {c["name"]: c["sqltext"] for c in sa.inspect(engine).get_check_constraints(table)}
    return set(re.findall(r"'([^']*)'", checks[f"ck_{table}_{column}"]))


def test_the_migrations_froze_todays_vocabularies(app_engine):
    for (table, column), vocabulary in VOCABULARIES.items():
        assert _words_checked(app_engine, table, column) == {m.value for m in vocabulary}, (
            f"{table}.{column}: a vocabulary change needs a migration of its CHECK")


def test_the_new_migration_lists_are_the_enums():
    path = next(VERSIONS.glob("*_a1b7c0de2401_*.py"))
    spec = importlib.util.spec_from_file_location("vocabulary_checks", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert {key: set(words) for key, words in migration.FROZEN.items()} == {
        key: {m.value for m in VOCABULARIES[key]} for key in migration.FROZEN}


def _row(table: sa.Table, column: str, word: str) -> dict[str, object]:
    """A row that breaks no rule of ``table`` but the one on ``column``."""
    row: dict[str, object] = {}
    for col in table.columns:
        if col.nullable or col.primary_key:
            continue
        python_type = getattr(col.type, "impl", col.type).python_type
        row[col.name] = (NOW if python_type is dt.datetime else False if python_type is bool
                         else 1 if python_type is int else "x")
    for (name, other), vocabulary in VOCABULARIES.items():
        if name == table.name:
            row[other] = next(iter(vocabulary)).value
    row[column] = word
    if table.name == "money_requests":  # (its other CHECK: nobody asks themselves)
        row["payer_user_id"] = 2
    return row


@pytest.mark.parametrize("key", list(VOCABULARIES), ids=".".join)
def test_an_unknown_word_is_refused(app_engine, key):
    table, column = key
    insert = sa.insert(_table(table))
    with pytest.raises(sa.exc.IntegrityError, match=f"ck_{table}_{column}"):
        with app_engine.begin() as conn:
            conn.execute(insert, _row(_table(table), column, "bogus"))
