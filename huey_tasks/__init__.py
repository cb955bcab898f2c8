"""Huey workers: ``huey_consumer huey_tasks.consumer.huey`` (huey_tasks/consumer.py).
They drive the domain's state machines (``wallet``); they hold no rules."""
from . import (  # noqa: F401 - registers the tasks
    compensation,
    deposits,
    disputes,
    housekeeping,
    mandates,
    metrics,
    money_requests,
    payment_links,
    schedules,
    settlements,
    tickets,
    transfer_holds,
    webhooks,
    withdrawals,
)
from .app import configure, huey, worker  # noqa: F401
