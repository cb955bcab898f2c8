"""wallet-admin: verification with cross-checks, needs_review handling, stuck
deposits and bank reconciliation, run as the CLI against a live fake bank."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select

import fake_bank
from fake_bank.models import Payment
from wallet.banking.models import PayoutAttempt
from wallet.banking.payouts import PayoutPolicy
from wallet.core.models import Transaction, User
from wallet_cli.admin import main as admin

from ..live_servers import http, serving
from ..wallet_helpers import (
    PIN,
    TEST_BANKS,
    balance,
    deposit_service,
    make_user,
    payout_processor,
    transfers_service,
    withdrawal_service,
    write_ini,
)
from .test_withdrawals import ScriptedBank

FAST = PayoutPolicy(lease_s=30, retry_budget=2, backoff_base_s=0, backoff_cap_s=0)


@pytest.fixture
def bank(tmp_path, web_settings):
    settings = {**web_settings, "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'bank.db'}",
                "fake_bank.webhook_url": "http://127.0.0.1:9/webhooks/{bank}",
                "fake_bank.sender": "off", "fake_bank.allow_overrides": "true"}
    app = fake_bank.main({}, **settings)
    with serving(app) as url:
        yield app, url
    app.registry["fb.session_factory"].kw["bind"].dispose()


@pytest.fixture
def ini(tmp_path, web_settings, bank):
    _, url = bank
    return write_ini(tmp_path / "admin.ini", {
        **web_settings, "banks.hdfc.api_url": f"{url}/hdfc/api",
        "banks.hdfc.netbanking_url": f"{url}/hdfc/netbanking"})


@pytest.fixture
def activity(db, runner):
    """A deposit, a transfer and a completed withdrawal."""
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, "+919812345678", "Ravi")
    with db() as session, session.begin():
        transfers_service(session).send_money(session.get(User, asha), "9812345678", 100_00,
                                          "form-key-admin-000001", pin=PIN)
        tx = withdrawal_service(session, TEST_BANKS).request(
            session.get(User, asha), "hdfc", "50100012345678", "HDFC0001234", 200_00,
            "form-key-admin-000002", pin=PIN)
    payout_processor(runner, TEST_BANKS, ScriptedBank(), FAST).drain(asha, "w")
    return asha, ravi, tx.id


def test_verify_is_clean_then_reports_a_corrupted_balance_row(ini, activity, app_engine,
                                                              capsys):
    assert admin([ini, "verify"]) == 0
    assert "ledger OK" in capsys.readouterr().out
    asha, _, _ = activity
    with app_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE ledger_accounts SET posted_paise = posted_paise + 100 "
                             f"WHERE code = 'user:{asha}:wallet'")
    assert admin([ini, "verify"]) == 1
    out = capsys.readouterr().out
    assert "ledger BROKEN" in out and f"user:{asha}:wallet: stored posted balance" in out


def test_verify_cross_checks_records_against_the_ledger(ini, activity, app_engine, capsys):
    _, _, withdrawal_id = activity
    with app_engine.begin() as conn:  # a record that lies about what the ledger did
        conn.exec_driver_sql(
            f"UPDATE transactions SET status = 'failed' WHERE id = {withdrawal_id}")
    assert admin([ini, "verify"]) == 1
    out = capsys.readouterr().out
    assert "ledger OK" in out
    assert f"withdrawal {withdrawal_id} (failed): its hold is committed, expected released" in out


def needs_review(db, runner, user_id, key="form-key-review-0001", sends=("timeout",)):
    with db() as session, session.begin():
        tx_id = withdrawal_service(session, TEST_BANKS).request(
            session.get(User, user_id), "hdfc", "50100012345678", "HDFC0001234", 300_00, key,
            pin=PIN).id
    bank = ScriptedBank(sends=list(sends), statuses=["down"] * 5)
    payout_processor(runner, TEST_BANKS, bank, FAST, rng=random.Random(0)).drain(user_id, "w")
    with db() as session:
        assert session.get(Transaction, tx_id).status == "needs_review"
    return tx_id


def test_needs_review_listing_and_retry(ini, db, runner, capsys):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    tx_id = needs_review(db, runner, asha)
    assert admin([ini, "withdrawals", "--status", "needs_review"]) == 0
    out = capsys.readouterr().out
    assert any(line.split()[:3] == [str(tx_id), "needs_review", "+919876543210"]
               for line in out.splitlines())
    assert "1 withdrawal(s)" in out
    assert admin([ini, "retry", str(tx_id)]) == 0
    with db() as session:
        assert session.get(Transaction, tx_id).status == "queued"
        kinds = [a.kind for a in session.scalars(select(PayoutAttempt).where(
            PayoutAttempt.transaction_id == tx_id))]
    assert kinds[-1] == "operator"
    # A fresh budget; the worker asks the bank before anything else.
    bank = ScriptedBank(statuses=[None])
    payout_processor(runner, TEST_BANKS, bank, FAST).drain(asha, "w")
    assert bank.calls[0] == ("status", f"wd_{tx_id}")
    assert admin([ini, "retry", str(tx_id)]) == 1  # no longer needs review


def test_resolve_checks_the_bank_first(ini, db, runner, bank, capsys):
    app, url = bank
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    unpaid = needs_review(db, runner, asha, "form-key-review-0001")
    # The bank never got it: "paid" is refused, "not paid" releases the money.
    assert admin([ini, "resolve", str(unpaid), "--paid"]) == 1
    assert "refusing" in capsys.readouterr().err
    assert admin([ini, "resolve", str(unpaid), "--not-paid"]) == 0
    assert balance(db, asha) == (1_000_00, 0)

    paid = needs_review(db, runner, asha, "form-key-review-0002")
    reply = http("POST", f"{url}/hdfc/api/payouts", headers={
        "Authorization": f"Bearer {TEST_BANKS['hdfc'].api_key}"}, body=(
        f'{{"reference": "wd_{paid}", "amount_paise": 30000, "account_number": '
        f'"50100012345678", "ifsc": "HDFC0001234"}}'))
    assert reply.status == 200  # the bank did pay it
    assert admin([ini, "resolve", str(paid), "--not-paid"]) == 1
    assert admin([ini, "resolve", str(paid), "--paid"]) == 0
    with db() as session:
        assert session.get(Transaction, paid).status == "completed"
    assert balance(db, asha) == (700_00, 0)
    assert admin([ini, "verify"]) == 0


def test_stuck_deposits(ini, db, capsys):
    asha = make_user(db, "+919876543210", "Asha")
    with db() as session, session.begin():
        deposit_service(session, TEST_BANKS).start(session.get(User, asha), "hdfc", 50_00,
                                                  "form-key-stuck-00001")
    assert admin([ini, "deposits", "--stuck", "--minutes", "10"]) == 0  # still young
    assert admin([ini, "deposits", "--stuck", "--minutes", "0"]) == 1
    assert "1 deposit(s)" in capsys.readouterr().out


def test_reconcile_matches_then_finds_what_only_the_bank_has(ini, db, bank, capsys):
    app, url = bank
    asha = make_user(db, "+919876543210", "Asha")
    with db() as session, session.begin():
        token = deposit_service(session, TEST_BANKS).start(
            session.get(User, asha), "hdfc", 250_00, "form-key-recon-00001").token
    http("GET", f"{url}/hdfc/netbanking?reference={token}&amount_paise=25000"
                "&return_url=http://127.0.0.1/x")
    http("POST", f"{url}/hdfc/netbanking/{token}", form={"action": "approve", "customer_id": "1"})
    with db() as session, session.begin():
        deposit_service(session, TEST_BANKS).settle(
            token, "success", bank_code="hdfc", amount_paise=250_00, currency="INR",
            source="test")
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=5, minutes=30))).date().isoformat()
    assert admin([ini, "reconcile", "--bank", "hdfc", "--date", today]) == 0
    assert "no mismatches" in capsys.readouterr().out

    # The bank took money for a reference we never issued.
    http("GET", f"{url}/hdfc/netbanking?reference=stranger-ref-000001&amount_paise=999"
                "&return_url=http://127.0.0.1/x")
    http("POST", f"{url}/hdfc/netbanking/stranger-ref-000001",
         form={"action": "approve", "customer_id": "1"})
    assert admin([ini, "reconcile", "--bank", "hdfc", "--date", today]) == 1
    out = capsys.readouterr().out
    assert "stranger-ref-000001" in out and "missing in our books" in out
    with app.registry["fb.session_factory"]() as session:
        assert session.scalar(select(Payment.status).where(
            Payment.reference == token)) == "approved"
