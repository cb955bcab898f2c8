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
    DebitStatus,
    Delivery,
    DisputeReason,
    DisputeStatus,
    Event,
    FraudHoldStatus,
    Kind,
    KycLevel,
    LinkAmountMode,
    LinkStatus,
    MandateFrequency,
    MandateStatus,
    MoneyRequestStatus,
    OtpPurpose,
    OtpStatus,
    PasskeyPurpose,
    RequestStatus,
    RunStatus,
    ScheduleFrequency,
    ScheduleStatus,
    SettlementMode,
    SettlementStatus,
    SettlementTrigger,
    SplitMode,
    SplitStatus,
    StaffStatus,
    Status,
    TicketActor,
    TicketCategory,
    TicketEventKind,
    TicketStatus,
    TransferHoldStatus,
)
from wallet.db import target_metadata
from wallet.merchants.roles import Role

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
    ("mandates", "status"): MandateStatus,
    ("mandates", "frequency"): MandateFrequency,
    ("mandate_debits", "status"): DebitStatus,
    # Scheduled payments (migration a1b7c0de2602).
    ("payment_schedules", "status"): ScheduleStatus,
    ("payment_schedules", "frequency"): ScheduleFrequency,
    ("schedule_runs", "status"): RunStatus,
    # Users' tickets (migration a1b7c0de2801).
    ("tickets", "category"): TicketCategory,
    ("tickets", "status"): TicketStatus,
    ("ticket_events", "kind"): TicketEventKind,
    ("ticket_events", "actor"): TicketActor,
    # Fraud reported on a transfer (migration a1b7c0de2805).
    ("fraud_holds", "status"): FraudHoldStatus,
    # Disputes of shop payments (migration a1b7c0de2803).
    ("disputes", "status"): DisputeStatus,
    ("disputes", "reason"): DisputeReason,
    # A first payment held for its undo window (migration a1b7c0de2802).
    ("transfer_holds", "status"): TransferHoldStatus,
    # Payment links (migration a1b7c0de2906).
    ("payment_links", "status"): LinkStatus,
    ("payment_links", "amount_mode"): LinkAmountMode,
    # Shops' automatic settlement (migration a1b7c0de2908).
    ("settlement_schedules", "mode"): SettlementMode,
    ("settlements", "trigger"): SettlementTrigger,
    ("settlements", "status"): SettlementStatus,
    # The people of a shop (migration a1b7c0de2903).
    ("merchant_staff", "role"): Role,
    ("merchant_staff", "status"): StaffStatus,
    # Passkeys' challenges (migration a1b7c0de3005).
    ("passkey_challenges", "purpose"): PasskeyPurpose,
    # Phones verified by a one-time code (migration a1b7c0de3001).
    ("otp_codes", "purpose"): OtpPurpose,
    ("otp_codes", "status"): OtpStatus,
}
#: Columns a table's other CHECKs need set, so that only the vocabulary's fails.
OTHER_CHECKS = {"payment_schedules": {"payee_user_id": 1}, "transfer_holds": {"transaction_id": 1},
                "payment_links": {"amount_paise": 1}, "merchant_staff": {"email": "x"}}
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


def _frozen_lists() -> dict[tuple[str, str], set[str]]:
    """Each vocabulary's words as the latest migration that froze it lists them
    (a migration's ``FROZEN``; file names sort by date)."""
    latest: dict[tuple[str, str], set[str]] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        if "FROZEN = " not in path.read_text():
            continue
        spec = importlib.util.spec_from_file_location(f"frozen_{path.stem}", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        latest.update({key: set(words) for key, words in migration.FROZEN.items()})
    return latest


def test_the_new_migration_lists_are_the_enums():
    frozen = _frozen_lists()
    assert frozen == {key: {m.value for m in VOCABULARIES[key]} for key in frozen}


def _row(table: sa.Table, column: str, word: str) -> dict[str, object]:
    """A row that breaks no rule of ``table`` but the one on ``column``."""
    row: dict[str, object] = {}
    for col in table.columns:
        if col.nullable or col.primary_key:
            continue
        python_type = getattr(col.type, "impl", col.type).python_type
        row[col.name] = (NOW if python_type is dt.datetime else False if python_type is bool
                         else 1 if python_type is int else NOW.date()
                         if python_type is dt.date else "x")
    row.update(OTHER_CHECKS.get(table.name, {}))
    for (name, other), vocabulary in VOCABULARIES.items():
        if name == table.name:
            row[other] = next(iter(vocabulary)).value
    if table.name == "mandates":  # (its other rule: it ends after it starts)
        row["ends_at"] = NOW + dt.timedelta(days=1)
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
