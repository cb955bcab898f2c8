"""Races that SQLite hides: run on PostgreSQL with real concurrent transactions."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from wallet.core.models import Transaction, User
from wallet.identity.accounts import AccountService
from wallet.identity.errors import AccountError
from wallet.money.errors import InsufficientBalance

from ..wallet_helpers import PIN, balance, make_user, transfers_service, withdrawal_service

pytestmark = pytest.mark.postgres


def run_together(count: int, target) -> list:
    """Run ``target(i)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_same_form_submitted_concurrently_moves_money_once(db):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    make_user(db, "+919812345678", "Ravi")

    def submit(_):
        with db() as session, session.begin():
            sender = session.get(User, asha)
            return transfers_service(session).send_money(
                sender, "9812345678", 600_00, "same-form-key-123456", pin=PIN
            ).id

    ids = run_together(8, submit)
    assert all(isinstance(i, int) for i in ids), ids
    assert len(set(ids)) == 1
    assert balance(db, asha) == (400_00, 0)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Transaction)
                              .where(Transaction.kind == "transfer")) == 1


def test_different_forms_concurrently_never_overdraw(db):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, "+919812345678", "Ravi")

    def submit(i):
        with db() as session, session.begin():
            sender = session.get(User, asha)
            return transfers_service(session).send_money(
                sender, "9812345678", 300_00, f"form-key-{i:012d}", pin=PIN
            ).id

    results = run_together(8, submit)
    assert sum(isinstance(r, int) for r in results) == 3
    assert sum(isinstance(r, InsufficientBalance) for r in results) == 5
    assert balance(db, asha) == (100_00, 0) and balance(db, ravi) == (900_00, 0)


def test_concurrent_signups_for_one_phone_make_one_account(db):
    def signup(i):
        with db() as session, session.begin():
            return AccountService(session, bcrypt_rounds=4).signup(
                "9988776655", f"Meera {i}", "s3cret-pass"
            ).id

    results = run_together(6, signup)
    assert sum(isinstance(r, int) for r in results) == 1
    assert all(isinstance(r, (int, AccountError)) for r in results), results
    with db() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_same_withdrawal_form_submitted_concurrently_holds_once(db):

    from ..wallet_helpers import TEST_BANKS

    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)

    def submit(_):
        with db() as session, session.begin():
            return withdrawal_service(session, TEST_BANKS).request(
                session.get(User, asha), "hdfc", "50100012345678", "HDFC0001234", 300_00,
                "same-withdraw-key-0001", pin=PIN).id

    ids = run_together(6, submit)
    assert all(isinstance(i, int) for i in ids), ids
    assert len(set(ids)) == 1
    assert balance(db, asha) == (700_00, 300_00)


def test_parallel_password_guesses_cannot_exceed_the_limit(db):
    from wallet.core.models import LoginAttempt
    from wallet.identity.accounts import MAX_FAILURES_PER_PHONE
    from wallet.identity.errors import LoginThrottled

    make_user(db, "+919876543210", "Asha")

    def guess(i):
        with db() as session, session.begin():
            try:
                AccountService(session, bcrypt_rounds=4).authenticate(
                    "9876543210", f"wrong-{i}", f"198.51.100.{i}")
            except LoginThrottled:
                return "throttled"
            except AccountError:
                return "checked"

    results = run_together(20, guess)
    assert results.count("checked") <= MAX_FAILURES_PER_PHONE
    assert results.count("throttled") >= 20 - MAX_FAILURES_PER_PHONE
    with db() as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) <= 5
