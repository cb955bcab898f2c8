"""Counting the database round trips an operation makes (issue #25): the
statements sent on an engine's connections while :func:`counting` is open,
whatever connection sends them (the request's, the PIN tries' autocommit one:
wallet.identity.pin_tries), so the suite (tests/apps/test_round_trips.py) and the
bench (bench/round_trips.py) hold each money operation to its budget
(wallet.core.budgets).

Not counted: ``BEGIN`` (SQLite's ``BEGIN IMMEDIATE`` is a statement of its
own; psycopg sends PostgreSQL's with the first statement), ``COMMIT`` and
``ROLLBACK`` -- every transaction has them, whatever it does. Savepoints are
counted: an operation chooses them. The pool's pre-ping at each checkout
(``pool_pre_ping``) goes round the listener; :attr:`RoundTrips.checkouts`
counts the checkouts, one ping each on a connection taken from the pool.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

__all__ = ["RoundTrips", "counting"]

_NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK")


@dataclass
class RoundTrips:
    """The statements seen, in order, and the pool checkouts."""

    statements: list[str] = field(default_factory=list)
    checkouts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def count(self) -> int:
        return len(self.statements)

    def listing(self) -> str:
        """The statements numbered, one a line (a failing budget's message)."""
        return "\n".join(f"{number:3}. {' '.join(text.split())}"
                         for number, text in enumerate(self.statements, 1))

    def _seen(self, text: str) -> None:
        if text.strip().split(None, 1)[0].upper() in _NOT_COUNTED:
            return
        with self._lock:
            self.statements.append(text)

    def _checked_out(self) -> None:
        with self._lock:
            self.checkouts += 1


@contextmanager
def counting(engine: Engine) -> Iterator[RoundTrips]:
    """The round trips made on ``engine`` until the block ends (every thread's)."""
    trips = RoundTrips()

    def before_cursor_execute(conn: Any, cursor: Any, statement: str, parameters: Any,
                              context: Any, executemany: bool) -> None:
        trips._seen(statement)

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        trips._checked_out()

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    event.listen(engine.pool, "checkout", checkout)
    try:
        yield trips
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)
        event.remove(engine.pool, "checkout", checkout)
