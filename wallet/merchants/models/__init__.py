"""The merchants tables."""
from __future__ import annotations

from .shop import (
           MerchantApiKey,
           MerchantDelivery,
           MerchantDeliveryAttempt,
           MerchantEndpoint,
           MerchantEvent,
           PaymentRequest,
           Refund,
)

__all__ = ["MerchantApiKey", "MerchantDelivery", "MerchantDeliveryAttempt", "MerchantEndpoint",
           "MerchantEvent", "PaymentRequest", "Refund"]
