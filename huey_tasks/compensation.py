"""Compensation for late reversals: an hourly task credits users for each day
a stuck transaction stays unresolved past its deadline
(wallet.care.compensation), each ticket in a transaction of its own; a ticket
another worker holds is skipped (SKIP LOCKED), and a day is paid at most once
(a row per ticket and day, and the ledger's key), so a sweep that dies
midway is finished by the next."""
from __future__ import annotations

import logging

from huey import crontab

from .app import huey, worker

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="7"))  # type: ignore[untyped-decorator]  # huey: no types
def pay_compensation() -> tuple[int, int]:
    """Pay the days of compensation earned since the last run."""
    tickets, days = worker.background().pay_compensation()
    if days:
        log.info("compensation paid: %d days on %d tickets", days, tickets)
    return tickets, days
