"""ledgerlib: a double-entry ledger on SQLAlchemy 2.

Quick start::

    from sqlalchemy.orm import Session
    import ledgerlib

    engine = ledgerlib.create_engine("sqlite:///ledger.db")
    ledgerlib.create_all(engine)
    with Session(engine) as session, session.begin():
        ledger = ledgerlib.Ledger(session)
        ledger.open_account("bank:hdfc:settlement", "asset", allow_negative=True)
        ledger.open_account("user:1:wallet", "liability")
        ledger.transfer("bank:hdfc:settlement", "user:1:wallet",
                        ledgerlib.parse_amount("100.50"), idempotency_key="onramp:abc")
        print(ledger.balance("user:1:wallet").available_paise)  # 10050

The caller owns the session and its transaction; the ledger never commits.

Everything an application needs is importable from here (``__all__``); the
ledger's tables are ``ledgerlib.tables.accounts``, ``.entries``, ``.postings``
and ``.holds``. Errors derive from :class:`LedgerError` (the operation wrote
nothing), except :class:`InvariantViolation` (corrupt books or a bug: roll back).
"""
from . import tables
from ._batch import MAX_BATCH_ITEMS, BatchItem, BatchResult, transfer_item
from .autocommit import AutocommitLedger
from .db import configure_engine, configure_sqlite, create_engine, is_retryable, retrying
from .errors import (
    AccountExists,
    AccountNotFound,
    AlreadyReversed,
    BatchRefused,
    CurrencyMismatch,
    EmptyEntry,
    EntryNotFound,
    HoldAlreadyResolved,
    HoldExpired,
    HoldNotFound,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    InvalidEntry,
    LedgerError,
    UnbalancedEntry,
)
from .invariants import InvariantViolation
from .ledger import Ledger
from .money import MAX_AMOUNT_PAISE, check_paise, format_paise, parse_amount, to_decimal_string
from .reports import PeriodTotal
from .schema import NAMING_CONVENTION, UTCDateTime, create_all, guard_ddl, metadata
from .types import (
    Account,
    Balance,
    Entry,
    HistoryItem,
    HistoryPage,
    Hold,
    Leg,
    PeriodBalances,
    Posting,
    credit,
    debit,
)
from .verification import VerifyReport, snapshot_session, verify

__all__ = [
    # the ledger and its values
    "Ledger", "AutocommitLedger", "Account", "Balance", "Entry", "HistoryItem", "HistoryPage",
    "Hold", "Leg",
    "PeriodBalances", "PeriodTotal", "Posting", "VerifyReport", "credit", "debit", "verify",
    # batches
    "BatchItem", "BatchResult", "MAX_BATCH_ITEMS", "transfer_item",
    # money
    "MAX_AMOUNT_PAISE", "check_paise", "format_paise", "parse_amount", "to_decimal_string",
    # errors
    "AccountExists", "AccountNotFound", "AlreadyReversed", "BatchRefused", "CurrencyMismatch",
    "EmptyEntry", "EntryNotFound", "HoldAlreadyResolved", "HoldExpired", "HoldNotFound",
    "IdempotencyConflict",
    "InsufficientFunds", "InvalidAmount", "InvalidEntry", "InvariantViolation", "LedgerError",
    "UnbalancedEntry",
    # database set-up, schema and tables
    "NAMING_CONVENTION", "UTCDateTime", "configure_engine", "configure_sqlite", "create_all",
    "create_engine", "guard_ddl", "is_retryable", "metadata", "retrying", "snapshot_session",
    "tables",
]
