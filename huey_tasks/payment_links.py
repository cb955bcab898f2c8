"""Payment links: write down the expiry of those whose time is up (the
domain reads them as expired at once; this keeps the stored status true for
lists and counts, and tells each shop's server: ``payment_link.expired``)."""
from __future__ import annotations

from huey import crontab

from wallet.merchants.payment_links import EXPIRE_BATCH

from .app import huey, worker
from .webhooks import WorkerTaskQueue

EXPIRE_MAX_BATCHES = 10


@huey.periodic_task(crontab(minute="*/5"))  # type: ignore[untyped-decorator]  # huey: no types
def expire_payment_links() -> int:
    """Expire active links past their expiry, a batch per transaction (their
    webhooks queued after each batch commits)."""
    background = worker.background(WorkerTaskQueue())
    total = 0
    for _ in range(EXPIRE_MAX_BATCHES):
        expired = worker.run_in_transaction(
            lambda session: background.services(session).payment_links.expire_due())
        total += expired
        if expired < EXPIRE_BATCH:
            break
    return total
