"""Money's own tables: users' money requests, split bills and requesters
blocked (wallet.money.money_requests, wallet.money.splits); payment schedules
and their runs (wallet.money.schedules)."""
from __future__ import annotations

from .asks import MoneyRequest, RequestBlock, Split
from .schedule import PaymentSchedule, ScheduleRun
from .transfer_hold import TransferHold

__all__ = ["MoneyRequest", "PaymentSchedule", "RequestBlock", "ScheduleRun", "Split",
           "TransferHold"]
