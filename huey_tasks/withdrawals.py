"""Payout tasks. State lives in the database (webapp/withdrawals.py); these
tasks only drive it, and can be lost, duplicated or re-run safely."""
from __future__ import annotations

import datetime as dt
import logging
import secrets

from huey import crontab

from webapp.bank_client import DEFAULT_TIMEOUT_S, BankClient
from webapp.observability import new_request_id, request_id_var
from webapp.withdrawals import Owner, PayoutPolicy, PayoutProcessor

from .app import huey, worker

log = logging.getLogger(__name__)

#: A withdrawal nobody touched for this long is picked up by the recovery task.
DEFAULT_RESUME_AFTER_S = 120


def processor() -> PayoutProcessor:
    timeout_s = float(worker.settings.get("wallet.bank_timeout_s", DEFAULT_TIMEOUT_S))
    return PayoutProcessor(worker.run_in_transaction, worker.banks,
                           lambda bank: BankClient(bank, timeout_s),
                           PayoutPolicy.from_settings(worker.settings))


@huey.task()
def process_payouts(owner: str, request_id: str | None = None) -> float | None:
    """Make one payout step for a wallet owner ("user:5" withdrawals,
    "merchant:3" settlements), then queue the owner again at the back of the
    queue if more is due: owners take turns, so one owner's backlog does not
    hold up everybody else's payouts. If the current payout must wait
    (backoff), schedule this task again for then. ``request_id``: the web
    request that asked for it, so its log lines can be followed into here."""
    token = request_id_var.set(request_id or new_request_id())
    try:
        holder = f"task-{secrets.token_hex(8)}"
        step = processor().run_one(owner, holder)
        log.info("payout step for %s: %s", owner, step.kind)
        if step.kind == "wait":
            process_payouts.schedule((owner, request_id_var.get()), delay=max(step.wait_s, 0.05))
            return step.wait_s
        if step.kind == "progress" and step.more:
            process_payouts(owner, request_id_var.get())
        return None
    finally:
        request_id_var.reset(token)


@huey.periodic_task(crontab(minute="*"))
def resume_stalled_withdrawals() -> list[str]:
    """Huey does not redeliver a task whose worker died: find owners whose
    payouts nobody is driving and start a drain for each."""
    older_than = dt.timedelta(
        seconds=float(worker.settings.get("wallet.payout_resume_after_s", DEFAULT_RESUME_AFTER_S)))
    owners = [owner.key for owner in processor().owners_needing_work(older_than)]
    for owner in owners:
        process_payouts(owner)
    return owners


def enqueue_after_commit(transaction_manager, owner) -> None:
    """Queue a drain for ``owner`` (a user id or "merchant:3") once the current
    transaction commits, and only if it does: the worker must find the
    withdrawal in the database."""
    owner_key = Owner.of(owner).key
    request_id = request_id_var.get()

    def hook(committed: bool) -> None:
        if committed:
            process_payouts(owner_key, request_id)

    transaction_manager.get().addAfterCommitHook(hook)
