"""The stuck-deposit sweeper: asks the bank, settles exactly once."""
from __future__ import annotations

import datetime as dt
import threading

import webtest
from sqlalchemy import select

import huey_tasks
import ledgerlib
import webhook_app
from wallet.banking.bank_client import BankUnavailable
from wallet.core.models import Transaction, User
from wallet.services import Background

from ..conftest import dispose_app_engine
from ..wallet_helpers import TEST_BANKS, balance, deposit_service, sweep_stuck_deposits
from .test_webhooks import BANK_IP, HDFC_SECRET, event, sign

NOW = dt.timedelta(0)


class StubBank:
    """Answers the status API from a dict: reference -> record, None, or an exception."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, bank):  # used as client_for(bank)
        return self

    def payment_status(self, reference):
        self.asked.append(reference)
        answer = self.answers.get(reference)
        if isinstance(answer, Exception):
            raise answer
        return answer


def start(db, user_id, amount_paise=100_00, key="form-key-000000000001") -> str:
    with db() as session, session.begin():
        return deposit_service(session, TEST_BANKS).start(
            session.get(User, user_id), "hdfc", amount_paise, key).token


def status_of(db, token):
    with db() as session:
        return session.scalar(select(Transaction.status).where(Transaction.token == token))


def record(status, amount_paise=100_00, currency="INR"):
    return {"status": status, "amount_paise": amount_paise, "currency": currency}


def test_sweeper_settles_from_the_bank_status(db, runner, user_id):
    approved = start(db, user_id, key="form-key-000000000001")
    declined = start(db, user_id, key="form-key-000000000002")
    never_paid = start(db, user_id, key="form-key-000000000003")
    still_open = start(db, user_id, key="form-key-000000000004")
    bank_down = start(db, user_id, key="form-key-000000000005")
    stub = StubBank({approved: record("approved"), declined: record("declined"),
                     never_paid: None, still_open: record("pending"),
                     bank_down: BankUnavailable("503")})
    counts = sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW,
                                  expire_after=dt.timedelta(hours=1))
    assert counts == {"checked": 5, "settled": 2, "still_pending": 2, "bank_unavailable": 1}
    assert [status_of(db, t) for t in (approved, declined, never_paid, still_open, bank_down)] == [
        "success", "failed", "pending", "pending", "pending"]
    counts = sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW, expire_after=NOW)
    assert counts == {"checked": 3, "settled": 2, "still_pending": 0, "bank_unavailable": 1}
    assert [status_of(db, t) for t in (never_paid, still_open, bank_down)] == [
        "failed", "failed", "pending"]
    assert balance(db, user_id) == (100_00, 0)

    # Another sweep touches only what is still pending, and credits nothing twice.
    stub.asked.clear()
    sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW, expire_after=NOW)
    assert stub.asked == [bank_down]
    assert balance(db, user_id) == (100_00, 0)


def test_sweeper_leaves_young_and_flagged_deposits_alone(db, runner, user_id):
    token = start(db, user_id)
    stub = StubBank({token: record("approved")})
    assert sweep_stuck_deposits(runner, TEST_BANKS, stub)["checked"] == 0  # 10 minutes default
    stub.answers[token] = record("approved", amount_paise=1)  # the bank disagrees on amount
    sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW)
    assert status_of(db, token) == "pending" and balance(db, user_id) == (0, 0)
    stub.asked.clear()
    sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW)
    assert stub.asked == []  # flagged for a human: not retried forever


def test_webhook_and_sweeper_settle_the_same_deposit_at_once(web_settings, db, runner, user_id):
    """Credited exactly once, whichever wins (a real race on PostgreSQL)."""
    for round_ in range(5):
        token = start(db, user_id, key=f"form-key-race-{round_:08d}")
        app = webhook_app.main({}, **web_settings)
        client = webtest.TestApp(app)
        body = event(token, amount_paise=100_00)
        barrier = threading.Barrier(2)
        results = {}

        # (defaults bind this round's values: both threads finish within the round)
        def webhook(barrier=barrier, results=results, client=client, body=body, round_=round_):
            barrier.wait()
            results["webhook"] = client.post(
                "/webhooks/hdfc", body, status="*", extra_environ={"REMOTE_ADDR": BANK_IP},
                headers={"Content-Type": "application/json", "X-Bank-Event-Id": f"evt_{round_}",
                         "X-Bank-Signature": sign(HDFC_SECRET, body)}).status_int

        def sweeper(barrier=barrier, results=results, token=token):
            barrier.wait()
            results["sweeper"] = sweep_stuck_deposits(
                runner, TEST_BANKS, StubBank({token: record("approved")}), older_than=NOW)

        threads = [threading.Thread(target=webhook), threading.Thread(target=sweeper)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        dispose_app_engine(app)
        assert results["webhook"] == 200
        assert balance(db, user_id) == ((round_ + 1) * 100_00, 0)
        with db() as session:
            assert ledgerlib.Ledger(session).find_entry(f"onramp:{token}") is not None
            assert ledgerlib.verify(session).ok


def test_the_periodic_huey_task_runs_the_sweeper(web_settings, db, user_id, monkeypatch):
    token = start(db, user_id)
    huey_tasks.worker.configure({**web_settings, "wallet.deposit_stuck_after_s": "0"})
    stub = StubBank({token: record("approved")})
    monkeypatch.setattr(Background, "bank_client", lambda self, bank: stub(bank))
    try:
        counts = huey_tasks.deposits.sweep_stuck_deposits.call_local()
    finally:
        huey_tasks.worker.configure({})
    assert counts["settled"] == 1
    assert balance(db, user_id) == (100_00, 0)
    assert huey_tasks.deposits.sweep_stuck_deposits.task_class.__name__ in str(
        list(huey_tasks.huey._registry._registry))


def test_unknown_at_the_bank_is_failed_only_after_the_expiry(db, runner, user_id):
    token = start(db, user_id)
    stub = StubBank({token: None})
    sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW)  # 1 hour by default
    assert status_of(db, token) == "pending"  # the customer may still be on the way
    sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW, expire_after=NOW)
    assert status_of(db, token) == "failed"


def test_left_pending_at_the_bank_is_given_up_at_the_promised_time(db, runner, user_id):
    """The bank's page was opened and abandoned: the bank says "pending" for
    ever, and the deposit waited for ever although its page promised a time."""
    token = start(db, user_id)
    stub = StubBank({token: record("pending")})
    sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW)  # within the hour
    assert status_of(db, token) == "pending"
    sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW, expire_after=NOW)
    assert status_of(db, token) == "failed" and balance(db, user_id) == (0, 0)
    # Paid at the bank after all (its webhook, late): the wallet gets it.
    with db() as session, session.begin():
        result = deposit_service(session, TEST_BANKS).settle(
            token, "success", bank_code="hdfc", amount_paise=100_00, currency="INR",
            source="webhook")
        assert result.verdict == "credited", result
    assert status_of(db, token) == "success" and balance(db, user_id) == (100_00, 0)


def test_abandoned_checkouts_cannot_starve_a_paid_deposit(db, runner, user_id):
    abandoned = [start(db, user_id, key=f"form-key-abandon-{i:06d}") for i in range(6)]
    paid = start(db, user_id, key="form-key-paid-0000001")
    stub = StubBank({**{t: record("pending") for t in abandoned}, paid: record("approved")})
    for _ in range(2):  # batches of 5: the paid one is reached on the second sweep
        sweep_stuck_deposits(runner, TEST_BANKS, stub, older_than=NOW, batch=5)
    assert status_of(db, paid) == "success"
    assert balance(db, user_id) == (100_00, 0)
