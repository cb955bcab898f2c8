"""The merchants tables."""
from __future__ import annotations

from .mandate import Mandate, MandateDebit
from .shop import (
           MerchantApiKey,
           MerchantDelivery,
           MerchantDeliveryAttempt,
           MerchantEndpoint,
           MerchantEvent,
           PaymentRequest,
           Refund,
)

__all__ = ["Mandate", "MandateDebit", "MerchantApiKey", "MerchantDelivery",
           "MerchantDeliveryAttempt", "MerchantEndpoint", "MerchantEvent", "PaymentRequest",
           "Refund"]
