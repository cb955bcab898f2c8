"""Users' money requests: write down the expiry of those whose time is up
(wallet.money.money_requests reads them as expired at once; this keeps the
stored status true for lists, counts and operators)."""
from __future__ import annotations

from huey import crontab

from wallet.money.money_requests import EXPIRE_BATCH

from .app import huey, worker

EXPIRE_MAX_BATCHES = 10


@huey.periodic_task(crontab(minute="*/5"))  # type: ignore[untyped-decorator]  # huey: no types
def expire_money_requests() -> int:
    """Expire pending requests past their expiry, a batch per transaction."""
    total = 0
    for _ in range(EXPIRE_MAX_BATCHES):
        expired = worker.run_in_transaction(
            lambda session: worker.background().services(session).money_requests.expire_due())
        total += expired
        if expired < EXPIRE_BATCH:
            break
    return total
