"""Every error the ledger raises for a refused request; all derive from :class:`LedgerError`.

Whenever one of these is raised by a ledger operation, that operation wrote
nothing: checks run before the first write. (The one exception that is not a
``LedgerError`` is :class:`ledgerlib.InvariantViolation`, from
:mod:`ledgerlib.invariants`: corrupt books or a bug, after which the caller
must roll back.)
"""
from __future__ import annotations


class LedgerError(Exception):
    """Base class of all ledger errors."""


class InvalidAmount(LedgerError, ValueError):
    """An amount is not a positive integer of minor units, or text did not parse."""


class InvalidEntry(LedgerError, ValueError):
    """A journal entry is malformed."""


class EmptyEntry(InvalidEntry):
    """An entry has fewer than two postings."""


class UnbalancedEntry(InvalidEntry):
    """Debits and credits of an entry differ (checked per currency)."""


class CurrencyMismatch(InvalidEntry):
    """A posting's currency differs from its account's currency."""


class AccountNotFound(LedgerError, LookupError):
    """No account has the given code."""


class AccountExists(LedgerError):
    """An account with this code exists with different properties."""


class InsufficientFunds(LedgerError):
    """Posting would take a non-negative account's available balance below zero."""

    def __init__(self, account_code: str, available_paise: int, requested_paise: int):
        self.account_code = account_code
        self.available_paise = available_paise
        self.requested_paise = requested_paise
        super().__init__(
            f"insufficient funds in {account_code}: available {available_paise}, "
            f"requested {requested_paise}"
        )


class IdempotencyConflict(LedgerError):
    """An idempotency key was reused for a different movement."""


class EntryNotFound(LedgerError, LookupError):
    """No journal entry has the given id."""


class AlreadyReversed(LedgerError):
    """The entry was already reversed by another entry."""


class HoldNotFound(LedgerError, LookupError):
    """No hold has the given id."""


class HoldAlreadyResolved(LedgerError):
    """The hold was already resolved the other way (committed vs released)."""


class BatchRefused(LedgerError):
    """An all-or-nothing batch had an item refused; nothing of the batch was written.

    ``results`` holds every item's outcome (see :class:`ledgerlib.BatchResult`);
    ``error`` of the first refused one is also this exception's cause.
    """

    def __init__(self, results: list[object], first_refused: int, reason: LedgerError):
        self.results = results
        self.first_refused = first_refused
        super().__init__(f"batch item {first_refused} refused: {reason}")


class HoldExpired(HoldAlreadyResolved):
    """The hold passed its ``expires_at``: it counts as released and cannot be committed."""
