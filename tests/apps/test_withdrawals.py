"""Withdrawals: the request (hold + enqueue after commit) and the payout state
machine driven against a scripted bank."""
from __future__ import annotations

import datetime as dt
import random
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import huey_tasks
import ledgerlib
from wallet.banking import settlement
from wallet.banking.bank_client import BankUnavailable
from wallet.banking.models import PayoutAttempt
from wallet.banking.payouts import PayoutPolicy
from wallet.banking.withdrawals import Owner
from wallet.core.models import Transaction, User

from ..wallet_helpers import (
    PIN,
    TEST_BANKS,
    PinForm,
    balance,
    login,
    make_user,
    payout_processor,
    state,
    withdrawal_service,
)

FAST = PayoutPolicy(lease_s=30, retry_budget=3, backoff_base_s=0.0, backoff_cap_s=0.0)


@pytest.fixture
def user_id(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def withdraw(db, user_id, amount_paise, key, account="50100012345678", ifsc="HDFC0001234"):
    with db() as session, session.begin():
        return withdrawal_service(session, TEST_BANKS).request(
            session.get(User, user_id), "hdfc", account, ifsc, amount_paise, key, pin=PIN).id


def status(db, tx_id):
    with db() as session:
        return session.get(Transaction, tx_id).status


def attempts(db, tx_id):
    with db() as session:
        return [(a.kind, a.outcome) for a in session.scalars(
            select(PayoutAttempt).where(PayoutAttempt.transaction_id == tx_id)
            .order_by(PayoutAttempt.id))]


class ScriptedBank:
    """A bank whose answers are scripted per call; it pays each reference once."""

    def __init__(self, sends=(), statuses=()):
        self.sends, self.statuses = list(sends), list(statuses)
        self.paid: dict[str, int] = {}
        self.calls: list[tuple[str, str]] = []

    def __call__(self, bank):
        return self

    def send_payout(self, payload):
        self.calls.append(("send", payload["reference"]))
        answer = self.sends.pop(0) if self.sends else "accepted"
        if answer in ("accepted", "lost"):
            self.paid.setdefault(payload["reference"], payload["amount_paise"])
        if answer == "lost":  # paid, but the reply never arrives
            raise BankUnavailable("connection reset")
        if answer == "timeout":  # never reached the bank
            raise BankUnavailable("timed out")
        return {"status": answer, "reason": "account closed" if answer == "rejected" else ""}

    def payout_status(self, reference):
        self.calls.append(("status", reference))
        answer = self.statuses.pop(0) if self.statuses else None
        if answer == "down":
            raise BankUnavailable("503")
        if answer is None:
            return {"status": "accepted"} if reference in self.paid else None
        return {"status": answer}


def processor(runner, bank, policy=FAST):
    return payout_processor(runner, TEST_BANKS, bank, policy, rng=random.Random(1))


# ------------------------------------------------------------ the request


def test_withdraw_form_holds_money_and_enqueues_after_commit(user_app, db, user_id):
    huey_tasks.huey.flush()
    login(user_app, "+919876543210")
    form = PinForm(user_app.get("/withdraw").forms["withdraw-form"])
    form["account_number"], form["ifsc"], form["amount"] = "5010 0012 345678", "hdfc0001234", "400"
    response = form.submit(status=303)
    page = response.follow()
    assert "On its way" in page.text or "Queued" in page.text
    assert balance(db, user_id) == (600_00, 400_00)  # available drops at once
    assert "₹400.00 on hold" in user_app.get("/dashboard").text
    pending = huey_tasks.huey.pending()
    # The worker's task carries the request id the user's response was given.
    assert [task.args for task in pending] == [(f"user:{user_id}",
                                                response.headers["X-Request-Id"])]
    huey_tasks.huey.flush()


@pytest.mark.parametrize("field, value, message", [
    ("ifsc", "HDFC1234", "11-character IFSC"),
    ("account_number", "12ab", "9 to 18 digits"),
    ("amount", "1e3", "like 250 or 250.50"),
    ("amount", "0.50", "at least ₹1.00"),
    ("amount", "1000.01", "not enough to withdraw"),
])
def test_bad_withdrawals_write_and_enqueue_nothing(user_app, db, user_id, field, value, message):
    huey_tasks.huey.flush()
    login(user_app, "+919876543210")
    form = PinForm(user_app.get("/withdraw").forms["withdraw-form"])
    form["account_number"], form["ifsc"], form["amount"] = "50100012345678", "HDFC0001234", "10"
    form[field] = value
    before = state(db)
    assert message in form.submit(status=400).text
    assert state(db) == before
    assert huey_tasks.huey.pending_count() == 0


def test_double_submitted_withdrawal_holds_once(user_app, db, user_id):
    login(user_app, "+919876543210")
    form = PinForm(user_app.get("/withdraw").forms["withdraw-form"])
    form["account_number"], form["ifsc"], form["amount"] = "50100012345678", "HDFC0001234", "100"
    first, second = form.submit(status=303), form.submit(status=303)
    assert first.location == second.location
    assert balance(db, user_id) == (900_00, 100_00)
    huey_tasks.huey.flush()


def test_quick_repeated_withdrawals_never_exceed_the_balance(db, user_id):
    made = 0
    for i in range(8):
        try:
            withdraw(db, user_id, 300_00, f"form-key-rapid-{i:06d}")
            made += 1
        except Exception as exc:  # noqa: BLE001
            assert "not enough to withdraw" in str(exc)
    assert made == 3 and balance(db, user_id) == (100_00, 900_00)


def test_someone_elses_withdrawal_is_a_404(user_app, db, user_id):
    other = make_user(db, "+919812345678", "Ravi", deposit_paise=50_00)
    tx_id = withdraw(db, other, 10_00, "form-key-others-0001")
    login(user_app, "+919876543210")
    user_app.get(f"/withdrawals/{tx_id}", status=404)


# ----------------------------------------------------- the state machine


def test_accepted_payout_completes_and_moves_the_money_to_the_bank(db, runner, user_id):
    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    bank = ScriptedBank()
    assert processor(runner, bank).drain(user_id, "w1") is None
    assert status(db, tx_id) == "completed"
    assert balance(db, user_id) == (600_00, 0)
    assert attempts(db, tx_id) == [("send", "accepted")]
    with db() as session:
        assert settlement.position(session, "hdfc") == 600_00
        assert ledgerlib.verify(session).ok


def test_rejected_payout_fails_and_releases_the_hold(db, runner, user_id):
    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    processor(runner, ScriptedBank(sends=["rejected"])).drain(user_id, "w1")
    assert status(db, tx_id) == "failed"
    assert balance(db, user_id) == (1_000_00, 0)


def test_lost_reply_is_checked_not_resent(db, runner, user_id):
    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    bank = ScriptedBank(sends=["lost"])
    processor(runner, bank).drain(user_id, "w1")
    assert bank.calls == [("send", f"wd_{tx_id}"), ("status", f"wd_{tx_id}")]
    assert status(db, tx_id) == "completed" and balance(db, user_id) == (600_00, 0)


def test_timeout_before_the_bank_got_it_is_resent_after_a_status_check(db, runner, user_id):
    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    bank = ScriptedBank(sends=["timeout", "accepted"])
    processor(runner, bank).drain(user_id, "w1")
    assert [kind for kind, _ in bank.calls] == ["send", "status", "send"]
    assert attempts(db, tx_id) == [("send", "unknown"), ("status", "no_record"),
                                   ("send", "accepted")]
    assert status(db, tx_id) == "completed" and len(bank.paid) == 1


def test_retry_budget_spent_means_needs_review_with_the_hold_kept(db, runner, user_id):
    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    bank = ScriptedBank(sends=["timeout"], statuses=["down"] * 10)
    processor(runner, bank).drain(user_id, "w1")
    assert status(db, tx_id) == "needs_review"
    assert balance(db, user_id) == (600_00, 400_00)  # neither lost nor paid twice
    assert [o for _, o in attempts(db, tx_id)] == ["unknown"] * 3


def test_backoff_waits_and_the_drain_says_when(db, runner, user_id):
    withdraw(db, user_id, 400_00, "form-key-000000000001")
    slow = PayoutPolicy(lease_s=30, retry_budget=5, backoff_base_s=10, backoff_cap_s=60)
    wait_s = processor(runner, ScriptedBank(sends=["timeout"]), slow).drain(user_id, "w1")
    assert 5 <= wait_s <= 15  # 10 s with jitter


def test_a_worker_killed_after_the_bank_call_is_settled_by_the_next_run(db, runner, user_id):
    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    bank = ScriptedBank()
    dying = processor(runner, bank)
    # The worker writes its attempt, calls the bank (which pays) and dies before recording.
    assert dying.acquire_lane(user_id, "w1")
    plan = runner(lambda s: dying._plan(s, user_id))
    bank.send_payout(plan["request"])
    assert status(db, tx_id) == "sending"
    processor(runner, bank).drain(user_id, "w2")  # its lane lease is still held by w1...
    assert status(db, tx_id) == "sending"
    expired = payout_processor(
        runner, TEST_BANKS, bank, FAST, rng=random.Random(1),
        clock=lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5))
    expired.drain(user_id, "w2")  # ...until it expires
    assert status(db, tx_id) == "completed"
    assert bank.calls == [("send", f"wd_{tx_id}"), ("status", f"wd_{tx_id}")]
    assert balance(db, user_id) == (600_00, 0)


def test_one_user_is_processed_oldest_first_one_at_a_time(db, runner, user_id):
    ids = [withdraw(db, user_id, 100_00, f"form-key-seq-{i:08d}") for i in range(4)]
    bank = ScriptedBank()
    processor(runner, bank).drain(user_id, "w1")
    assert [ref for _, ref in bank.calls] == [f"wd_{i}" for i in ids]
    assert all(status(db, i) == "completed" for i in ids)


def test_only_one_sending_per_user_is_enforced_by_the_database(db, user_id):
    first = withdraw(db, user_id, 100_00, "form-key-000000000001")
    second = withdraw(db, user_id, 100_00, "form-key-000000000002")
    with db() as session, session.begin():
        session.get(Transaction, first).status = "sending"
    with pytest.raises(IntegrityError) as refused:
        with db() as session, session.begin():
            session.get(Transaction, second).status = "sending"
    assert (violated_unique_index(refused.value, db)
            == "uq_transactions_one_sending_withdrawal_per_user")
    with db() as session, session.begin():  # the first one done: the next may be sent
        session.get(Transaction, first).status = "completed"
        session.get(Transaction, second).status = "sending"


def violated_unique_index(error: IntegrityError, db) -> str:
    """The unique index a write broke: PostgreSQL names it; SQLite names its
    columns, so the one unique index on exactly those columns is looked up."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None:
        return diag.constraint_name
    found = re.fullmatch(r"UNIQUE constraint failed: (\w+)\.(\w+(?:, \w+\.\w+)*)",
                         str(error.orig))
    assert found, str(error.orig)
    table = found.group(1)
    columns = [c.split(".")[-1] for c in found.group(2).split(", ")]
    with db() as session:
        names = [index["name"] for index in sa.inspect(session.connection()).get_indexes(table)
                 if index["unique"] and index["column_names"] == columns]
    assert len(names) == 1, names
    return names[0]


def test_reversal_after_completion_refunds_once(db, runner, user_id):
    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    processor(runner, ScriptedBank()).drain(user_id, "w1")
    for _ in range(2):
        with db() as session, session.begin():
            outcome = withdrawal_service(session, TEST_BANKS).settle_by_reference(
                f"wd_{tx_id}", "reversed", bank_code="hdfc", amount_paise=400_00,
                currency="INR", source="webhook")
    assert outcome == "already_settled"
    assert status(db, tx_id) == "reversed" and balance(db, user_id) == (1_000_00, 0)
    with db() as session, session.begin():  # a late "rejected" does not flip it
        assert withdrawal_service(session, TEST_BANKS).settle(tx_id, "rejected") == "contradiction"
    with db() as session:
        assert ledgerlib.verify(session).ok


def test_stalled_withdrawals_are_found_for_resumption(db, runner, user_id):
    tx_id = withdraw(db, user_id, 100_00, "form-key-000000000001")
    later = payout_processor(runner, TEST_BANKS, ScriptedBank(), FAST,
                            clock=lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    assert later.owners_needing_work(dt.timedelta(minutes=2)) == [Owner("user", user_id)]
    assert processor(runner, ScriptedBank()).owners_needing_work(dt.timedelta(minutes=2)) == []
    processor(runner, ScriptedBank()).drain(user_id, "w1")
    assert status(db, tx_id) == "completed"
    assert later.owners_needing_work(dt.timedelta(minutes=2)) == []


def test_reversal_webhook_refunds_once_and_replays_change_nothing(web_settings, db, runner,
                                                                   user_id):
    import json

    import webtest

    import webhook_app

    from ..conftest import dispose_app_engine
    from .test_webhooks import post

    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    processor(runner, ScriptedBank()).drain(user_id, "w1")
    app = webhook_app.main({}, **web_settings)
    client = webtest.TestApp(app)
    body = json.dumps({"type": "payout.reversed", "reference": f"wd_{tx_id}",
                       "amount_paise": 400_00, "currency": "INR",
                       "reason": "beneficiary account closed"}).encode()
    first = post(client, body, event_id="evt_rev_1")
    assert (first.status_int, first.json["status"]) == (200, "applied")
    assert post(client, body, event_id="evt_rev_1").json["status"] == "duplicate_event"
    assert post(client, body, event_id="evt_rev_2").json["status"] == "already_settled"
    tampered = json.dumps({"type": "payout.reversed", "reference": f"wd_{tx_id}",
                           "amount_paise": 900_00, "currency": "INR"}).encode()
    assert post(client, tampered, event_id="evt_rev_3").status_int == 422
    assert post(client, body.replace(b"wd_", b"wd_9"), event_id="evt_rev_4").status_int == 404
    dispose_app_engine(app)
    assert status(db, tx_id) == "reversed"
    assert balance(db, user_id) == (1_000_00, 0)


def test_only_the_paying_bank_can_report_a_reversal(web_settings, db, runner, user_id):
    import json

    import webtest

    import webhook_app

    from ..conftest import dispose_app_engine
    from .test_webhooks import AXIS_SECRET, post

    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    processor(runner, ScriptedBank()).drain(user_id, "w1")  # paid by HDFC
    app = webhook_app.main({}, **web_settings)
    client = webtest.TestApp(app)
    body = json.dumps({"type": "payout.reversed", "reference": f"wd_{tx_id}",
                       "amount_paise": 400_00, "currency": "INR"}).encode()
    other_bank = post(client, body, bank="axis", ip="198.51.100.9", secret=AXIS_SECRET,
                      event_id="evt_x_1")
    assert other_bank.status_int == 404
    in_dollars = body.replace(b'"INR"', b'"USD"')
    assert post(client, in_dollars, event_id="evt_x_2").status_int == 422
    dispose_app_engine(app)
    assert status(db, tx_id) == "completed"
    assert balance(db, user_id) == (600_00, 0)


def test_a_worker_that_lost_its_lane_stops_before_calling_the_bank(db, runner, user_id):
    withdraw(db, user_id, 100_00, "form-key-000000000001")
    slow = processor(runner, ScriptedBank())
    assert slow.acquire_lane(user_id, "w1")
    later = payout_processor(
        runner, TEST_BANKS, ScriptedBank(), FAST,
        clock=lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5))
    assert later.acquire_lane(user_id, "w2")  # w1's lease expired, w2 took the lane
    bank = ScriptedBank()
    stale = payout_processor(runner, TEST_BANKS, bank, FAST)
    assert stale.run_one(user_id, "w1").kind == "busy"  # w1 notices and stops
    assert bank.calls == []


def test_a_late_unclear_answer_never_reopens_a_settled_payout(db, runner, user_id):
    tx_id = withdraw(db, user_id, 400_00, "form-key-000000000001")
    bank = ScriptedBank(sends=["timeout"])
    worker = processor(runner, bank)
    assert worker.acquire_lane(user_id, "w1")
    plan = runner(lambda s: worker._plan(s, user_id))
    with db() as session, session.begin():  # the bank's webhook wins the race
        withdrawal_service(session, TEST_BANKS).settle(tx_id, "rejected", source="webhook")
    runner(lambda s: worker._record(s, plan, "unknown", {"error": "timeout"}, 5000))
    assert status(db, tx_id) == "failed"
    assert balance(db, user_id) == (1_000_00, 0)


def test_a_bank_4xx_other_than_a_rejection_is_an_unknown_outcome():
    import io
    import urllib.error
    from unittest import mock

    from wallet.banking.bank_client import BankClient
    from wallet.core.observe import NO_OBSERVER

    client = BankClient(TEST_BANKS["hdfc"], timeout_s=5.0, observer=NO_OBSERVER)
    for code, body in [(409, b'{"status": "rejected", "reason": "reference reused"}'),
                       (401, b'{"error": "unauthorised"}'), (429, b"slow down"),
                       (422, b"not json")]:
        error = urllib.error.HTTPError("http://bank", code, "x", {}, io.BytesIO(body))
        with mock.patch("urllib.request.urlopen", side_effect=error):
            with pytest.raises(BankUnavailable):
                client.send_payout({"reference": "wd_1"})
    error = urllib.error.HTTPError("http://bank", 422, "x", {}, io.BytesIO(
        b'{"status": "rejected", "reason": "beneficiary account does not exist"}'))
    with mock.patch("urllib.request.urlopen", side_effect=error):
        assert client.send_payout({"reference": "wd_1"})["status"] == "rejected"


def test_owners_take_turns_so_a_backlog_does_not_hold_up_others(db, runner, user_id,
                                                                monkeypatch):
    import huey_tasks.withdrawals as tasks

    huey_tasks.configure({"huey.backend": "memory", "huey.immediate": "false"})
    bank = ScriptedBank()
    monkeypatch.setattr(tasks, "processor", lambda: processor(runner, bank))
    backlog = [withdraw(db, user_id, 10_00, f"form-key-backlog-{i:05d}") for i in range(5)]
    tasks.process_payouts(f"user:{user_id}")
    ravi = make_user(db, "+919812345678", "Ravi", deposit_paise=100_00)
    single = withdraw(db, ravi, 50_00, "form-key-ravi-000001")
    tasks.process_payouts(f"user:{ravi}")
    try:
        while (task := huey_tasks.huey.dequeue()) is not None:  # one worker, in queue order
            huey_tasks.huey.execute(task)
    finally:
        huey_tasks.configure({"huey.backend": "memory"})
    assert [ref for _, ref in bank.calls] == [f"wd_{backlog[0]}", f"wd_{single}"] + [
        f"wd_{i}" for i in backlog[1:]]
    assert {status(db, i) for i in backlog + [single]} == {"completed"}
