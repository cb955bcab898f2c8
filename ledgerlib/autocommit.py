"""Posting for callers that own no wider transaction: each call commits on its own.

:class:`ledgerlib.Ledger` works in the caller's transaction, so a transfer
costs at least three network round trips on PostgreSQL: BEGIN, the fast
path's one statement, COMMIT. A caller whose transfer *is* the whole
transaction (a worker, a CLI, an API call that writes nothing else) can use
:class:`AutocommitLedger` instead: on PostgreSQL it sends the fast path's
statement (:mod:`ledgerlib.fastpath`) alone on a connection in autocommit
mode, where one statement is its own transaction -- one round trip, and the
server runs no BEGIN or COMMIT statement either.

Nothing is given up for it. The statement is the one ``Ledger.post`` runs
first: it locks the accounts in the global order, checks accounts,
currencies and funds (available = posted - held, down to the overdraft limit)
on the locked rows, inserts the entry under its idempotency key, writes the
postings with their running balances and the next links of the accounts'
hash chains, and moves the balances -- all or nothing, as one transaction.
The database guards run as usual: every ledger guard is a row trigger or a
statement trigger, which fires before the statement ends, so before its
implicit commit (none is deferred to COMMIT, which in autocommit would be
the same instant anyway).

When the statement writes nothing -- a check failed, the idempotency key is
taken, an entry with two legs on one account, or the fast path cannot run
here (SQLite, another driver, a ``schema_translate_map``) -- the call runs
``Ledger.post``'s generic path in a transaction of its own (a
:class:`~sqlalchemy.orm.Session` on the engine, committed before returning):
it frees expired holds the entry needs, replays an earlier entry with the
same key and movement, or raises the usual :class:`~ledgerlib.LedgerError`,
having written nothing. Results and errors are exactly ``Ledger.post``'s.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import fastpath
from ._core import utcnow
from .invariants import check_present
from .ledger import Ledger
from .types import Entry, Leg
from .validation import (
    SignedLegs,
    check_key,
    check_memo,
    check_metadata,
    fingerprint_of,
    transfer_legs,
    validate_legs,
)


class AutocommitLedger:
    """Transfers and entries that each commit on their own (see the module's doc).

    ``AutocommitLedger(engine, *, clock=utcnow)``; safe to share between
    threads (it keeps no connection: each call checks one out of the
    engine's pool and gives it back). Use :class:`~ledgerlib.Ledger` to post
    inside a wider transaction -- with other writes that must commit or roll
    back together with the entry.

    A call that returns has committed; one that raises
    :class:`~ledgerlib.LedgerError` has written nothing. A call that fails
    with a database error (connection lost, server restart) may or may not
    have committed: call it again with the same ``idempotency_key`` -- it then
    returns the entry (``replayed=True``) or posts it -- the same as after a
    failed COMMIT of a caller's own transaction. Deadlocks cannot happen (one
    global lock order), so :func:`ledgerlib.retrying` is not needed for them.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], dt.datetime] = utcnow):
        self.engine = engine
        self.clock = clock
        #: The fast path's statement runs on this engine (PostgreSQL, a driver
        #: taking ``%(name)s`` parameters, no ``schema_translate_map``).
        self._one_statement = (
            engine.dialect.name == "postgresql"
            and engine.dialect.paramstyle == "pyformat"
            and not engine.get_execution_options().get("schema_translate_map")
        )

    def transfer(
        self,
        source: str,
        destination: str,
        amount_paise: int,
        *,
        idempotency_key: str | None = None,
        memo: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """:meth:`ledgerlib.Ledger.transfer`, committed on its own."""
        return self._post(transfer_legs(source, destination, amount_paise),
                          idempotency_key, memo, metadata)

    def post(
        self,
        legs: Sequence[Leg],
        *,
        idempotency_key: str | None = None,
        memo: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """:meth:`ledgerlib.Ledger.post`, committed on its own."""
        return self._post(validate_legs(legs), idempotency_key, memo, metadata)

    def _post(self, signed: SignedLegs, idempotency_key: str | None, memo: str,
              metadata: Mapping[str, Any] | None) -> Entry:
        key = check_key(idempotency_key)
        memo = check_memo(memo)
        extra = check_metadata(metadata)
        fingerprint = fingerprint_of("entry", signed, "")
        now = self.clock()
        if self._one_statement:
            built = fastpath.statement(signed, idempotency_key=key, fingerprint=fingerprint,
                                       memo=memo, metadata=extra, created_at=now)
            posted = None if built is None else fastpath.outcome(
                _autocommitted(self.engine, *built))
            if posted is not None:
                return fastpath.posted_entry(signed, posted, idempotency_key=key, memo=memo,
                                             metadata=extra, created_at=now)
        # The generic path decides (where the statement ran, it said no).
        with Session(self.engine) as session, session.begin():
            ledger = Ledger(session, clock=self.clock)
            ledger._fast_path = False
            return ledger._post(signed, kind="entry", idempotency_key=key, memo=memo,
                                metadata=extra)


def _autocommitted(engine: Engine, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run ``sql`` alone on a pooled DBAPI connection in autocommit mode: one
    round trip, its own transaction.

    The DBAPI cursor is used directly: an SQLAlchemy ``Connection`` would cost
    about as much client time again as the call itself (engine events such as
    ``before_cursor_execute`` do not see this statement). Errors are raised as
    SQLAlchemy's :class:`~sqlalchemy.exc.DBAPIError` subclasses, as from a
    ``Connection``, and a lost connection leaves the pool. The connection goes
    back to the pool out of autocommit.
    """
    dialect = engine.dialect
    fairy = engine.raw_connection()
    dbapi_conn = check_present(fairy.dbapi_connection, "a checked-out connection is open")
    try:
        dbapi_conn.autocommit = True
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        except dialect.loaded_dbapi.Error as error:
            invalidated = dialect.is_disconnect(error, dbapi_conn, cursor)
            if invalidated:
                fairy.invalidate(error)
            raise DBAPIError.instance(
                sql, params, error, dialect.loaded_dbapi.Error,
                connection_invalidated=invalidated, dialect=dialect) from error
        finally:
            if fairy.is_valid:
                cursor.close()
    finally:
        if fairy.is_valid:
            try:
                dbapi_conn.autocommit = False
            except Exception as exc:  # noqa: BLE001 - left mid-statement: not reusable
                fairy.invalidate(exc)
        fairy.close()
