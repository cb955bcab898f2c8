"""The workers' periodic task pays due scheduled payments (huey_tasks.schedules)."""
from __future__ import annotations

import datetime as dt

import huey_tasks
from wallet.core.codes import RunStatus
from wallet.money.schedule_dates import today_in_india

from ..schedule_helpers import Clock, make_schedule, runs_of
from ..wallet_helpers import balance, make_user


def test_the_periodic_task_pays_a_due_run_once(db, web_settings):
    from huey_tasks.schedules import sweep_payment_schedules

    huey_tasks.configure({**web_settings, "huey.backend": "memory", "huey.immediate": "false"})
    try:
        asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
        ravi = make_user(db, "+919812345678", "Ravi")
        made = Clock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2))
        public_id = make_schedule(db, made, asha, to_phone="98123 45678", amount="75",
                                  frequency="once",
                                  start_date=today_in_india(made.now).isoformat())
        assert sweep_payment_schedules.call_local() == (0, 1)
        assert sweep_payment_schedules.call_local() == (0, 0)
        assert runs_of(db, public_id)[0][1] == RunStatus.COMPLETED
        assert balance(db, ravi)[0] == 75_00
    finally:
        huey_tasks.configure({"huey.backend": "memory"})
