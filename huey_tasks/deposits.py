"""Periodic task: settle deposits whose webhook never came (or came too late)."""
import datetime as dt

from huey import crontab

from webapp import deposits
from webapp.bank_client import BankClient

from .app import huey, worker


@huey.periodic_task(crontab(minute="*"))
def sweep_stuck_deposits():
    settings = worker.settings
    return deposits.sweep_stuck_deposits(
        worker.run_in_transaction, worker.banks, BankClient,
        older_than=dt.timedelta(seconds=int(settings.get("wallet.deposit_stuck_after_s", 600))),
        expire_after=dt.timedelta(seconds=int(settings.get("wallet.deposit_expire_after_s", 3600))),
    )
