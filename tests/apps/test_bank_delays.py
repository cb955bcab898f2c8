"""Measured bank delays (wallet.banking.bank_delays) and what users see of them: the
add-money and withdraw forms say how long each bank is taking and mark a
degraded one; a withdrawal's page says whether its wait is usual."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import webtest
from sqlalchemy import update

import fake_bank
import webapp
from wallet.banking.bank_delays import BankDelayMeter, DelayPolicy, describe_duration, percentile
from wallet.banking.banks import load_banks
from wallet.banking.models import PayoutAttempt
from wallet.banking.payouts import PayoutPolicy
from wallet.core.codes import AttemptKind, AttemptOutcome
from wallet.core.models import Transaction, User

from ..conftest import dispose_app_engine
from ..live_servers import serving
from ..wallet_helpers import (
    PIN,
    TEST_BANKS,
    bank_client,
    login,
    make_user,
    payout_processor,
    ready_to_settle,
    withdrawal_service,
)

NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.timezone.utc)


def test_percentile_and_words():
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 50) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90) == 9.0
    assert percentile([7.0], 90) == 7.0
    assert describe_duration(20) == "under a minute"
    assert describe_duration(240) == "about 4 minutes"
    assert describe_duration(61) == "about 1 minute"
    assert describe_duration(3 * 3600) == "about 3 hours"


def withdrawal(db, user_id: int, key: int, *, created: dt.datetime, status: str,
               took_s: float | None = None, bank: str = "hdfc") -> int:
    """A withdrawal of ``status`` requested at ``created`` (settled ``took_s`` later)."""
    with db() as session, session.begin():
        tx_id = withdrawal_service(session, TEST_BANKS).request(
            session.get(User, user_id), bank, "50100012345678", "HDFC0001234", 1_00,
            f"form-key-delay-{key:06d}", pin=PIN).id
        settled = None if took_s is None else created + dt.timedelta(seconds=took_s)
        session.execute(update(Transaction).where(Transaction.id == tx_id).values(
            status=status, created_at=created, settled_at=settled))
    return tx_id


def measure(db, **policy):
    with db() as session:
        return BankDelayMeter(session, TEST_BANKS, policy=DelayPolicy(**policy), now=NOW).measure()


def test_p50_p90_from_recent_completed_payouts_only(db):
    user = make_user(db, "+919876543210", deposit_paise=1_000_00)
    for i, took in enumerate((60, 120, 180, 240, 600)):
        withdrawal(db, user, i, created=NOW - dt.timedelta(minutes=30), status="completed",
                   took_s=took)
    # Outside the window, or not completed: not counted.
    withdrawal(db, user, 10, created=NOW - dt.timedelta(days=2), status="completed",
               took_s=9000)
    withdrawal(db, user, 11, created=NOW - dt.timedelta(minutes=5), status="failed", took_s=9000)
    hdfc = measure(db, degraded_p90_s=900)["hdfc"]
    assert (hdfc.payouts.samples, hdfc.payouts.p50_s, hdfc.payouts.p90_s) == (5, 180, 600)
    assert not hdfc.degraded and hdfc.reason == ""
    assert hdfc.payout_verdict(120) == "usual" and hdfc.payout_verdict(1200) == "slower"
    axis = measure(db)["axis"]
    assert axis.payouts.p50_s is None and not axis.degraded  # nothing measured, nothing said


def test_degraded_by_slow_payouts_an_old_open_one_or_unclear_answers(db):
    user = make_user(db, "+919876543210", deposit_paise=1_000_00)
    ids = [withdrawal(db, user, i, created=NOW - dt.timedelta(minutes=30), status="completed",
                      took_s=took) for i, took in enumerate((60, 70, 1200))]
    slow = measure(db, degraded_p90_s=900)["hdfc"]
    assert slow.degraded and "payouts are slow" in slow.reason
    assert not measure(db, degraded_p90_s=1500)["hdfc"].degraded

    withdrawal(db, user, 5, created=NOW - dt.timedelta(minutes=40), status="queued")
    waiting = measure(db, degraded_p90_s=1500)["hdfc"]
    assert waiting.degraded and "waiting long" in waiting.reason
    assert waiting.oldest_open_payout_s == 40 * 60

    with db() as session, session.begin():
        for tx_id in ids:
            for outcome in (AttemptOutcome.UNKNOWN, AttemptOutcome.UNKNOWN, "accepted"):
                session.add(PayoutAttempt(transaction_id=tx_id, kind=AttemptKind.SEND,
                                          outcome=outcome, request="{}", started_at=NOW))
    unclear = measure(db, degraded_p90_s=5000, degraded_failure_ratio=0.5)["hdfc"]
    assert (unclear.payout_calls, unclear.unclear_payout_calls) == (9, 6)
    assert unclear.degraded and "not answering clearly" in unclear.reason


# ----------------------------------------------------------- on the pages, for real


@pytest.fixture
def slow_bank(tmp_path, web_settings):
    settings = {**web_settings, "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'bank.db'}",
                "fake_bank.webhook_url": "http://127.0.0.1:9/webhooks/{bank}",
                "fake_bank.sender": "off", "fake_bank.seed": "5", "fake_bank.latency_ms": "10"}
    app = fake_bank.main({}, **settings)
    with serving(app) as url:
        yield app, url
    app.registry["fb.session_factory"].kw["bind"].dispose()


@pytest.fixture
def delays_app(web_settings, slow_bank):
    """The user app measuring afresh on every page (no cache), degraded past 1 s."""
    _, url = slow_bank
    settings = {**web_settings, "banks.hdfc.api_url": f"{url}/hdfc/api",
                "wallet.bank_delay_degraded_p90_s": "1", "wallet.bank_delay_cache_s": "0",
                "wallet.bank_delay_samples": "5"}
    wsgi = webapp.main({}, **settings)
    yield wsgi, load_banks(settings)
    dispose_app_engine(wsgi)


def hdfc_note(page) -> tuple[str, str]:
    """(data-degraded, text) of HDFC's note on a form."""
    match = re.search(r'data-bank="hdfc" data-degraded="(\w+)">(.*?)</small>', page.text,
                      re.S)
    assert match, "no note for HDFC on the form"
    return match.group(1), " ".join(match.group(2).split())


def pay_out(db, runner, banks, user_id: int, key: int) -> int:
    """A withdrawal, driven through the live fake bank by the payout steps."""
    with db() as session, session.begin():
        tx_id = withdrawal_service(session, banks).request(
            session.get(User, user_id), "hdfc", "50100012345678", "HDFC0001234", 10_00,
            f"form-key-slow-{key:06d}", pin=PIN).id
    payout_processor(runner, banks, bank_client, PayoutPolicy(backoff_base_s=0.01)).drain(
        f"user:{user_id}", "test-worker")
    return tx_id


def test_raised_bank_latency_marks_the_bank_degraded_within_three_payouts(
        db, runner, slow_bank, delays_app):
    bank_app, _ = slow_bank
    wsgi, banks = delays_app
    user = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    app = webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
    login(app, "+919876543210")

    assert hdfc_note(app.get("/withdraw"))[0] == "false"
    for i in range(3):  # a quick bank: measured, and fine
        pay_out(db, runner, banks, user, i)
    degraded, text = hdfc_note(app.get("/withdraw"))
    assert degraded == "false" and "HDFC Bank payouts are taking under a minute" in text

    bank_app.registry["fb.behaviour"].update({"latency_ms": 1200})
    marked_after = None
    for i in range(3, 6):
        tx_id = pay_out(db, runner, banks, user, i)
        if hdfc_note(app.get("/withdraw"))[0] == "true":
            marked_after = i - 2
            break
    assert marked_after is not None and marked_after <= 3, "never marked degraded"
    degraded, text = hdfc_note(app.get("/withdraw"))
    assert "Degraded" in text and "payouts are slow" in text
    assert hdfc_note(app.get("/add-money"))[0] == "true"  # where money comes in, too
    page = app.get(f"/withdrawals/{tx_id}")
    assert "It took under a minute to reach your bank." in page.text


def test_a_waiting_withdrawal_says_whether_its_wait_is_usual(db, delays_app):
    wsgi, _ = delays_app
    user = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(3):  # HDFC usually takes 2 minutes
        withdrawal(db, user, i, created=now - dt.timedelta(minutes=20), status="completed",
                   took_s=120)
    recent = withdrawal(db, user, 5, created=now - dt.timedelta(seconds=30), status="sending")
    app = webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
    login(app, "+919876543210")
    text = app.get(f"/withdrawals/{recent}").html.find(id="withdrawal-progress").text
    assert text.startswith("You asked for it under a minute ago, which is usual")
    assert "HDFC Bank payouts are taking about 2 minutes right now" in text
    with db() as session, session.begin():
        session.execute(update(Transaction).where(Transaction.id == recent).values(
            created_at=now - dt.timedelta(minutes=12)))
    text = app.get(f"/withdrawals/{recent}").html.find(id="withdrawal-progress").text
    assert text.startswith("You asked for it 12 minutes ago, which is slower than usual")
    assert text.endswith("we're on it.")


def test_the_forms_say_how_long_each_bank_takes(db, user_app, web_settings):
    from webapp.merchant import main as merchant_main

    from .test_merchant_app import make_merchant, merchant_login

    user = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(3):
        withdrawal(db, user, i, created=now - dt.timedelta(minutes=30), status="completed",
                   took_s=240)
    login(user_app, "+919876543210")
    assert hdfc_note(user_app.get("/withdraw")) == (
        "false", "HDFC Bank payouts are taking about 4 minutes right now.")
    assert hdfc_note(user_app.get("/add-money")) == (
        "false", "Not enough recent payments to say how long HDFC Bank takes right now.")
    ready_to_settle(db, make_merchant(db))  # (its account: at HDFC Bank)
    wsgi = merchant_main({}, **web_settings)
    try:
        shop = webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
        merchant_login(shop)
        assert hdfc_note(shop.get("/settle"))[1] == (
            "HDFC Bank payouts are taking about 4 minutes right now.")
    finally:
        dispose_app_engine(wsgi)
