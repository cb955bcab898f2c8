"""The ledger verification as a recorded, periodic check: each run (the
workers' periodic task, or an operator) verifies the ledger and our records
against it (wallet.operations.bank_calls.verify_all) in one snapshot, and writes what it
found, when and how long it took to ``ledger_checks``. Metrics report the last
success from there; the operators' console shows the recent runs."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import ledgerlib

from ..core.codes import utcnow
from ..core.sessions import WalletSession
from .bank_calls import verify_all
from .models import LedgerCheck

SUMMARY_CHARS = 1000


def run_ledger_check(engine: Engine, *,
                     clock: Callable[[], dt.datetime] = utcnow) -> LedgerCheck:
    """Verify in one read snapshot, then record the run in a short transaction
    of its own (the snapshot's transaction only reads)."""
    started_at, started = clock(), time.monotonic()
    with ledgerlib.snapshot_session(engine) as snapshot, snapshot.begin():
        result = verify_all(snapshot)
    problems = [*result.ledger.problems, *result.records]
    summary = ("ledger OK; records match the ledger" if result.ok
               else f"{len(problems)} problem(s); first: {problems[0]}")
    check = LedgerCheck(started_at=started_at, finished_at=clock(),
                        duration_ms=int((time.monotonic() - started) * 1000), ok=result.ok,
                        problems=len(problems), summary=summary[:SUMMARY_CHARS])
    with WalletSession(engine, expire_on_commit=False) as session, session.begin():
        session.add(check)
    return check


def recent_checks(db: Session, limit: int = 20) -> list[LedgerCheck]:
    """The latest runs, newest first."""
    return list(db.scalars(select(LedgerCheck).order_by(LedgerCheck.id.desc()).limit(limit)))


def last_success_at(db: Session) -> dt.datetime | None:
    """When the latest run that found nothing wrong finished (None: never)."""
    found: dt.datetime | None = db.scalar(
        select(func.max(LedgerCheck.finished_at)).where(LedgerCheck.ok.is_(True)))
    return found
