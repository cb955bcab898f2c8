"""First payments held for their undo window (wallet.money.transfer_holds): a
periodic task lands those whose window is over, each in a transaction of its
own; rows an undo or another worker holds are skipped (SKIP LOCKED), so each
lands once, or is cancelled instead."""
from __future__ import annotations

import logging

from huey import crontab

from .app import huey, worker
from .webhooks import WorkerTaskQueue

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def land_held_transfers() -> list[int]:
    """Land the held transfers due (their recipients are told)."""
    landed: list[int] = worker.background(WorkerTaskQueue()).land_due_transfers()
    if landed:
        log.info("held transfers landed: %s", landed)
    return landed
