"""Periodic housekeeping: forget API idempotency keys past their keeping time,
record expired ledger holds."""
from __future__ import annotations

from huey import crontab

from wallet.idempotency import IdempotencyKeys
from wallet.transfers import WalletService

from .app import huey, worker


@huey.periodic_task(crontab(minute="7"))  # type: ignore[untyped-decorator]  # hourly; huey has no types
def purge_idempotency_keys() -> int:
    """Keys are kept at least wallet.idempotency.KEEP_FOR (48 h), then dropped."""
    return worker.run_in_transaction(lambda session: IdempotencyKeys(session).purge())


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey has no types
def expire_ledger_holds() -> list[int]:
    """Holds with an expiry are released for good once it passes (ids of those released)."""
    return worker.run_in_transaction(lambda session: WalletService(session).expire_holds())
