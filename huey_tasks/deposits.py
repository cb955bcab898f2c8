"""Periodic task: settle deposits whose webhook never came (or came too late)."""
from __future__ import annotations

from huey import crontab

from .app import huey, worker


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey: no types
def sweep_stuck_deposits() -> dict[str, int]:
    return worker.background().sweep_stuck_deposits()
