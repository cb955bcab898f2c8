"""Why the wallet refuses something: each error's message is fit to show the
person who asked, and ``field`` names the input it concerns (a form field, an
API parameter). A refused operation has written nothing."""
from __future__ import annotations


class WalletError(Exception):
    """A refused money operation."""

    field: str | None = None

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        if field is not None:
            self.field = field


class RecipientNotFound(WalletError):
    field = "phone"


class SelfTransfer(WalletError):
    field = "phone"


class InsufficientBalance(WalletError):
    field = "amount"


class AmountTooLarge(WalletError):
    field = "amount"


class DuplicateRequest(WalletError):
    """The form's idempotency token was already used for a different movement."""


class AccountError(Exception):
    """A sign-up or log-in problem to show on the form, with the field it concerns."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class LoginThrottled(AccountError):
    pass
