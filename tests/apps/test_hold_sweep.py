"""The wallet's periodic task records expired ledger holds."""
from __future__ import annotations

import datetime as dt

import huey_tasks
import ledgerlib


def test_the_periodic_task_expires_due_holds_only(db, web_settings):
    from huey_tasks.housekeeping import expire_ledger_holds

    huey_tasks.configure({**web_settings, "huey.backend": "memory", "huey.immediate": "false"})
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with db() as session, session.begin():
            ledger = ledgerlib.Ledger(session, clock=lambda: now - dt.timedelta(hours=1))
            ledger.open_account("test:bank", "asset", allow_negative=True)
            ledger.open_account("test:wallet", "liability")
            ledger.transfer("test:bank", "test:wallet", 500)
            due = ledger.hold("test:wallet", "test:bank", 100,
                              expires_at=now - dt.timedelta(minutes=1))
            later = ledger.hold("test:wallet", "test:bank", 200,
                                expires_at=now + dt.timedelta(hours=1))
        assert expire_ledger_holds.call_local() == [due.id]
        assert expire_ledger_holds.call_local() == []
        with db() as session:
            ledger = ledgerlib.Ledger(session)
            assert ledger.get_hold(due.id).status == "expired"
            assert ledger.get_hold(later.id).status == "pending"
            assert ledger.balance("test:wallet").held_paise == 200
    finally:
        huey_tasks.configure({"huey.backend": "memory"})
