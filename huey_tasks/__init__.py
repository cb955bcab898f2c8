"""Huey workers: ``huey_consumer huey_tasks.huey`` (see huey_tasks/app.py)."""
from . import deposits  # noqa: F401 - registers the tasks
from .app import huey, worker  # noqa: F401
