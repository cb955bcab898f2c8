"""Webhook tasks: each delivery to a shop's server is its own task, so a slow
or dead server occupies one worker for at most the call's timeout and holds up
nobody else's deliveries. State lives in the database
(wallet/merchants/webhooks.py); these tasks only drive it, and can be lost,
duplicated or re-run safely (a delivery is claimed under its row lock)."""
from __future__ import annotations

import logging

from huey import crontab

from wallet.core.codes import utcnow
from wallet.core.observability import new_request_id, request_id_var
from wallet.merchants.payment_requests import EXPIRE_BATCH
from wallet.merchants.webhook_deliveries import WebhookWorker

from .app import huey, worker
from .tickets import enqueue_tickets
from .withdrawals import process_payouts

log = logging.getLogger(__name__)
#: Batches of payment requests expired per run of the periodic task.
EXPIRE_MAX_BATCHES = 10


def webhook_worker() -> WebhookWorker:
    return worker.background().webhook_worker()


@huey.task()  # type: ignore[untyped-decorator]  # huey ships no types
def send_webhook(delivery_id: int, request_id: str | None = None) -> float | None:
    """Send one delivery; if it must be tried again (backoff, or its failing
    endpoint's turn), schedule this task again for then. Returns that delay."""
    token = request_id_var.set(request_id or new_request_id())
    try:
        step = webhook_worker().run_one(delivery_id)
        if step.recorded is not None:
            log.info("webhook delivery %s: %s", delivery_id, step.recorded.status)
        if step.retry_at is None:
            return None
        delay_s = max((step.retry_at - utcnow()).total_seconds(), 0.05)
        send_webhook.schedule((delivery_id, request_id_var.get()), delay=delay_s)
        return delay_s
    finally:
        request_id_var.reset(token)


def enqueue_webhooks(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        send_webhook(delivery_id, request_id_var.get())


class WorkerTaskQueue:
    """The domain's TaskQueue inside a worker (huey_tasks.queue.HueyTaskQueue
    would re-configure the worker)."""

    def payouts_due(self, owner_key: str) -> None:
        process_payouts(owner_key, request_id_var.get())

    def webhooks_due(self, delivery_ids: list[int]) -> None:
        enqueue_webhooks(delivery_ids)

    def tickets_opened(self, ticket_ids: list[int]) -> None:
        enqueue_tickets(ticket_ids)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def sweep_webhooks() -> list[int]:
    """Huey does not redeliver a task whose worker died, and a task queued
    after commit may be lost: send deliveries overdue by ``resume_after_s``."""
    due = webhook_worker().due()
    enqueue_webhooks(due)
    return due


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def expire_payment_requests() -> int:
    """Expire payment requests whose time is up; each tells the shop's server
    (its deliveries are queued after each batch commits)."""
    background = worker.background(WorkerTaskQueue())
    total = 0
    for _ in range(EXPIRE_MAX_BATCHES):
        expired = worker.run_in_transaction(
            lambda session: background.services(session).payment_requests.expire_due())
        total += expired
        if expired < EXPIRE_BATCH:
            break
    return total
