"""The ledger's tables, for applications that read them directly.

``ledgerlib.tables.accounts``, ``entries``, ``postings`` and ``holds`` are the
SQLAlchemy ``Table`` objects of :data:`ledgerlib.metadata` (defined in
:mod:`ledgerlib.schema`). Write to them only through :class:`ledgerlib.Ledger`:
balances are maintained in the same transaction as the postings.
"""
from __future__ import annotations

from .schema import accounts, entries, holds, postings

__all__ = ["accounts", "entries", "holds", "postings"]
