"""What the domain tells the outside world it did, for metrics: an observer
with no-op defaults. No process-wide observer exists: whoever builds the
wallet's sessions and services hands theirs in (``wallet.db.get_session_factory(
engine, observer=...)`` keeps it in each session's ``info``, read back by
:func:`observer_of`; ``wallet.services`` gives it to the bank clients). The
adapters (the web apps, the workers) hand in one that feeds Prometheus; the
domain itself imports no metrics library, and importing it installs nothing.

Money operations are seen in one place, not at each call site: every
``transactions`` row written or moved to another status is noted at flush and
reported once its transaction commits (so a rolled-back request counts
nothing), with its kind and the status it reached.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy.orm import Session, SessionTransaction

from .codes import Kind, Status
from .models import Transaction
from .sessions import SessionHook

log = logging.getLogger(__name__)
_NOTED = "wallet.core.observe.noted"


class Observer:
    """The hooks, each a no-op here; an adapter overrides what it records.
    Labels are bounded: bank codes come from the settings' registry, kinds,
    outcomes and verdicts are the domain's constants."""

    def bank_call(self, bank: str, call: str, outcome: str, seconds: float) -> None:
        """A call to a bank's API (``call``: send_payout, payout_status,
        payment_status, statement) answered ``outcome`` (ok, not_found,
        rejected, unavailable) after ``seconds``."""

    def money_operation(self, kind: str, outcome: str) -> None:
        """A money movement of ``kind`` (wallet.core.codes.Kind) reached status ``outcome``."""

    def payout_settled(self, bank: str, outcome: str) -> None:
        """A payout reached a final status (completed, failed, reversed, needs_review)."""

    def deposit_settled(self, bank: str, outcome: str, seconds: float) -> None:
        """A deposit was settled (success or failed), ``seconds`` after it was started."""

    def webhook_delivery(self, bank: str, verdict: str, accepted: bool) -> None:
        """A bank's webhook delivery was judged (the webhook app's verdict)."""

    def compensation_paid(self, days: int, paise: int) -> None:
        """``days`` days of compensation for a late reversal were credited,
        ``paise`` in all (wallet.care.compensation; after commit)."""


#: The observer of whoever hands in none: it records nothing.
NO_OBSERVER = Observer()
_OBSERVER = "wallet.core.observe.observer"


def observed_by(observer: Observer) -> dict[str, object]:
    """A session's ``info`` saying ``observer`` hears of its money operations
    (what wallet.db.get_session_factory gives each session it makes)."""
    return {_OBSERVER: observer}


def observer_of(session: Session) -> Observer:
    """The observer ``session`` reports to (its factory's), else :data:`NO_OBSERVER`."""
    found = session.info.get(_OBSERVER)
    return found if isinstance(found, Observer) else NO_OBSERVER


@dataclass(frozen=True)
class _Moved:
    kind: str
    status: str
    bank: str
    seconds: float | None  # creation to settlement, when settled


PAYOUT_FINAL = (Status.COMPLETED, Status.FAILED, Status.REVERSED, Status.NEEDS_REVIEW)


def _report(seen: Observer, moved: _Moved) -> None:
    seen.money_operation(moved.kind, moved.status)
    if moved.kind == Kind.WITHDRAWAL and moved.status in PAYOUT_FINAL:
        seen.payout_settled(moved.bank, moved.status)
    if moved.kind == Kind.DEPOSIT and moved.status in (Status.SUCCESS, Status.FAILED):
        seen.deposit_settled(moved.bank, moved.status, moved.seconds or 0.0)


def _seconds(created: dt.datetime | None, settled: dt.datetime | None) -> float | None:
    if created is None or settled is None:
        return None
    if (created.tzinfo is None) != (settled.tzinfo is None):  # SQLite hands back naive times
        created, settled = created.replace(tzinfo=None), settled.replace(tzinfo=None)
    return max(0.0, (settled - created).total_seconds())


def _note_moves(session: Session, _context: object) -> None:
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Transaction):
            continue
        if obj not in session.new and not inspect(obj).attrs.status.history.has_changes():
            continue
        note_written(session, obj)


def note_written(session: Session, tx: Transaction) -> None:
    """Note ``tx`` as written, reported once its transaction commits: done at
    flush for every Transaction; a row inserted by a statement of its own
    (wallet.core.notifications.insert_notified) is noted by its writer."""
    session.info.setdefault(_NOTED, []).append(_Moved(
        tx.kind, tx.status, tx.bank_code or "none", _seconds(tx.created_at, tx.settled_at)))


def _report_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    seen = observer_of(session)
    for moved in session.info.pop(_NOTED, ()):
        try:
            _report(seen, moved)
        except Exception:  # noqa: BLE001 - metrics never break a committed operation
            log.exception("an observer failed")


def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_NOTED, None)


#: Registered on WalletSession by wallet.db (wallet.core.sessions).
SESSION_HOOKS: tuple[SessionHook, ...] = (
    ("after_flush", _note_moves),
    ("after_commit", _report_after_commit),
    ("after_transaction_end", _forget_after_rollback),
)
