"""Always-on checks of the ledger's money invariants.

A failed check means a bug or corrupt books (say, a stored held balance that
was edited by hand), never a refused request. The checks stay on under
``python -O``, which strips ``assert`` statements: nothing in ledgerlib uses
``assert``.

:class:`InvariantViolation` deliberately does **not** derive from
:class:`~ledgerlib.LedgerError`. A ``LedgerError`` promises that the operation
wrote nothing, so a caller may catch it and still commit; an invariant check
may fire after some rows were written, and the caller must roll back. It
derives from :class:`AssertionError`, which is what the checks raised when
they were assertions, so existing handlers keep catching it.
"""
from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class InvariantViolation(AssertionError):
    """An internal invariant of the books does not hold: roll the transaction back."""


def check(condition: bool, message: str, *args: object) -> None:
    """Raise :class:`InvariantViolation` unless ``condition`` holds.

    ``message`` is %-formatted with ``args`` only on failure, so a check on a
    hot path costs no string formatting.
    """
    if not condition:
        raise InvariantViolation(message % args if args else message)


def check_present(value: T | None, message: str, *args: object) -> T:
    """Return ``value``; raise :class:`InvariantViolation` if it is None."""
    if value is None:
        raise InvariantViolation(message % args if args else message)
    return value
