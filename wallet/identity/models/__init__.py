"""The identity tables."""
from __future__ import annotations

from .api import ApiToken
from .passkeys import Passkey, PasskeyChallenge
from .phone import KnownDevice, OtpCode, SmsOutbox
from .session import WebSession
from .settling import MerchantPin
from .stepup import KycRecord, WalletPin

__all__ = ["ApiToken", "KnownDevice", "KycRecord", "MerchantPin", "OtpCode", "Passkey",
           "PasskeyChallenge", "SmsOutbox", "WalletPin", "WebSession"]
