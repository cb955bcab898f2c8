"""Why the wallet refuses something: each error's message is fit to show the
person who asked, ``field`` names the input it concerns (a form field, an
API parameter), and ``code`` is its stable, machine-readable name (the API
answers it as the problem's ``code``: api_app/problems.py). A refused
operation has written nothing."""
from __future__ import annotations

from typing import ClassVar


class WalletError(Exception):
    """A refused money operation. ``errors`` has every field's problem when
    more than one was found (a form shows them all at once)."""

    #: Stable: clients act on it (never change one). A subclass declares its
    #: own unless it means exactly what its parent means
    #: (tests/test_error_codes.py holds the list of those).
    code: ClassVar[str] = "validation_error"
    field: str | None = None

    def __init__(self, message: str, field: str | None = None,
                 errors: dict[str, str] | None = None):
        super().__init__(message)
        if field is not None:
            self.field = field
        self._errors = dict(errors or {})

    @property
    def errors(self) -> dict[str, str]:
        """Problems by field (``form`` for none in particular)."""
        return dict(self._errors) or {self.field or "form": str(self)}

    @classmethod
    def of_fields(cls, errors: dict[str, str]) -> "WalletError":
        """One error for all of ``errors`` (its message and field: the first)."""
        field, message = next(iter(errors.items()))
        return cls(message, field, errors)


class RecipientNotFound(WalletError):
    code = "recipient_not_found"
    field = "phone"


class SelfTransfer(WalletError):
    code = "self_transfer"
    field = "phone"


class InsufficientBalance(WalletError):
    code = "insufficient_funds"
    field = "amount"


class AmountTooLarge(WalletError):
    code = "limit_exceeded"
    field = "amount"


class DuplicateRequest(WalletError):
    """The form's idempotency token was already used for a different movement."""

    code = "duplicate_request"


class AccountError(Exception):
    """A sign-up or log-in problem to show on the form, with the field it
    concerns; ``errors`` has every field's problem when more than one was found."""

    def __init__(self, message: str, field: str | None = None,
                 errors: dict[str, str] | None = None):
        super().__init__(message)
        self.field = field
        self._errors = dict(errors or {})

    @property
    def errors(self) -> dict[str, str]:
        return dict(self._errors) or {self.field or "form": str(self)}

    @classmethod
    def of_fields(cls, errors: dict[str, str]) -> "AccountError":
        field, message = next(iter(errors.items()))
        return cls(message, field, errors)


class LoginThrottled(AccountError):
    pass
