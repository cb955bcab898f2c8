"""The banking tables."""
from __future__ import annotations

from .saved import UserBankAccount
from .settling import MerchantBankAccount
from .webhook import WebhookAttempt, WebhookEvent
from .withdrawal import PayoutAttempt, PayoutLane, Withdrawal

__all__ = ["MerchantBankAccount", "PayoutAttempt", "PayoutLane", "UserBankAccount",
           "WebhookAttempt", "WebhookEvent", "Withdrawal"]
