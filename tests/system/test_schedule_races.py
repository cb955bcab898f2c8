"""Scheduled payments swept by several workers at once (PostgreSQL): each run
moves money once, and nothing deadlocks (pg_stat_database.deadlocks).

Four threads call the workers' sweep (wallet.services.Background.sweep_schedules)
together, twice each, over schedules due at once -- to a friend, to a shop, and
in opposite directions (Asha pays Ravi while Ravi pays Asha) -- while their
payers skip, pause and cancel others in the same seconds."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

import ledgerlib
from wallet.core.codes import RunStatus
from wallet.core.models import Transaction, User
from wallet.db import WalletSession, get_engine
from wallet.identity.accounts import AccountService
from wallet.money.models import ScheduleRun
from wallet.money.schedule_dates import today_in_india

from ..schedule_helpers import Clock, background, make_schedule, services
from ..wallet_helpers import PASSWORD, balance, make_user
from .test_payment_deadlocks import (
    ClientDeadlocks,
    flush_statistics_of_the_work,
    server_deadlocks,
    stats_engine,
    tagged,
)

pytestmark = pytest.mark.postgres

ASHA, RAVI = "+919876543210", "+919812345678"
WORKERS, SWEEPS, EACH_WAY = 4, 2, 12


def test_workers_sweeping_at_once_pay_each_run_once_without_deadlocks(db, web_settings):
    asha = make_user(db, ASHA, "Asha", deposit_paise=10_000_00)
    ravi = make_user(db, RAVI, "Ravi", deposit_paise=10_000_00)
    with db() as session, session.begin():
        AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", PASSWORD)
    made = Clock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2))
    start = today_in_india(made.now).isoformat()
    to_ravi, to_asha, to_shop, touched = [], [], [], []
    for n in range(EACH_WAY):
        common = {"frequency": "weekly", "start_date": start, "count": 2}
        to_ravi.append(make_schedule(db, made, asha, key=f"sched-asha-ravi-{n:04d}",
                                     to_phone="98123 45678", amount="10", **common))
        to_asha.append(make_schedule(db, made, ravi, key=f"sched-ravi-asha-{n:04d}",
                                     to_phone="98765 43210", amount="7", **common))
        to_shop.append(make_schedule(db, made, asha, key=f"sched-asha-shop-{n:04d}",
                                     merchant_handle="chai-point", amount="3", **common))
        touched.append(make_schedule(db, made, ravi, key=f"sched-ravi-touch-{n:04d}",
                                     to_phone="98765 43210", amount="1", **common))

    url = tagged(web_settings["sqlalchemy.url"])
    engine = get_engine({"sqlalchemy.url": url, "sqlalchemy.pool_size": "8"})

    def run(fn):
        def attempt():
            with WalletSession(engine, expire_on_commit=False) as session, session.begin():
                return fn(session)
        return ledgerlib.retrying(attempt)

    now = Clock(dt.datetime.now(dt.timezone.utc))
    sweep = background(run, now)
    stats = stats_engine()
    before = server_deadlocks(stats)
    barrier = threading.Barrier(WORKERS + 1)
    swept: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(SWEEPS):
                swept.append(sweep.sweep_schedules())
        except BaseException as exc:  # noqa: BLE001 - the assertion shows it
            errors.append(exc)

    def payer() -> None:  # Ravi changes his own schedules meanwhile
        try:
            barrier.wait()
            for n, public_id in enumerate(touched):
                action = ("skip_next", "pause", "cancel")[n % 3]
                run(lambda session, a=action, p=public_id: getattr(
                    services(session, now).payment_schedules, a)(
                        session.get(User, ravi), p))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    threads.append(threading.Thread(target=payer))
    with ClientDeadlocks() as client:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    engine.dispose()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()

    print(f"sweeps (notices, runs) by {WORKERS} workers at once: {swept}; deadlocks: "
          f"{client.count} seen, {deadlocks} counted by PostgreSQL")
    assert errors == [] and client.count == 0 and deadlocks == 0, (errors, deadlocks)
    runs_paid = sum(r for _, r in swept)
    with db() as session:
        completed = session.scalar(select(func.count()).select_from(ScheduleRun).where(
            ScheduleRun.run_number == 1, ScheduleRun.status == RunStatus.COMPLETED))
        scheduled_txs = session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.note.like("Scheduled payment%")))
        keys = session.scalars(select(Transaction.idempotency_key).where(
            Transaction.note.like("Scheduled payment%"))).all()
    # Every first run of the three untouched kinds paid once; of the touched,
    # those not skipped, paused or cancelled before a worker reached them.
    assert completed >= 3 * EACH_WAY and completed == scheduled_txs == len(set(keys))
    assert runs_paid >= completed
    paid_touched = completed - 3 * EACH_WAY
    assert balance(db, asha)[0] == (10_000_00 - EACH_WAY * (10_00 + 3_00) + EACH_WAY * 7_00
                                    + paid_touched * 1_00)
    assert balance(db, ravi)[0] == (10_000_00 + EACH_WAY * 10_00 - EACH_WAY * 7_00
                                    - paid_touched * 1_00)


def test_the_runs_own_key_pays_it_once_even_past_the_claim(db, web_settings):
    """Two workers paying the same run at the same instant, as if both had
    claimed it (a lost lock, a failover mid-claim): the run's ledger key lets
    one payment through; the other finds it (replayed) and records the same."""
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi")
    made = Clock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2))
    public_id = make_schedule(db, made, asha, to_phone="98123 45678", amount="40",
                              frequency="once", start_date=today_in_india(made.now).isoformat())
    with db() as session, session.begin():  # its retry is due: no next run to make
        run_row = session.scalar(select(ScheduleRun))
        run_row.status, run_id = RunStatus.RETRYING, run_row.id
    url = tagged(web_settings["sqlalchemy.url"])
    engine = get_engine({"sqlalchemy.url": url, "sqlalchemy.pool_size": "4"})
    now = Clock(dt.datetime.now(dt.timezone.utc))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def pay() -> None:
        try:
            with WalletSession(engine, expire_on_commit=False) as session, session.begin():
                schedules = services(session, now).payment_schedules
                schedule = schedules.get(session.get(User, asha), public_id)
                run = session.get(ScheduleRun, run_id)
                barrier.wait()
                schedules._run_now(schedule, run, now.now)  # past the claim, on purpose
        except BaseException as exc:  # noqa: BLE001 - the assertion shows it
            errors.append(exc)

    stats = stats_engine()
    before = server_deadlocks(stats)
    threads = [threading.Thread(target=pay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()
    assert errors == [] and deadlocks == 0, (errors, deadlocks)
    assert balance(db, ravi)[0] == 40_00 and balance(db, asha)[0] == 960_00
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.note.like("Scheduled payment%"))) == 1
        assert session.get(ScheduleRun, run_id).status == RunStatus.COMPLETED
