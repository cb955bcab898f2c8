"""Ticket tasks: each new ticket is examined by the automatic checks
(wallet.care.auto_resolve) as a task of its own, queued after its report
commits; a periodic sweep examines open tickets whose task was lost. State
lives in the database: a ticket is examined once, under its row lock, so a
task lost, duplicated or re-run changes nothing more."""
from __future__ import annotations

import logging

from huey import crontab

from wallet.care.auto_resolve import TicketExaminer
from wallet.core.observability import new_request_id, request_id_var

from .app import huey, worker

log = logging.getLogger(__name__)


def examiner() -> TicketExaminer:
    # (A twin refunded tells its shop by webhook: a queue that sends it. Imported
    # here: huey_tasks.webhooks' queue imports this module to enqueue tickets.)
    from .webhooks import WorkerTaskQueue

    return worker.background(WorkerTaskQueue()).ticket_examiner()


@huey.task()  # type: ignore[untyped-decorator]  # huey ships no types
def examine_ticket(ticket_id: int, request_id: str | None = None) -> str | None:
    """Examine one ticket; the status it moved to, if any."""
    token = request_id_var.set(request_id or new_request_id())
    try:
        status = examiner().examine(ticket_id)
        log.info("ticket %s examined: %s", ticket_id, status or "nothing to say")
        return status
    finally:
        request_id_var.reset(token)


def enqueue_tickets(ticket_ids: list[int]) -> None:
    for ticket_id in ticket_ids:
        examine_ticket(ticket_id, request_id_var.get())


@huey.periodic_task(crontab(minute="*/5"))  # type: ignore[untyped-decorator]  # huey: no types
def sweep_tickets() -> list[int]:
    """Huey does not redeliver a task whose worker died, and a task queued
    after commit may be lost: examine open tickets never examined."""
    return examiner().sweep()
