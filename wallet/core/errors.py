"""Why the wallet refuses something: each error's message is fit to show the
person who asked, ``field`` names the input it concerns (a form field, an
API parameter), and ``code`` is its stable, machine-readable name (the API
answers it as the problem's ``code``: api_app/problems.py). A refused
operation has written nothing.

Here: the base and the kernel's own refusals (a request key reused); each
capability keeps its own in ``wallet.<capability>.errors``
(tests/domain/test_error_codes.py checks both the place and the code)."""
from __future__ import annotations

from typing import ClassVar, Self


class Refusal(Exception):
    """A refusal to show on the form or in the problem: its message, the
    ``field`` it concerns, and ``errors``, every field's problem when more
    than one was found (a form shows them all at once)."""

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
    def of_fields(cls, errors: dict[str, str]) -> Self:
        """One error for all of ``errors`` (its message and field: the first)."""
        field, message = next(iter(errors.items()))
        return cls(message, field, errors)


class WalletError(Refusal):
    """A refused money operation."""

    #: Stable: clients act on it (never change one). A subclass declares its
    #: own unless it means exactly what its parent means
    #: (tests/domain/test_error_codes.py holds the list of those).
    code: ClassVar[str] = "validation_error"


class DuplicateRequest(WalletError):
    """The form's idempotency token was already used for a different movement."""

    code = "duplicate_request"


class IdempotencyKeyReused(WalletError):
    """The key was used before for a different request."""

    code = "idempotency_key_reused"
    field = "Idempotency-Key"


class BadIdempotencyKey(WalletError):
    """Missing, or not a key we accept (its length, its characters)."""

    code = "idempotency_key_missing"
    field = "Idempotency-Key"
