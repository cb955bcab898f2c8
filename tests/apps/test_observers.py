"""The observer is injected, never a process-wide switch (issue #24): each
session factory's sessions report to the observer it was given, the bank
clients to their builder's, and neither importing the wallet nor building an
app changes what another factory's sessions report to."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

import webhook_app
from wallet.banking.bank_client import BankUnavailable
from wallet.core.models import User
from wallet.core.observe import Observer
from wallet.db import get_session_factory

from ..conftest import dispose_app_engine
from ..wallet_helpers import PIN, TEST_BANKS, make_user, services_for_tests, transfers_service

ROOT = Path(__file__).resolve().parents[2]


class Recording(Observer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    def money_operation(self, kind: str, outcome: str) -> None:
        self.seen.append(("money", kind, outcome))

    def bank_call(self, bank: str, call: str, outcome: str, seconds: float) -> None:
        self.seen.append(("bank", bank, call, outcome))


def send(factory, payer: int, key: str) -> None:
    with factory() as session, session.begin():
        transfers_service(session).send_money(session.get(User, payer), "+919876543211", 1_00,
                                           key, pin=PIN)


def test_two_session_factories_report_to_their_own_observer(app_engine):
    first, second = Recording(), Recording()
    one = get_session_factory(app_engine, observer=first)
    other = get_session_factory(app_engine, observer=second)
    asha = make_user(one, "+919876543210", "Asha", deposit_paise=10_00)
    make_user(one, "+919876543211", "Ravi")
    first.seen.clear()  # (the sign-ups' deposit)

    send(one, asha, "form-key-one-000001")
    send(other, asha, "form-key-other-000001")
    send(other, asha, "form-key-other-000002")

    assert first.seen == [("money", "transfer", "completed")]
    assert second.seen == [("money", "transfer", "completed")] * 2


def test_a_rolled_back_session_reports_nothing_to_its_observer(app_engine):
    seen = Recording()
    factory = get_session_factory(app_engine, observer=seen)
    asha = make_user(get_session_factory(app_engine), "+919876543210", "Asha",
                     deposit_paise=10_00)
    make_user(get_session_factory(app_engine), "+919876543211", "Ravi")
    with factory() as session:
        session.begin()
        transfers_service(session).send_money(session.get(User, asha), "+919876543211", 1_00,
                                           "form-key-rb-000001", pin=PIN)
        session.rollback()
    assert seen.seen == []


def test_bank_calls_report_to_the_observer_of_who_built_the_client(app_engine):
    first, second = Recording(), Recording()
    bank = TEST_BANKS["hdfc"]  # its API at 127.0.0.1:9: refused at once
    for seen in (first, second, first):
        with get_session_factory(app_engine, observer=seen)() as session:
            with pytest.raises(BankUnavailable):
                services_for_tests(session).bank_client(bank).payout_status("wd_1")
    assert first.seen == [("bank", "hdfc", "payout_status", "unavailable")] * 2
    assert second.seen == [("bank", "hdfc", "payout_status", "unavailable")]


def transfers_counted() -> float:
    return REGISTRY.get_sample_value("wallet_money_operations_total",
                                     {"kind": "transfer", "outcome": "completed"}) or 0.0


def test_building_an_app_changes_no_other_factorys_observer(app_engine, web_settings):
    # The app's own sessions feed Prometheus; a session factory given no
    # observer still reports to no one once the app is built.
    wsgi = webhook_app.main({}, **web_settings)
    try:
        plain = get_session_factory(app_engine)
        asha = make_user(plain, "+919876543210", "Asha", deposit_paise=10_00)
        make_user(plain, "+919876543211", "Ravi")
        before = transfers_counted()
        send(plain, asha, "form-key-plain-000001")
        assert transfers_counted() == before
        with wsgi.registry["dbsession_factory"]() as session:
            assert type(services_for_tests(session).observer).__name__ == "PrometheusObserver"
    finally:
        dispose_app_engine(wsgi)


# Imports every module of ours (as tests/domain/test_no_global_hooks.py does),
# then asks what a session made with no observer reports to.
IMPORT_ALL = """
import importlib, json, pkgutil
import sqlalchemy as sa
for name in ("wallet", "webcommon", "webapp", "api_app", "admin_app", "webhook_app",
             "huey_tasks", "wallet_cli", "wallet_metrics"):
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        if module.name.startswith("wallet.alembic") or module.name == "huey_tasks.consumer":
            continue
        importlib.import_module(module.name)
from wallet.core import observe
from wallet.core.sessions import WalletSession
from wallet.db import get_session_factory
engine = sa.create_engine("sqlite://")
made = get_session_factory(engine)()
print(json.dumps({
    "switches": sorted(n for n in ("set_observer", "install_observer", "observer", "_observer")
                       if hasattr(observe, n)),
    "factory": type(observe.observer_of(made)).__qualname__,
    "bare": type(observe.observer_of(WalletSession(engine))).__qualname__,
    "no_observer": type(observe.NO_OBSERVER).__qualname__,
}))
"""


def test_importing_the_wallet_installs_no_observer():
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "WALLET_INI": str(ROOT / "no-such.ini")})
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found == {"switches": [], "factory": "Observer", "bare": "Observer",
                     "no_observer": "Observer"}


def test_the_workers_report_to_their_own_observer(web_settings):
    from huey_tasks.app import Worker, worker
    from wallet.core.observe import observer_of
    from wallet_metrics import PrometheusObserver

    assert isinstance(worker.observer, PrometheusObserver)  # the consumer's
    seen = Recording()
    mine = Worker(seen)
    mine.configure(web_settings)
    factory = mine.session_factory()
    try:
        assert mine.background().observer is seen
        with factory() as session:
            assert observer_of(session) is seen
    finally:
        factory.kw["bind"].dispose()
