"""Shops' automatic settlements: every minute, the schedules due
(wallet.banking.auto_settlement), each shop's window in a transaction of its
own. Several workers may sweep at once: each claims its schedules with SKIP
LOCKED, and a window's key is unique, so a window is settled once however
often it is swept; the payouts go to the bank through the payout lanes."""
from __future__ import annotations

import logging

from huey import crontab

from .app import huey, worker
from .webhooks import WorkerTaskQueue

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def sweep_settlements() -> int:
    """The number of settlements made."""
    steps = worker.background(WorkerTaskQueue()).sweep_settlements()
    made = sum(1 for step in steps if step.settlement is not None)
    if steps:
        log.info("automatic settlement: %d windows, %d settlements", len(steps), made)
    return made
