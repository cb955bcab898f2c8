"""The operations tables."""
from __future__ import annotations

from .checks import LedgerCheck
from .operator import AuditEntry, ReconciliationRun

__all__ = ["AuditEntry", "LedgerCheck", "ReconciliationRun"]
