"""What the consumer loads: ``WALLET_INI=production.ini huey_consumer
huey_tasks.consumer.huey``. The workers' settings are read here, from the ini
file named by ``WALLET_INI`` (default development.ini), and only here: no
other process imports this module, so importing huey_tasks reads no file."""
from __future__ import annotations

import os

from wallet.settings import load_settings

from . import (  # noqa: F401 - the tasks
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
from .app import configure, huey

__all__ = ["configure_from_ini", "huey"]


def configure_from_ini(path: str | None = None) -> None:
    """Configure the workers from the ini file at ``path`` (else ``WALLET_INI``).
    A consumer without its settings would work an in-memory queue no one
    else sees: a missing file stops it."""
    path = path or os.environ.get("WALLET_INI", "development.ini")
    if not os.path.exists(path):
        raise SystemExit(f"huey_tasks.consumer: no ini file {path!r} (set WALLET_INI)")
    configure(load_settings(path))


configure_from_ini()
