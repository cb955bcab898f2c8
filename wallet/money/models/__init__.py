"""Money's own tables: users' money requests, split bills and requesters
blocked (wallet.money.money_requests, wallet.money.splits)."""
from __future__ import annotations

from .asks import MoneyRequest, RequestBlock, Split

__all__ = ["MoneyRequest", "RequestBlock", "Split"]
