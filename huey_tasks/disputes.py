"""Disputes of shop payments: a periodic task decides for the customer each
dispute the shop did not answer by its ``respond_by``
(wallet.merchants.disputes), each in a transaction of its own; a dispute
another worker holds is skipped (SKIP LOCKED), so each is decided once."""
from __future__ import annotations

import logging

from huey import crontab

from .app import huey, worker
from .webhooks import WorkerTaskQueue

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def expire_due_disputes() -> list[str]:
    """Decide the overdue disputes (the shops hear of each by webhook, after its commit)."""
    done: list[str] = worker.background(WorkerTaskQueue()).expire_due_disputes()
    if done:
        log.info("disputes decided at their deadline: %s", done)
    return done
