"""Periodic task: settle deposits whose webhook never came (or came too late)."""
from __future__ import annotations

import datetime as dt

from huey import crontab

from wallet.banking import deposits
from wallet.banking.bank_client import BankClient

from .app import huey, worker


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def sweep_stuck_deposits() -> dict[str, int]:
    settings = worker.settings
    return deposits.sweep_stuck_deposits(
        worker.run_in_transaction, worker.banks, BankClient,
        older_than=dt.timedelta(seconds=settings.deposit_stuck_after_s),
        expire_after=dt.timedelta(seconds=settings.deposit_expire_after_s),
    )
