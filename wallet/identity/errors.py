"""Who someone is, refused: sign-up and sign-in (AccountError: a form's
problem, not a WalletError), the PIN step-up (wallet.identity.pins) and KYC
(wallet.identity.kyc). Each WalletError's ``code`` is stable (wallet.core.errors)."""
from __future__ import annotations

from ..core.errors import Refusal, WalletError

__all__ = ["AccountError", "CodeDead", "CodeExpired", "CodeRefused", "CodesThrottled",
           "KycRefused", "LoginThrottled", "PasskeyError", "PinLocked", "PinNotSet", "PinRefused",
           "WrongCode", "WrongPin"]


class AccountError(Refusal):
    """A sign-up or log-in problem to show on the form, with the field it
    concerns; ``errors`` has every field's problem when more than one was found."""


class LoginThrottled(AccountError):
    pass


class PasskeyError(AccountError):
    """A passkey refused (wallet.identity.passkeys): its ceremony, its name,
    or its removal; said on the page, never a 500."""


class PinRefused(WalletError):
    """The PIN did not allow this payment (wrong, locked, or not set yet)."""

    field = "pin"
    #: (raised as itself for an approval that is not this owner's: a wrong PIN)
    code = "wrong_pin"


class WrongPin(PinRefused):
    """The PIN does not match: a try counted. Its code is its parent's
    (``wrong_pin``): to the payer it means the same."""


class PinLocked(PinRefused):
    code = "pin_locked"
    #: seconds until payments are unlocked (an API's Retry-After)
    retry_after_s: int = 60


class PinNotSet(PinRefused):
    code = "pin_not_set"


class KycRefused(WalletError):
    code = "kyc_refused"


# Receive handles (wallet.identity.handles) -----------------------------------

__all__ += ["HandleAlreadyChosen", "HandleTaken"]


class HandleTaken(WalletError):
    """Another person, a shop or a store has that handle."""

    code = "handle_taken"
    field = "handle"


class HandleAlreadyChosen(WalletError):
    """A person's handle is chosen once: it is on QR codes already printed."""

    code = "handle_already_chosen"
    field = "handle"


# One-time codes sent to a phone (wallet.identity.phone_codes).
class CodeRefused(WalletError):
    """A one-time code not taken (wrong, expired, used, or after too many tries)."""

    field = "code"
    code = "code_refused"


class WrongCode(CodeRefused):
    """Not the code sent: a try counted."""

    code = "wrong_code"


class CodeExpired(CodeRefused):
    """Sent too long ago: ask for a new one."""

    code = "code_expired"


class CodeDead(CodeRefused):
    """Used already, or too many wrong tries: start again."""

    code = "code_dead"


class CodesThrottled(WalletError):
    """Too many codes sent to this phone lately, or a new one asked too soon."""

    code = "codes_throttled"
    #: seconds until another code may be sent (an API's Retry-After)
    retry_after_s: int = 60

    def __init__(self, message: str, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)
