"""What the domain needs done outside the database, after a commit.

The domain declares the work (:class:`TaskQueue`); the worker package
implements it (``huey_tasks.queue``), and each process wires an implementation
at configuration time by name (the ``wallet.task_queue`` setting), so neither
the domain nor any app imports the workers.

Work is handed over only after the database transaction commits, and only if
it does (:func:`after_commit`): a worker must find in the database what it was
told about, and a refused or rolled-back request must start nothing. This
holds for every caller alike: a page's request (pyramid_tm and zope.sqlalchemy
commit the session), an API call, a worker's step or a CLI.
"""
from __future__ import annotations

import contextvars
import importlib
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session, SessionTransaction

from .sessions import SessionHook

log = logging.getLogger(__name__)
_PENDING = "wallet.after_commit"


class TaskQueue(Protocol):
    """Work the domain asks for; each call happens after a commit."""

    def payouts_due(self, owner_key: str) -> None:
        """An owner ("user:5", "merchant:3") has payout work: drive it (one
        payout at a time per owner; the worker takes the owner's lane)."""

    def webhooks_due(self, delivery_ids: list[int]) -> None:
        """Webhooks to shops' servers are due: send them (each on its own, so
        one slow server holds up nobody else's)."""

    def tickets_opened(self, ticket_ids: list[int]) -> None:
        """Users raised these tickets: let the automatic checks examine each
        (wallet.care.auto_resolve) before any person looks."""


class NoTaskQueue:
    """Queues nothing. For processes that never hand work on (seeding demo
    data, tests driving the payout steps themselves); a payout recorded
    without a queue is still found by the workers' recovery sweep."""

    def payouts_due(self, owner_key: str) -> None:
        log.info("no task queue configured: payouts of %s wait for the recovery sweep",
                 owner_key)

    def webhooks_due(self, delivery_ids: list[int]) -> None:
        log.info("no task queue configured: %d webhook(s) wait for the retry sweep",
                 len(delivery_ids))

    def tickets_opened(self, ticket_ids: list[int]) -> None:
        log.info("no task queue configured: %d ticket(s) wait for the examination sweep",
                 len(ticket_ids))


def load_task_queue(name: str, settings: Any) -> TaskQueue:
    """The queue named ``module:factory`` (e.g. ``huey_tasks.queue:HueyTaskQueue``),
    made by calling ``factory(settings)``."""
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"wallet.task_queue must read module:factory, not {name!r}")
    factory: Callable[[Any], TaskQueue] = getattr(importlib.import_module(module_name),
                                                  attribute)
    return factory(settings)


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's outermost transaction has committed,
    in the context (request id...) it was registered in; forget it if the
    transaction rolls back instead. Register it after any savepoint that may
    still roll back: a savepoint's rollback does not withdraw it."""
    context = contextvars.copy_context()
    session.info.setdefault(_PENDING, []).append(lambda: context.run(action))


def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction may still roll back
    for action in session.info.pop(_PENDING, ()):
        try:
            action()
        except Exception:  # noqa: BLE001 - committed is committed; the sweep retries
            log.exception("work after commit failed; the recovery sweep will pick it up")


def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


#: Registered on WalletSession by wallet.db (wallet.core.sessions).
SESSION_HOOKS: tuple[SessionHook, ...] = (
    ("after_commit", _run_after_commit),
    ("after_transaction_end", _forget_after_rollback),
)


T = TypeVar("T")


class TransactionRunner(Protocol):
    """How a worker runs ``fn(session)`` in a committed transaction of its own
    (re-run on retryable errors), returning what ``fn`` returns."""

    def __call__(self, fn: Callable[[Session], T], /) -> T: ...
