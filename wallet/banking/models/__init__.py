"""The banking tables."""
from __future__ import annotations

from .auto_settlement import Settlement, SettlementPayout, SettlementSchedule
from .saved import UserBankAccount
from .settling import MerchantBankAccount
from .webhook import WebhookAttempt, WebhookEvent
from .withdrawal import PayoutAttempt, PayoutLane, Withdrawal

__all__ = ["MerchantBankAccount", "PayoutAttempt", "PayoutLane", "Settlement",
           "SettlementPayout", "SettlementSchedule", "UserBankAccount", "WebhookAttempt",
           "WebhookEvent", "Withdrawal"]
