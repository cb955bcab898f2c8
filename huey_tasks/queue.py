"""The workers' side of the domain's task interface (wallet.core.tasks.TaskQueue).

Processes name it in their settings (``wallet.task_queue =
huey_tasks.queue:HueyTaskQueue``, the default) and the domain makes it at
start-up, so no app imports this package. The domain calls it after commit.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wallet.core.observability import request_id_var

from .app import configure, huey
from .tickets import enqueue_tickets
from .webhooks import enqueue_webhooks
from .withdrawals import process_payouts


class HueyTaskQueue:
    def __init__(self, settings: Mapping[str, Any]):
        # What this process enqueues must land where the workers look.
        configure(settings)

    def health(self) -> str:
        """"ok" if the queue's store answers (Redis: a PING), else why not."""
        ping = getattr(getattr(huey.storage, "conn", None), "ping", None)
        try:
            if ping is not None:
                ping()
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            return f"unreachable: {type(exc).__name__}"
        return "ok"

    def payouts_due(self, owner_key: str) -> None:
        # The task carries the request id, so its log lines can be followed.
        process_payouts(owner_key, request_id_var.get())

    def webhooks_due(self, delivery_ids: list[int]) -> None:
        # One task per delivery: a slow shop server holds up only its own.
        enqueue_webhooks(delivery_ids)

    def tickets_opened(self, ticket_ids: list[int]) -> None:
        # One task per ticket: a slow bank holds up only its own answer.
        enqueue_tickets(ticket_ids)
