"""AutoPay debits on PostgreSQL, at once: two workers executing the same due
debits move each one's money once (a row another holds is skipped, never
waited for), and a revocation racing an execution either comes first (the
debit is cancelled, nothing moves) or second (the debit is paid, then the
mandate revoked); no deadlock, counted by the client and the server."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from wallet.core.models import Merchant, User
from wallet.merchants.models import MandateDebit
from wallet.services import Background

from ..live_servers import wait_until
from ..mandate_helpers import Clock, approved_mandate, make_shop, services
from ..wallet_helpers import balance, make_user, services_for_tests
from .test_payment_deadlocks import ClientDeadlocks, server_deadlocks, stats_engine

pytestmark = pytest.mark.postgres
DEBITS = 8


def present(db, clock, shop, mandate_id, amount_paise) -> str:
    with db() as session, session.begin():
        return services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop), mandate_id, amount_paise).public_id


def debit_statuses(db) -> list[str]:
    with db() as session:
        return list(session.scalars(select(MandateDebit.status).order_by(MandateDebit.id)))


def settle_statistics(app_engine: sa.Engine, stats: sa.Engine, since: object) -> None:
    """A backend hands its deadlock count to the shared statistics when it
    exits (else when idle, at most once a second): close the work's
    connections, end the backends opened since the test began (directly or
    by PgBouncer for it; other tests' pooled ones are left alone) and wait
    until they are gone, then long enough for an older idle one to report."""
    app_engine.dispose()
    mine = ("FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND backend_start >= :since")
    with stats.connect() as conn:
        conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) {mine}"), {"since": since})

    def gone() -> bool:
        with stats.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) {mine}"),
                                {"since": since}).scalar_one() == 0

    wait_until(gone, "the work's backends to exit", timeout_s=30)
    time.sleep(1.2)  # (an idle backend reports at most once a second)


@pytest.fixture
def counted(app_engine):
    stats = stats_engine()
    with stats.connect() as conn:
        since = conn.exec_driver_sql("SELECT now()").scalar_one()
    before = server_deadlocks(stats)
    with ClientDeadlocks() as client:
        yield client
    settle_statistics(app_engine, stats, since)
    assert client.count == 0 and server_deadlocks(stats) - before == 0
    stats.dispose()


def test_two_workers_at_once_move_each_debit_once(db, runner, app_engine, counted):
    clock = Clock()
    shop = make_shop(db)
    people = [make_user(db, f"+9198765432{i:02d}", f"Person {i}", deposit_paise=1_000_00)
              for i in range(DEBITS)]
    for person in people:
        mandate = approved_mandate(db, clock, shop, person, frequency="as_presented")
        present(db, clock, shop, mandate, 100_00)
    clock.advance(days=1)
    background = Background(runner, services_for_tests(None).settings, clock=clock)
    barrier = threading.Barrier(2)
    done: dict[str, object] = {}

    def worker(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            done[name] = background.execute_due_mandate_debits()
        except Exception as exc:  # noqa: BLE001 - the assertion shows it
            done[name] = exc

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(ids, list) for ids in done.values()), done
    executed = [i for ids in done.values() for i in ids]  # type: ignore[union-attr]
    assert sorted(executed) == sorted(set(executed)) and len(executed) == DEBITS
    assert debit_statuses(db) == ["succeeded"] * DEBITS
    assert all(balance(db, person) == (900_00, 0) for person in people)


def test_the_same_debit_held_by_one_worker_is_skipped_by_the_other(db, app_engine, counted):
    clock = Clock()
    shop = make_shop(db)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    mandate = approved_mandate(db, clock, shop, asha)
    present(db, clock, shop, mandate, 250_00)
    clock.advance(days=1)
    with db() as first, first.begin():
        debits = services(first, clock).mandate_debits
        [debit_id] = debits.due()
        assert debits.execute(debit_id).status == "succeeded"  # held, not committed
        with db() as second, second.begin():  # the other worker: skips it at once
            assert services(second, clock).mandate_debits.execute(debit_id) is None
    with db() as again, again.begin():  # after the commit: nothing left to do
        assert services(again, clock).mandate_debits.execute(debit_id) is None
    assert balance(db, asha) == (750_00, 0)


@pytest.mark.parametrize("first", ["revoke", "execute"])
def test_a_revocation_racing_the_execution(db, app_engine, counted, first):
    clock = Clock()
    shop = make_shop(db)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    mandate = approved_mandate(db, clock, shop, asha)
    present(db, clock, shop, mandate, 250_00)
    clock.advance(days=1)
    holding, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def execute() -> None:
        try:
            with db() as session, session.begin():
                debits = services(session, clock).mandate_debits
                debit = next((d for i in debits.due() if (d := debits.execute(i))), None)
                results["execute"] = None if debit is None else debit.status
                if first == "execute":
                    holding.set()
                    release.wait(timeout=10)
        except Exception as exc:  # noqa: BLE001
            results["execute"] = exc

    def revoke() -> None:
        try:
            with db() as session, session.begin():
                results["revoke"] = services(session, clock).mandates.revoke(
                    session.get_one(User, asha), mandate).status
                if first == "revoke":
                    holding.set()
                    release.wait(timeout=10)
        except Exception as exc:  # noqa: BLE001
            results["revoke"] = exc

    order = (revoke, execute) if first == "revoke" else (execute, revoke)
    threads = [threading.Thread(target=fn) for fn in order]
    threads[0].start()
    assert holding.wait(timeout=10)
    threads[1].start()
    if first == "execute":  # the revocation waits for the mandate's row
        wait_until(lambda: _waiting_for_a_lock(db), "the revocation to wait", timeout_s=10)
    else:
        threads[1].join(timeout=10)  # the execution skips the held rows at once
    release.set()
    for thread in threads:
        thread.join()
    if first == "revoke":
        assert results == {"revoke": "revoked", "execute": None}
        assert debit_statuses(db) == ["cancelled"] and balance(db, asha) == (1_000_00, 0)
    else:
        assert results == {"execute": "succeeded", "revoke": "revoked"}
        assert debit_statuses(db) == ["succeeded"] and balance(db, asha) == (750_00, 0)


def _waiting_for_a_lock(db) -> bool:
    with db() as session:
        return bool(session.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")))
