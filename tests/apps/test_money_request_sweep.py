"""The periodic task writes down the expiry of money requests whose time is up
(they read as expired at once; this keeps the stored status true)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

import huey_tasks
from wallet.core.models import User
from wallet.money.models import MoneyRequest

from ..wallet_helpers import make_user, services_for_tests


def test_the_periodic_task_expires_due_requests_only(db, web_settings):
    from huey_tasks.money_requests import expire_money_requests

    asha = make_user(db, "+919876543210", "Asha")
    make_user(db, "+919812345678", "Ravi")
    huey_tasks.configure({**web_settings, "huey.backend": "memory", "huey.immediate": "false"})
    try:
        with db() as session, session.begin():
            requests = services_for_tests(session).money_requests
            due = requests.ask(session.get(User, asha), "+919812345678", 100)
            later = requests.ask(session.get(User, asha), "+919812345678", 200)
            due.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
            ids = due.public_id, later.public_id
        assert expire_money_requests.call_local() == 1
        assert expire_money_requests.call_local() == 0
        with db() as session:
            statuses = {row.public_id: row.status for row in session.execute(
                select(MoneyRequest.public_id, MoneyRequest.status))}
        assert [statuses[i] for i in ids] == ["expired", "pending"]
    finally:
        huey_tasks.configure({"huey.backend": "memory"})
