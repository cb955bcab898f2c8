"""Scheduled and recurring payments: every minute, the notices due and then
the due runs (wallet.money.schedules), each in a transaction of its own.
Several workers may sweep at once: each claims its schedules with SKIP
LOCKED, and a run's ledger key is its own, so a run is paid once however
often it is swept (a lost or re-run task changes nothing)."""
from __future__ import annotations

import logging

from huey import crontab

from .app import huey, worker
from .webhooks import WorkerTaskQueue

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def sweep_payment_schedules() -> tuple[int, int]:
    """(notices sent, runs paid or settled)."""
    notices, runs = worker.background(WorkerTaskQueue()).sweep_schedules()
    if notices or runs:
        log.info("scheduled payments: %d notices, %d runs", notices, runs)
    return notices, runs
