"""Huey workers: ``huey_consumer huey_tasks.consumer.huey`` (huey_tasks/consumer.py).
They drive the domain's state machines (``wallet``); they hold no rules."""
from . import deposits, housekeeping, metrics, webhooks, withdrawals  # noqa: F401 - registers the tasks
from . import money_requests  # noqa: F401 - users' money requests' expiry sweep
from .app import configure, huey, worker  # noqa: F401
