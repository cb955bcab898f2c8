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
        assert ledger.balance("user:1:wallet").available_paise == 10050

The caller owns the session and its transaction; the ledger never commits.
"""
from .db import create_engine, is_retryable, retrying
from .errors import (
    AccountExists,
    AccountNotFound,
    AlreadyReversed,
    CurrencyMismatch,
    EmptyEntry,
    EntryNotFound,
    HoldAlreadyResolved,
    HoldNotFound,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    InvalidEntry,
    LedgerError,
    UnbalancedEntry,
)
from .ledger import (
    Account,
    Balance,
    Entry,
    HistoryItem,
    HistoryPage,
    Hold,
    Leg,
    Ledger,
    Posting,
    credit,
    debit,
)
from .money import MAX_AMOUNT_PAISE, format_paise, parse_amount, to_decimal_string
from .reports import PeriodTotal
from .schema import create_all, guard_ddl, metadata
from .verify import VerifyReport, verify

__all__ = [
    "Account", "AccountExists", "AccountNotFound", "AlreadyReversed", "Balance",
    "CurrencyMismatch", "EmptyEntry", "Entry", "EntryNotFound", "HistoryItem",
    "HistoryPage", "Hold", "HoldAlreadyResolved", "HoldNotFound", "IdempotencyConflict",
    "InsufficientFunds", "InvalidAmount", "InvalidEntry", "Leg", "Ledger", "LedgerError",
    "MAX_AMOUNT_PAISE", "PeriodTotal", "Posting", "UnbalancedEntry", "VerifyReport",
    "create_all", "create_engine", "credit", "debit", "format_paise", "guard_ddl",
    "is_retryable", "metadata", "parse_amount", "retrying", "to_decimal_string", "verify",
]
