"""The merchants tables."""
from __future__ import annotations

from .dispute import Dispute
from .link import PaymentLink
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

__all__ = ["Dispute", "Mandate", "MandateDebit", "MerchantApiKey", "MerchantDelivery",
           "MerchantDeliveryAttempt", "MerchantEndpoint", "MerchantEvent", "PaymentLink",
           "PaymentRequest", "Refund"]
