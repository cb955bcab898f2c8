"""The periodic task writes down the expiry of payment links whose time is up
(read as expired at once everywhere; this keeps the stored status true) and
tells each shop's server (payment_link.expired, queued after commit)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

import huey_tasks
from wallet.merchants.models import PaymentLink

from ..link_helpers import Clock, events_of, make_link, make_shop


def test_the_periodic_task_expires_due_links_only(db, web_settings):
    from huey_tasks.payment_links import expire_payment_links

    shop = make_shop(db, "dosa-corner")
    made = Clock()
    made.now -= dt.timedelta(hours=2)  # made two hours ago: one lived an hour, one a day
    due = make_link(db, made, shop, expires_in_s=3600)
    later = make_link(db, made, shop, expires_in_s=86400)
    huey_tasks.configure({**web_settings, "huey.backend": "memory", "huey.immediate": "false"})
    try:
        assert expire_payment_links.call_local() == 1
        assert expire_payment_links.call_local() == 0
        with db() as session:
            statuses = {row.public_id: row.status for row in session.execute(
                select(PaymentLink.public_id, PaymentLink.status))}
        assert [statuses[due], statuses[later]] == ["expired", "active"]
        assert events_of(db, shop) == ["payment_link.expired"]
        pending = [task.name for task in huey_tasks.huey.pending()]
        assert pending == ["send_webhook"]  # its delivery, queued once the batch committed
    finally:
        huey_tasks.huey.flush()
        huey_tasks.configure({"huey.backend": "memory"})
