"""The identity tables."""
from __future__ import annotations

from .api import ApiToken
from .session import WebSession
from .settling import MerchantPin
from .stepup import KycRecord, WalletPin

__all__ = ["ApiToken", "KycRecord", "MerchantPin", "WalletPin", "WebSession"]
