"""Counting wallet PIN tries so that nothing a request does afterwards -- a
rollback, a 5xx, a lost connection, a refused ``Idempotency-Key`` -- can undo
the count: no PIN is compared before its try is durably counted.

**PostgreSQL**: the try is counted on a pooled connection of its own in
autocommit, so the counting ``UPDATE ... RETURNING`` is its own transaction,
committed before the PIN is compared; the outcome (a right PIN clears the
count, the last wrong one locks) is written there too. Cost on a payment: the
pool's pre-ping of that connection, the counting statement and the clearing
one -- one round trip more than when both ran in the request's transaction
(autocommit sends no BEGIN or COMMIT). A caller's next read may ride on the
clearing statement (``Tally.settle(then=…)``: a transfer reads its
recipient's room there, wallet.money.transfers). It works through PgBouncer in
transaction mode (each statement is a transaction; no session state), and
the request's own transaction never locks a PIN row any more, so parallel
payments of one user no longer queue on it. Each request thread holds at most
two pooled connections at once, the second for a few milliseconds.

**SQLite** lets one connection write at a time, and every transaction here
begins with ``BEGIN IMMEDIATE``: while the request's transaction is open,
another connection's write would wait for the request that waits for it (until
the busy timeout, then "database is locked"). There -- and on PostgreSQL for a
user whose PIN row this transaction already wrote, which it keeps locked until
it ends -- the try and its outcome are written in the unit of work, and if it
ends without a commit they are written again at once, in a transaction of
their own, after the rollback has released the lock. The window left is the
process dying between the compare and the end of its transaction: SQLite is
for development and tests only.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Engine, Row, Select, bindparam, case, update
from sqlalchemy.orm import Session, SessionTransaction

from ..core.sessions import SessionHook
from .models import MerchantPin, WalletPin

__all__ = ["SESSION_HOOKS", "Outcome", "PinRows", "Read", "Reservation", "Tally",
           "TryCounter"]

log = logging.getLogger(__name__)

#: session.info keys: outcomes to write again if the transaction ends without
#: a commit; user ids whose PIN row the open transaction has written.
_PENDING = "wallet.identity.pin_tries.pending"
_WRITTEN = "wallet.identity.pin_tries.written"
# ORM-enabled statements (so that the request's transaction manager sees a
# change to commit) on rows no session holds in memory.
_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class PinRows:
    """Whose PINs: their table (a user's ``wallet_pins``, a shop's
    ``merchant_pins``) and its owner column."""

    table: type[WalletPin] | type[MerchantPin]
    owner: Column[int]


@dataclass(frozen=True)
class Reservation:
    """A counted try: tries including this one, the lock, the stored hash."""

    tries: int
    locked_until: dt.datetime | None
    pin_hash: str


@dataclass(frozen=True)
class Outcome:
    """What comparing the PIN decided, to be written (again if need be)."""

    rows: PinRows
    user_id: int
    at: dt.datetime
    right: bool
    #: A wrong PIN that used the last try: payments locked until then.
    lock_until: dt.datetime | None = None
    #: A right PIN whose hash is stale: the hash to store instead of ``old_hash``.
    new_hash: str | None = None
    old_hash: str | None = None


#: A read and its parameters (a caller's, riding on the outcome's write).
Read = tuple[Select[Any], Mapping[str, Any]]
#: What Tally runs a statement with: the statement and its parameters.
Run = Callable[[Any, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class _Statements:
    """One PIN table's statements, built once (bound parameters ``pin_*``):
    a payment neither builds them nor walks them for their cache key again."""

    reserve: Any
    clear: Any
    rehash: Any
    lock: Any
    give_back: Any


@functools.cache
def _statements(rows: PinRows) -> _Statements:
    pins = rows.table
    now = bindparam("pin_now", type_=pins.updated_at.type)
    mine = update(pins).where(rows.owner == bindparam("pin_owner"))
    # Count one more try; a lock that has run out starts the count afresh.
    lapsed = pins.locked_until.is_not(None) & (pins.locked_until <= now)
    reserve = (mine.values(failed_tries=case((lapsed, 1), else_=pins.failed_tries + 1),
                           locked_until=case((lapsed, None), else_=pins.locked_until),
                           updated_at=now)
               .returning(pins.failed_tries, pins.locked_until, pins.pin_hash))
    clear = mine.values(failed_tries=0, locked_until=None)
    # A stale hash re-made, unless the PIN was changed meanwhile.
    rehash = mine.values(failed_tries=0, locked_until=None, pin_hash=case(
        (pins.pin_hash == bindparam("pin_old_hash"), bindparam("pin_new_hash")),
        else_=pins.pin_hash))
    lock = mine.values(locked_until=bindparam("pin_lock_until", type_=pins.locked_until.type))
    give_back = (mine.where(pins.failed_tries > bindparam("pin_over"))
                 .values(failed_tries=pins.failed_tries - 1))
    return _Statements(reserve, clear, rehash, lock, give_back)


def _reserve_stmt(rows: PinRows, user_id: int, now: dt.datetime) -> tuple[Any, dict[str, Any]]:
    """Count one more try; a lock that has run out starts the count afresh."""
    return _statements(rows).reserve, {"pin_owner": user_id, "pin_now": now}


def _outcome_stmt(outcome: Outcome) -> tuple[Any, dict[str, Any]] | None:
    """The write an outcome needs after its counted try (None: nothing more)."""
    stmts = _statements(outcome.rows)
    mine = {"pin_owner": outcome.user_id}
    if not outcome.right:
        return None if outcome.lock_until is None else (
            stmts.lock, {**mine, "pin_lock_until": outcome.lock_until})
    if outcome.new_hash is not None:
        return stmts.rehash, {**mine, "pin_old_hash": outcome.old_hash,
                              "pin_new_hash": outcome.new_hash}
    return stmts.clear, mine


@functools.lru_cache(maxsize=64)
def _folded(then: Select[Any], write: Any) -> Select[Any]:
    """``then`` with ``write`` as a data-modifying CTE: one statement (built
    once per pair of prebuilt statements)."""
    return then.add_cte(write.cte("pin_settled"))


class Tally:
    """One user's try, counted on ``run``'s connection: :meth:`reserve`
    first, then :meth:`settle` with what the compare decided."""

    def __init__(self, rows: PinRows, run: Run,
                 pending: list[Outcome] | None, *, folds: bool = False):
        self.rows = rows
        self._run = run
        self._pending = pending  # None: each write is committed already
        self._folds = folds  # a read may ride on the outcome's write (PostgreSQL, apart)

    def reserve(self, user_id: int, now: dt.datetime) -> Reservation | None:
        row = self._run(*_reserve_stmt(self.rows, user_id, now)).first()
        if row is None:
            return None
        locked_until = row.locked_until
        if locked_until is not None and locked_until.tzinfo is None:  # (SQLite)
            locked_until = locked_until.replace(tzinfo=dt.timezone.utc)
        return Reservation(int(row.failed_tries), locked_until, str(row.pin_hash))

    @property
    def committed_at_once(self) -> bool:
        """Each write is its own committed transaction (PostgreSQL, apart):
        other requests' tries are seen while they are in flight."""
        return self._pending is None

    def give_back(self, user_id: int, *, over: int) -> None:
        """Take back a try that was counted but will not be compared (too
        many in flight: see Pins._reserve) -- only while the count is still
        above ``over``: a right PIN may have cleared it since, and the tries
        counted after that are others', to be compared."""
        self._run(_statements(self.rows).give_back, {"pin_owner": user_id, "pin_over": over})

    def settle(self, outcome: Outcome, then: Read | None = None) -> Row[Any] | None:
        """Write the outcome; with ``then``, a read of the caller's, its first
        row returned: in the same statement where that can be (the write as
        a data-modifying CTE, on the connection apart: one round trip).
        Read there, ``then`` sees what is committed when it runs -- for a
        caller that holds the row locks its read depends on, what its own
        transaction would see (wallet.money.limits)."""
        write = _outcome_stmt(outcome)
        row: Row[Any] | None = None
        if then is not None and write is not None and self._folds:
            row = self._run(_folded(then[0], write[0]), {**then[1], **write[1]}).first()
        else:
            if write is not None:
                self._run(*write)
            if then is not None:
                row = self._run(*then).first()
        if self._pending is not None:
            self._pending.append(outcome)
        return row


class TryCounter:
    def __init__(self, dbsession: Session, rows: PinRows):
        self.db = dbsession
        self.rows = rows

    @contextmanager
    def tally(self, user_id: int) -> Iterator[Tally]:
        """Where ``user_id``'s try is counted (see the module's doc)."""
        if self._apart(user_id):
            with _engine(self.db).connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                yield Tally(self.rows, conn.execute, None, folds=True)
            return
        if self.db.in_nested_transaction():
            # A savepoint rolled back would undo the count while the
            # transaction goes on: count at its top level (no caller does).
            raise RuntimeError("a PIN is checked outside savepoints")
        self.wrote(user_id)
        yield Tally(self.rows, lambda stmt, params: self.db.execute(
            stmt, params, execution_options=_NO_SYNC),
                    self.db.info.setdefault(_PENDING, []))

    def wrote(self, user_id: int) -> None:
        """The open transaction writes ``user_id``'s PIN row (and so holds
        its lock until it ends): count that user's tries in it."""
        self.db.info.setdefault(_WRITTEN, set()).add(self._row_of(user_id))

    def _apart(self, user_id: int) -> bool:
        return (_engine(self.db).dialect.name == "postgresql"
                and self._row_of(user_id) not in self.db.info.get(_WRITTEN, ()))

    def _row_of(self, owner_id: int) -> tuple[str, int]:
        return (self.rows.table.__tablename__, owner_id)  # (a shop's id is not a user's)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _committed(session: Session) -> None:
    session.info.pop(_PENDING, None)  # written for good


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(_WRITTEN, None)
    pending: list[Outcome] | None = session.info.pop(_PENDING, None)
    if pending:  # rolled back (or closed) without a commit: write them again
        _write_again(_engine(session), pending)


#: Registered on WalletSession by wallet.db (wallet.core.sessions).
SESSION_HOOKS: tuple[SessionHook, ...] = (
    ("after_commit", _committed),
    ("after_transaction_end", _ended),
)


def _write_again(engine: Engine, pending: list[Outcome]) -> None:
    try:
        with engine.begin() as conn:
            for outcome in pending:
                if not outcome.right:
                    conn.execute(*_reserve_stmt(outcome.rows, outcome.user_id, outcome.at))
                write = _outcome_stmt(outcome)
                if write is not None:
                    conn.execute(*write)
    except Exception:  # (never let it hide the error that rolled the request back)
        log.exception("PIN tries of users %s rolled back and not written again",
                      sorted({outcome.user_id for outcome in pending}))
