"""The payout pipeline for real: a Huey consumer with several worker threads
(SqliteHuey on the SQLite run, RedisHuey on the PostgreSQL run), the fake bank
served over HTTP with latency and failures, and our database."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import fake_bank
import huey_tasks
import ledgerlib
from fake_bank.models import ApiCall, Payout
from huey_tasks.withdrawals import process_payouts
from wallet.core.errors import WalletError
from wallet.core.models import Transaction, User

from ..conftest import ON_POSTGRES
from ..live_servers import serving, wait_until
from ..wallet_helpers import PIN, TEST_BANKS, balance, make_user, withdrawal_service, write_ini

REDIS_URL = os.environ.get("WALLET_TEST_REDIS_URL", "")
FINAL = ("completed", "failed", "reversed", "needs_review")


@pytest.fixture
def bank(tmp_path, web_settings):
    """The fake bank over HTTP (no webhook sender: payout webhooks are not needed here)."""
    settings = {**web_settings, "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'bank.db'}",
                "fake_bank.webhook_url": "http://127.0.0.1:9/webhooks/{bank}",
                "fake_bank.sender": "off", "fake_bank.allow_overrides": "true",
                "fake_bank.seed": "3", "fake_bank.latency_ms": "50"}
    app = fake_bank.main({}, **settings)
    with serving(app) as url:
        yield app, url
    app.registry["fb.session_factory"].kw["bind"].dispose()


@pytest.fixture
def pipeline(bank, web_settings, tmp_path):
    """Workers configured against the test database and the live fake bank."""
    app, url = bank
    settings = {**web_settings,
                "banks.hdfc.api_url": f"{url}/hdfc/api",
                "wallet.bank_timeout_s": "1.0",
                "wallet.payout_backoff_base_s": "0.05",
                "wallet.payout_backoff_cap_s": "0.2",
                "wallet.payout_retry_budget": "8"}
    if ON_POSTGRES:
        assert REDIS_URL, "the PostgreSQL run also needs WALLET_TEST_REDIS_URL"
        settings.update({"huey.backend": "redis", "huey.url": REDIS_URL})
    else:
        settings.update({"huey.backend": "sqlite", "huey.path": str(tmp_path / "huey.db")})
    huey_tasks.configure(settings)
    huey_tasks.huey.flush()
    consumer = huey_tasks.huey.create_consumer(workers=4, worker_type="thread", periodic=False,
                                               check_worker_health=False)
    consumer.start()  # worker threads and scheduler; returns at once
    yield app
    consumer.stop(graceful=True)
    huey_tasks.huey.flush()
    huey_tasks.configure({"huey.backend": "memory"})


def knobs(app, **values):
    app.registry["fb.behaviour"].update(values)


def bank_session(app) -> Session:
    return app.registry["fb.session_factory"]()


def request_withdrawal(db, user_id, amount_paise, key, account="50100012345678"):
    """What the web request does: hold + record in one transaction, enqueue after commit."""
    with db() as session, session.begin():
        tx_id = withdrawal_service(session, TEST_BANKS).request(
            session.get(User, user_id), "hdfc", account, "HDFC0001234", amount_paise, key,
            pin=PIN).id
    process_payouts(f"user:{user_id}")
    return tx_id


def statuses(db, ids) -> dict[int, str]:
    with db() as session:
        return dict(session.execute(select(Transaction.id, Transaction.status)
                                    .where(Transaction.id.in_(ids))).all())


def all_final(db, ids):
    current = statuses(db, ids)
    return current if all(s in FINAL for s in current.values()) else None


def bank_intervals(app, references) -> list[tuple]:
    with bank_session(app) as session:
        return [(c.started_at, c.finished_at) for c in session.scalars(
            select(ApiCall).where(ApiCall.reference.in_(references)).order_by(ApiCall.started_at))]


def overlapping(intervals) -> bool:
    return any(b_start < a_end
               for (_, a_end), (b_start, _) in zip(intervals, intervals[1:], strict=False))


def test_twenty_quick_withdrawals_for_one_user_go_one_at_a_time(db, pipeline):
    user_id = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    refused = []

    def fire(i):
        account = "00000000012345" if i % 4 == 0 else "50100012345678"  # some accounts don't exist
        try:
            return request_withdrawal(db, user_id, 100_00, f"form-key-burst-{i:06d}", account)
        except WalletError as exc:
            refused.append(str(exc))

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [i for i in pool.map(fire, range(20)) if i is not None]
    # The wallet covers ten at a time; a refused payout's released hold may let
    # a later request in, so "at least ten" -- but never more out than it held.
    assert len(ids) >= 10 and len(ids) + len(refused) == 20
    assert all("not enough to withdraw" in r for r in refused)

    final = wait_until(lambda: all_final(db, ids), "all withdrawals final", timeout_s=60)
    completed = [i for i, s in final.items() if s == "completed"]
    failed = [i for i, s in final.items() if s == "failed"]
    assert len(completed) + len(failed) == len(ids) and failed  # missing accounts refused
    assert 100_00 * len(completed) <= 1_000_00
    # Never more out than the wallet held; refused payouts gave their money back.
    assert balance(db, user_id) == (1_000_00 - 100_00 * len(completed), 0)
    intervals = bank_intervals(pipeline, [f"wd_{i}" for i in ids])
    assert intervals and not overlapping(intervals), "two payouts of one user overlapped"
    with bank_session(pipeline) as session:
        paid = session.scalar(select(func.sum(Payout.amount_paise))
                              .where(Payout.status == "accepted"))
    assert paid == 100_00 * len(completed)
    with db() as session:
        assert ledgerlib.verify(session).ok


def test_different_users_are_paid_in_parallel(db, pipeline):
    knobs(pipeline, latency_ms=300)
    users = [make_user(db, f"+91987654{i:04d}", f"User {i}", deposit_paise=500_00)
             for i in range(4)]
    ids = {u: [request_withdrawal(db, u, 100_00, f"form-key-par-{u}-{k:04d}") for k in range(2)]
           for u in users}
    flat = [i for per_user in ids.values() for i in per_user]
    final = wait_until(lambda: all_final(db, flat), "all paid", timeout_s=60)
    assert set(final.values()) == {"completed"}
    every_call = bank_intervals(pipeline, [f"wd_{i}" for i in flat])
    assert overlapping(every_call), "no two users were ever served at the same time"
    for per_user in ids.values():
        assert not overlapping(bank_intervals(pipeline, [f"wd_{i}" for i in per_user]))


def test_flaky_bank_pays_each_payout_exactly_once(db, pipeline):
    """Timeouts, 503s and lost replies: every payout lands at the bank once, and
    the money in our ledger plus the bank's books adds up."""
    knobs(pipeline, latency_ms=20, failure_rate=0.2, reply_lost_rate=0.25,
          timeout_rate=0.15, timeout_s=1.5)
    users = [make_user(db, f"+91912345{i:04d}", f"User {i}", deposit_paise=1_000_00)
             for i in range(3)]
    ids = [request_withdrawal(db, u, 50_00 + k, f"form-key-flaky-{u}-{k:04d}")
           for u in users for k in range(4)]
    final = wait_until(lambda: all_final(db, ids), "all settled", timeout_s=120)
    assert set(final.values()) <= {"completed", "needs_review"}
    with bank_session(pipeline) as session:
        payouts = {p.reference: p for p in session.scalars(select(Payout))}
    for tx_id, status in final.items():
        if status == "completed":
            assert f"wd_{tx_id}" in payouts  # paid (once: references are unique at the bank)
    with db() as session:
        amounts = dict(session.execute(select(Transaction.id, Transaction.amount_paise)
                                       .where(Transaction.id.in_(ids))).all())
    paid_by_bank = sum(p.amount_paise for p in payouts.values())
    completed = sum(amounts[i] for i, s in final.items() if s == "completed")
    held = sum(amounts[i] for i, s in final.items() if s == "needs_review")
    # A payout in review may or may not have reached the bank; completed ones have.
    assert completed <= paid_by_bank <= completed + held
    in_wallets = sum(balance(db, u)[0] + balance(db, u)[1] for u in users)
    assert in_wallets + completed == 3 * 1_000_00
    with db() as session:
        assert ledgerlib.verify(session).ok


def test_a_worker_process_killed_mid_payout_is_recovered_exactly_once(db, bank, web_settings,
                                                                      tmp_path):
    """SIGKILL a real huey_consumer while the bank is processing its payout; a new
    consumer and the recovery task settle it through the status API, without resending."""
    import signal
    import subprocess
    import sys

    app, url = bank
    knobs(app, latency_ms=1500)
    settings = {**web_settings, "banks.hdfc.api_url": f"{url}/hdfc/api",
                "huey.backend": "sqlite", "huey.path": str(tmp_path / "huey.db"),
                "wallet.bank_timeout_s": "5", "wallet.payout_lease_s": "2",
                "wallet.payout_resume_after_s": "0"}
    ini = write_ini(tmp_path / "worker.ini", settings)
    huey_tasks.configure(settings)  # this process enqueues into the same queue file

    def consumer() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "huey.bin.huey_consumer", "huey_tasks.consumer.huey", "-w", "1"],
            env={**os.environ, "WALLET_INI": str(ini)}, cwd=str(tmp_path),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    user_id = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    first = consumer()
    try:
        tx_id = request_withdrawal(db, user_id, 400_00, "form-key-killed-0001")
        reference = f"wd_{tx_id}"

        def mid_call():
            with bank_session(app) as session:
                return session.scalar(select(ApiCall.id).where(
                    ApiCall.reference == reference, ApiCall.finished_at.is_(None)))

        wait_until(mid_call, "the payout call to reach the bank", timeout_s=20)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
    def paid():  # the bank finishes the payout regardless
        with bank_session(app) as session:
            return session.scalar(select(Payout.status).where(Payout.reference == reference))

    wait_until(paid, "the bank to make the payout", timeout_s=10)
    assert statuses(db, [tx_id]) == {tx_id: "sending"}

    second = consumer()
    try:
        def resumed():
            huey_tasks.withdrawals.resume_stalled_withdrawals.call_local()
            return all_final(db, [tx_id])

        final = wait_until(resumed, "the payout to be settled after the crash", timeout_s=40)
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=10)
        huey_tasks.configure({"huey.backend": "memory"})
    assert final == {tx_id: "completed"}
    with bank_session(app) as session:
        calls = [c.kind for c in session.scalars(select(ApiCall).where(
            ApiCall.reference == reference).order_by(ApiCall.id))]
        assert session.scalar(select(func.count()).select_from(Payout)) == 1
    assert calls[0] == "payout" and calls.count("payout") == 1  # checked, never resent
    assert "payout_status" in calls
    assert balance(db, user_id) == (600_00, 0)
