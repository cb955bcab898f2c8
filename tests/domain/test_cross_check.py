"""Operators' cross-check of our records against the ledger (wallet.operations.bank_calls):
every kind of record that moves money must have its ledger entry."""
from __future__ import annotations

import pytest

from wallet.core.models import Transaction, User
from wallet.identity.accounts import AccountService
from wallet.operations.bank_calls import cross_check

from ..wallet_helpers import PIN, make_user, refunds, shop_payments_service, transfers_service


@pytest.fixture
def shop_and_payers(db):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, "+919812345678", "Ravi")
    with db() as session, session.begin():
        shop = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", "correct horse battery")
        payment = shop_payments_service(session).pay_merchant(
            session.get(User, asha), "chai-point", 120_00, "form-key-cross-000001",
            "masala chai", pin=PIN)
        transfer = transfers_service(session).send_money(
            session.get(User, asha), "9812345678", 50_00, "form-key-cross-000002", pin=PIN)
        return shop.id, payment.id, transfer.id, asha, ravi


def check(db) -> list[str]:
    with db() as session:
        return cross_check(session)


def test_clean_books_have_no_problems(db, shop_and_payers):
    assert check(db) == []


def test_a_shop_payment_without_its_ledger_entry_is_reported(db, app_engine, shop_and_payers):
    _, payment_id, _, _, _ = shop_and_payers
    with app_engine.begin() as conn:  # the record claims a payment the ledger never made
        conn.exec_driver_sql(
            f"UPDATE transactions SET ledger_entry_id = NULL WHERE id = {payment_id}")
    assert check(db) == [f"payment {payment_id} (completed): completed without a ledger entry"]


def test_a_recorded_shop_payment_that_never_reached_the_ledger_is_reported(db, shop_and_payers):
    shop_id, _, _, asha, _ = shop_and_payers
    with db() as session, session.begin():  # as if written without going through the domain
        first = session.get(Transaction, shop_and_payers[1])
        stray = Transaction(kind="payment", status="completed", amount_paise=75_00,
                            payer_user_id=asha, payee_merchant_id=shop_id, note="",
                            idempotency_key="payment:1:never-posted-000001",
                            created_at=first.created_at, updated_at=first.updated_at)
        session.add(stray)
        session.flush()
        stray_id = stray.id
    assert check(db) == [f"payment {stray_id} (completed): completed without a ledger entry"]


def test_a_payment_pointing_at_another_movements_entry_is_reported(db, app_engine,
                                                                   shop_and_payers):
    _, payment_id, transfer_id, _, _ = shop_and_payers
    with db() as session:
        transfer_entry = session.get(Transaction, transfer_id).ledger_entry_id
        payment_entry = session.get(Transaction, payment_id).ledger_entry_id
    with app_engine.begin() as conn:  # swap the two records' entries
        conn.exec_driver_sql(f"UPDATE transactions SET ledger_entry_id = NULL "
                             f"WHERE id IN ({payment_id}, {transfer_id})")
        conn.exec_driver_sql(f"UPDATE transactions SET ledger_entry_id = {transfer_entry} "
                             f"WHERE id = {payment_id}")
        conn.exec_driver_sql(f"UPDATE transactions SET ledger_entry_id = {payment_entry} "
                             f"WHERE id = {transfer_id}")
    problems = check(db)
    assert len(problems) == 2
    assert problems[0].startswith(f"payment {payment_id} (completed): its ledger entry "
                                  f"{transfer_entry} is not the entry {payment_entry}")
    assert problems[1].startswith(f"transfer {transfer_id} (completed): its ledger entry")


def test_a_refund_without_its_ledger_entry_is_reported(db, app_engine, shop_and_payers):
    from wallet.core.models import Merchant

    shop_id, payment_id, _, asha, _ = shop_and_payers
    with db() as session, session.begin():
        refund = refunds(session).refund(session.get(Merchant, shop_id), payment_id, 20_00,
                                         "form-key-cross-refund1", "cold chai")
        refund_tx = refund.transaction_id
    assert check(db) == []  # a refund with its entry is clean
    with app_engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE transactions SET ledger_entry_id = NULL WHERE id = {refund_tx}")
    assert check(db) == [f"refund {refund_tx} (completed): completed without a ledger entry"]
    with app_engine.begin() as conn:  # pointing at the payment's entry instead
        conn.exec_driver_sql(
            f"UPDATE transactions SET ledger_entry_id = NULL WHERE id = {payment_id}")
        conn.exec_driver_sql(
            f"UPDATE transactions SET ledger_entry_id = (SELECT id FROM ledger_entries WHERE "
            f"idempotency_key = 'payment:{asha}:form-key-cross-000001') WHERE id = {refund_tx}")
    problems = check(db)
    assert problems[0] == f"payment {payment_id} (completed): completed without a ledger entry"
    assert problems[1].startswith(f"refund {refund_tx} (completed): its ledger entry")
