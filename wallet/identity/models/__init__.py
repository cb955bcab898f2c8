"""The identity tables."""
from __future__ import annotations

from .api import ApiToken
from .passkeys import Passkey, PasskeyChallenge
from .session import WebSession
from .settling import MerchantPin
from .stepup import KycRecord, WalletPin

__all__ = ["ApiToken", "KycRecord", "MerchantPin", "Passkey", "PasskeyChallenge", "WalletPin",
           "WebSession"]
