"""Payout tasks. State lives in the database (wallet/banking/payouts.py); these
tasks only drive it, and can be lost, duplicated or re-run safely."""
from __future__ import annotations

import datetime as dt
import logging
import secrets

from huey import crontab

from wallet.banking.payouts import PayoutProcessor, StepKind
from wallet.core.observability import new_request_id, request_id_var

from .app import huey, worker

log = logging.getLogger(__name__)


def processor() -> PayoutProcessor:
    return worker.background().payout_processor()


@huey.task()  # type: ignore[untyped-decorator]  # huey ships no types
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
        if step.kind == StepKind.WAIT:
            process_payouts.schedule((owner, request_id_var.get()), delay=max(step.wait_s, 0.05))
            return step.wait_s
        if step.kind == StepKind.PROGRESS and step.more:
            process_payouts(owner, request_id_var.get())
        return None
    finally:
        request_id_var.reset(token)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def resume_stalled_withdrawals() -> list[str]:
    """Huey does not redeliver a task whose worker died: find owners whose
    payouts nobody is driving and start a drain for each."""
    older_than = dt.timedelta(seconds=worker.settings.payout_resume_after_s)
    owners = [owner.key for owner in processor().owners_needing_work(older_than)]
    for owner in owners:
        process_payouts(owner)
    return owners
