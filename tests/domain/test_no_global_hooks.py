"""The wallet's session listeners live on its own session class
(wallet.core.sessions.WalletSession): importing the wallet, its apps and its
workers leaves SQLAlchemy's ``Session`` as it was, so another library's
sessions in the process run none of them; a WalletSession runs them all."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wallet.core import observe, tasks
from wallet.core.sessions import WalletSession
from wallet.db import get_session_factory
from wallet.identity import pin_tries

ROOT = Path(__file__).resolve().parents[2]
OURS = ("wallet", "webcommon", "webapp", "api_app", "admin_app", "webhook_app",
        "huey_tasks", "wallet_cli", "wallet_metrics")

# Imports every module of ours (the migrations' scripts aside: alembic runs
# them; and the consumer's entry point, which reads its ini file), then lists
# the listeners SQLAlchemy's Session class holds.
IMPORT_ALL = f"""
import importlib, json, pkgutil, sys
from sqlalchemy.orm import Session
imported = []
for name in {OURS!r}:
    package = importlib.import_module(name)
    imported.append(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        if module.name.startswith("wallet.alembic") or module.name == "huey_tasks.consumer":
            continue
        importlib.import_module(module.name)
        imported.append(module.name)
dispatch = Session().dispatch
listeners = [f"{{event}}: {{fn.__module__}}.{{fn.__qualname__}}"
             for event in dispatch._event_names for fn in getattr(dispatch, event)]
print(json.dumps({{"imported": imported, "listeners": listeners}}))
"""


def test_importing_everything_leaves_sqlalchemys_session_alone():
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "WALLET_INI": str(ROOT / "no-such.ini")})
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert {"wallet.db", "webapp", "huey_tasks.app", "wallet_cli.admin"} <= set(found["imported"])
    ours = [hook for hook in found["listeners"] if hook.split(": ")[1].startswith(OURS)]
    assert ours == []


def test_the_wallets_listeners_are_on_its_own_session_class_only():
    for name, listener in (*tasks.SESSION_HOOKS, *observe.SESSION_HOOKS,
                           *pin_tries.SESSION_HOOKS):
        assert sa.event.contains(WalletSession, name, listener), (name, listener)
        assert not sa.event.contains(Session, name, listener), (name, listener)


def test_work_after_commit_runs_for_a_wallet_session_and_not_for_another():
    engine = sa.create_engine("sqlite://")
    ran: list[str] = []
    try:
        with get_session_factory(engine)() as session, session.begin():
            assert isinstance(session, WalletSession)
            tasks.after_commit(session, lambda: ran.append("wallet"))
        with Session(engine) as plain, plain.begin():
            tasks.after_commit(plain, lambda: ran.append("plain"))
    finally:
        engine.dispose()
    assert ran == ["wallet"]
