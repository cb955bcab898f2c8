"""The core tables."""
from __future__ import annotations

from .counter_event import CounterEvent
from .idempotency import IdempotencyRecord
from .merchant import Merchant, MerchantStore
from .meta import Base, table_of
from .notification import MerchantNotification, Notification
from .operator import Operator
from .staff import MerchantStaff, MerchantStaffAction, MerchantStaffStore
from .transaction import Transaction
from .user import LoginAttempt, LoginThrottle, User

__all__ = ["Base", "CounterEvent", "IdempotencyRecord", "LoginAttempt", "LoginThrottle",
           "Merchant", "MerchantNotification", "MerchantStore", "Notification", "Operator",
           "Transaction", "User", "table_of",
           # The people of a shop (wallet.merchants.staff).
           "MerchantStaff", "MerchantStaffAction", "MerchantStaffStore"]
