"""AutoPay debits: a periodic task executes the debits whose pre-debit notice
has run out (wallet.merchants.mandate_debits), each in a transaction of its
own; rows another worker holds are skipped (SKIP LOCKED), never waited for,
so two workers at once move each debit's money once."""
from __future__ import annotations

import logging

from huey import crontab

from .app import huey, worker
from .webhooks import WorkerTaskQueue

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def execute_mandate_debits() -> list[int]:
    """Execute the due debits (the shops hear of each by webhook, after its commit)."""
    done: list[int] = worker.background(WorkerTaskQueue()).execute_due_mandate_debits()
    if done:
        log.info("AutoPay debits executed: %s", done)
    return done
