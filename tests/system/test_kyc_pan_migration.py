"""Migration a1b7c0de2307 on a database with PANs in clear: each is sealed with
the settings' keys (as wallet.identity.pan_vault reads them), the clear column goes,
and two wallets with one PAN stop it; downgrading opens them again."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import ledgerlib

from ..conftest import ON_POSTGRES, TEST_PAN_SETTINGS, reset_postgres_schema, schema_url
from ..wallet_helpers import TEST_PAN_VAULT

BEFORE, REVISION = "a1b7c0de1801", "a1b7c0de2307"
SCHEMA = "pan_migration_tests"
T0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.timezone.utc)
PANS = {1: "AAAPV1234Q", 2: "BBBPK5678R", 3: "CCCPI9012S"}


@pytest.fixture
def url(tmp_path):
    if ON_POSTGRES:
        reset_postgres_schema(SCHEMA)
        return schema_url(SCHEMA)
    return f"sqlite:///{tmp_path / 'old.sqlite'}"


def alembic(url: str, **settings: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "wallet:alembic")
    config.attributes["settings"] = {"sqlalchemy.url": url, **settings}
    return config


def old_rows(url: str, pans: dict[int, str]) -> None:
    """Users and their KYC as the previous schema kept them (the PAN in clear)."""
    stamp = T0.replace(tzinfo=None) if url.startswith("sqlite") else T0
    engine = ledgerlib.create_engine(url)
    try:
        with engine.begin() as conn:
            for user_id, pan in pans.items():
                conn.execute(sa.text(
                    "INSERT INTO users (id, phone, name, password_hash, is_active, created_at, "
                    "kyc_level) VALUES (:id, :phone, :name, 'x', true, :t, 'full')"),
                    {"id": user_id, "phone": f"+91987654321{user_id}", "name": f"User {user_id}",
                     "t": stamp})
                conn.execute(sa.text(
                    "INSERT INTO kyc_records (user_id, name_on_pan, pan, date_of_birth, verifier, "
                    "reference, verified_at) VALUES (:id, :name, :pan, :born, 'old', 'r', :t)"),
                    {"id": user_id, "name": f"User {user_id}", "pan": pan,
                     "born": dt.date(1990, 1, user_id), "t": stamp})
    finally:
        engine.dispose()


def kyc_rows(url: str) -> list[dict]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(sa.text(
                "SELECT * FROM kyc_records ORDER BY user_id")).mappings()]
    finally:
        engine.dispose()


def test_stored_pans_are_sealed_with_the_settings_keys(url):
    command.upgrade(alembic(url), BEFORE)
    old_rows(url, PANS)
    command.upgrade(alembic(url, **TEST_PAN_SETTINGS), REVISION)
    rows = kyc_rows(url)
    assert [row["user_id"] for row in rows] == [1, 2, 3]
    for row in rows:
        pan = PANS[row["user_id"]]
        assert "pan" not in row and pan not in repr(row)
        assert row["pan_key_id"] == TEST_PAN_SETTINGS["wallet.pan_key_id"]
        assert row["pan_last4"] == pan[-4:]
        assert row["pan_fingerprint"] == TEST_PAN_VAULT.fingerprint(pan)
        assert TEST_PAN_VAULT.open(row["pan_key_id"], bytes(row["pan_ciphertext"]),
                                   user_id=row["user_id"]) == pan
    # And back: the PANs in clear again (the keys needed once more).
    command.downgrade(alembic(url, **TEST_PAN_SETTINGS), BEFORE)
    assert {row["user_id"]: row["pan"] for row in kyc_rows(url)} == PANS


def test_stored_pans_need_the_keys(url):
    command.upgrade(alembic(url), BEFORE)
    old_rows(url, PANS)
    with pytest.raises(RuntimeError, match="WALLET_PAN_KEYS"):
        command.upgrade(alembic(url), REVISION)
    assert [row["pan"] for row in kyc_rows(url)] == list(PANS.values())  # nothing changed


def test_one_pan_on_two_wallets_stops_the_migration(url):
    command.upgrade(alembic(url), BEFORE)
    old_rows(url, {**PANS, 3: PANS[1]})
    with pytest.raises(RuntimeError, match=r"more than one wallet \(users \[\[1, 3\]\]\)"):
        command.upgrade(alembic(url, **TEST_PAN_SETTINGS), REVISION)
    assert [row["pan"] for row in kyc_rows(url)] == [PANS[1], PANS[2], PANS[1]]


def test_an_empty_table_needs_no_keys(url):
    command.upgrade(alembic(url), "head")
    assert kyc_rows(url) == []
