"""Each bank's settlement account split into shards (wallet.banking.settlement): where
money goes, that the shards sum to the bank's position, that an old database's
single account stays counted, and that concurrent deposits take different rows."""
from __future__ import annotations

import dataclasses
import itertools
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

import ledgerlib
from wallet.banking import settlement
from wallet.banking.banks import load_banks
from wallet.core import codes
from wallet.core.models import User
from wallet.db import WalletSession
from wallet.money.errors import InsufficientBalance
from wallet.operations.bank_calls import cross_check, verify_all
from wallet.settings import ConfigurationError
from wallet_cli import admin

from ..conftest import BANK_SETTINGS, ON_POSTGRES
from ..wallet_helpers import (
    PIN,
    TEST_BANKS,
    deposit_service,
    make_user,
    payout_processor,
    withdrawal_service,
    write_ini,
)
from .test_withdrawals import FAST, ScriptedBank

KEYS = itertools.count()


def banks_with(shards: int):
    return {code: dataclasses.replace(bank, settlement_shards=shards)
            for code, bank in TEST_BANKS.items()}


def deposit(db, user_id: int, amount_paise: int, shards: int, key: str) -> str:
    """A deposit settled at once; returns the settlement shard it went through."""
    with db() as session, session.begin():
        tx = deposit_service(session, banks_with(shards)).record_completed(
            session.get(User, user_id), "hdfc", amount_paise, key)
        entry = ledgerlib.Ledger(session).get_entry(tx.ledger_entry_id)
        return next(p.account_code for p in entry.postings
                    if codes.settlement_bank(p.account_code))


def books_clean(db) -> None:
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger.problems, result.records)


# -------------------------------------------------------------- names, settings


def test_shard_codes_and_their_bank():
    assert codes.bank_settlement("hdfc") == "bank:hdfc:settlement"  # shard 0: the old code
    assert codes.bank_settlement("hdfc", 7) == "bank:hdfc:settlement:7"
    for code, bank in [("bank:hdfc:settlement", "hdfc"), ("bank:sbi_2:settlement:12", "sbi_2"),
                       ("bank:hdfc:settlement:0", None), ("bank:hdfc:settlementx", None),
                       ("user:1:wallet", None), ("bank:hdfc:settlement:1:2", None)]:
        assert codes.settlement_bank(code) == bank, code


def test_shard_count_is_a_setting_per_bank_with_a_default():
    assert load_banks(BANK_SETTINGS)["hdfc"].settlement_shards == 8
    banks = load_banks({**BANK_SETTINGS, "banks.settlement_shards": "4",
                        "banks.axis.settlement_shards": "16"})
    assert (banks["hdfc"].settlement_shards, banks["axis"].settlement_shards) == (4, 16)
    for bad in ("0", "-1", "two", "1001", "2.5"):
        with pytest.raises(ConfigurationError, match="settlement_shards"):
            load_banks({**BANK_SETTINGS, "banks.hdfc.settlement_shards": bad})


def test_a_reference_always_has_the_same_home_shard():
    assert settlement.home_shard("wd_42", 8) == settlement.home_shard("wd_42", 8)
    spread = {settlement.home_shard(f"wd_{n}", 8) for n in range(200)}
    assert spread == set(range(8))


# --------------------------------------------------------- money and positions


def test_deposits_spread_over_the_shards_which_sum_to_the_position(db):
    user_id = make_user(db, "+919876543210", "Asha")
    used = {deposit(db, user_id, 100_00 + n, 8, f"spread-deposit-{n:06d}") for n in range(40)}
    assert len(used) >= 5 and all(codes.settlement_bank(code) == "hdfc" for code in used)
    total = sum(100_00 + n for n in range(40))
    with db() as session:
        assert settlement.position(session, "hdfc") == total
        assert settlement.positions(session) == {"hdfc": total}
        assert settlement.expected_positions(session) == {"hdfc": total}
    books_clean(db)


def test_an_old_single_account_stays_counted_as_shard_zero(db):
    """A database of the one-account days: its balance is shard 0's, and new
    deposits and payouts through other shards add to the same position."""
    user_id = make_user(db, "+919876543210", "Asha")
    for n in range(3):  # as before the split: one account per bank
        assert deposit(db, user_id, 200_00, 1, f"old-deposit-{n:06d}") == "bank:hdfc:settlement"
    for n in range(10):
        deposit(db, user_id, 10_00, 8, f"new-deposit-{n:06d}")
    with db() as session, session.begin():
        withdrawal_service(session, banks_with(8)).request(
            session.get(User, user_id), "hdfc", "50100012345678", "HDFC0001234", 50_00,
            "withdraw-key-0000001", pin=PIN)

    def run(fn):
        with db() as session, session.begin():
            return fn(session)

    payout_processor(run, banks_with(8), ScriptedBank(), FAST).drain(user_id, "w1")
    with db() as session:
        shards = settlement.shard_balances(session)["hdfc"]
        assert shards["bank:hdfc:settlement"] >= 600_00
        assert settlement.position(session, "hdfc") == 600_00 + 100_00 - 50_00
    books_clean(db)


def test_the_cross_check_and_wallet_admin_catch_a_position_that_drifts(db, tmp_path,
                                                                        app_db_url, capsys):
    user_id = make_user(db, "+919876543210", "Asha", deposit_paise=300_00)
    ini = write_ini(tmp_path / "admin.ini", {**BANK_SETTINGS, "sqlalchemy.url": app_db_url})
    assert admin.main([ini, "positions"]) == 0
    assert "hdfc" in capsys.readouterr().out
    with db() as session, session.begin():  # money moved by hand, no record of it
        ledger = ledgerlib.Ledger(session)
        ledger.open_account("bank:hdfc:settlement:3", "asset", allow_negative=True)
        ledger.transfer("bank:hdfc:settlement:3", codes.user_wallet(user_id), 1_00)
    with db() as session:
        assert cross_check(session) == [
            "bank hdfc: settlement shards sum to 30100 but our records say 30000"]
    assert admin.main([ini, "positions"]) == 1
    assert "MISMATCH" in capsys.readouterr().out


# ------------------------------------------------------------------ property


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(shards=st.integers(1, 6),
       ops=st.lists(st.tuples(st.sampled_from(["deposit", "accepted", "rejected", "reversed"]),
                              st.integers(0, 2), st.integers(1_00, 400_00)),
                    min_size=1, max_size=8))
def test_shard_sums_equal_the_bank_position_after_random_deposits_and_payouts(
        db, shards, ops):
    """Whatever the mix (and the shard count, changed between examples), the
    shards sum to what came in less what was paid out, and the books verify."""
    users = getattr(db, "users", None)
    if users is None:
        users = db.users = [make_user(db, f"+91987654321{n}", f"User {n}") for n in range(3)]
    banks = banks_with(shards)

    def run(fn):
        with db() as session, session.begin():
            return fn(session)

    for kind, who, amount in ops:
        key = f"prop-{kind}-{next(KEYS):012d}"  # examples share the database: never reused
        user_id = users[who]
        if kind == "deposit":
            deposit(db, user_id, amount, shards, key)
            continue
        try:
            with db() as session, session.begin():
                withdrawal_service(session, banks).request(
                    session.get(User, user_id), "hdfc", "50100012345678", "HDFC0001234",
                    amount, key, pin=PIN)
        except InsufficientBalance:
            continue
        payout_processor(run, banks, ScriptedBank(sends=[kind]), FAST).drain(user_id, "w")
    with db() as session:
        shards_now = settlement.shard_balances(session).get("hdfc", {})
        position = settlement.positions(session).get("hdfc", 0)
        assert sum(shards_now.values()) == position
        assert position == settlement.expected_positions(session).get("hdfc", 0)
        in_wallets = sum(ledgerlib.Ledger(session).balance(codes.user_wallet(u)).posted_paise
                         for u in users)
        assert position == in_wallets  # every paisa in a wallet came through the bank
    books_clean(db)


# ------------------------------------------------------ concurrency (PostgreSQL)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL-only")
def test_a_deposit_takes_another_shard_while_its_home_shard_is_busy(db, app_engine):
    """One transaction settles a deposit and stays open (its shard's row
    locked); another deposit starting from the same home shard goes through
    another shard at once instead of waiting for the first to commit."""
    asha = make_user(db, "+919876543210", "Asha")
    ravi = make_user(db, "+919812345678", "Ravi")
    banks = banks_with(8)
    with db() as session, session.begin():
        token = deposit_service(session, banks).start(
            session.get(User, asha), "hdfc", 100_00, "concurrent-deposit-0001").token
    holding = WalletSession(app_engine)
    holding.begin()
    try:
        settled = deposit_service(holding, banks).settle(
            token, "success", bank_code="hdfc", amount_paise=100_00, currency="INR",
            source="test")
        entry = ledgerlib.Ledger(holding).get_entry(settled.transaction.ledger_entry_id)
        busy = next(p.account_code for p in entry.postings
                    if codes.settlement_bank(p.account_code))
        outcome = {}

        def second():
            with WalletSession(app_engine) as session, session.begin():
                session.execute(text("SET LOCAL lock_timeout = '5s'"))  # fail, never hang
                ledger = ledgerlib.Ledger(session)
                code = settlement.account_for(ledger, "hdfc", 8, token)  # same home shard
                ledger.transfer(code, codes.user_wallet(ravi), 1_00)
                outcome["code"] = code
                session.rollback()

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=15)
    finally:
        holding.rollback()
        holding.close()
    assert not thread.is_alive()
    assert "code" in outcome, "the second deposit waited for the busy shard (lock timeout)"
    assert outcome["code"] != busy and codes.settlement_bank(outcome["code"]) == "hdfc"
