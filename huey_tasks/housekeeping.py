"""Periodic housekeeping: forget API idempotency keys and ended web sessions
past their keeping time; verify the ledger and record each run; record
expired ledger holds."""
from __future__ import annotations

import logging

from huey import crontab

from wallet.operations.ledger_checks import run_ledger_check

from .app import huey, worker

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="7"))  # type: ignore[untyped-decorator]  # hourly; huey has no types
def purge_idempotency_keys() -> int:
    """Keys are kept at least wallet.core.idempotency.KEEP_FOR (48 h), then dropped."""
    return worker.run_in_transaction(
        lambda session: worker.background().services(session).idempotency_keys.purge())


@huey.periodic_task(crontab(minute="37"))  # type: ignore[untyped-decorator]  # hourly; huey has no types
def purge_web_sessions() -> int:
    """Page-app sessions are kept wallet.identity.web_sessions.KEEP_FOR (30 days) past
    their expiry, then dropped."""
    return worker.run_in_transaction(
        lambda session: worker.background().services(session).web_sessions(None).purge())


@huey.periodic_task(crontab(minute="*/15"))  # type: ignore[untyped-decorator]  # huey has no types
def verify_ledger() -> bool:
    """Verify the ledger and our records against it, and record the run
    (wallet.operations.ledger_checks): metrics alert when no clean run is recent."""
    engine = worker.session_factory().kw["bind"]
    check = run_ledger_check(engine)
    if not check.ok:
        log.error("ledger verification found problems: %s", check.summary)
    return check.ok


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey has no types
def expire_ledger_holds() -> list[int]:
    """Holds with an expiry are released for good once it passes (ids of those released)."""
    return worker.run_in_transaction(
        lambda session: worker.background().services(session).withdrawals.expire_holds())
