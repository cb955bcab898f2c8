"""A checkout's confirm step (wallet.money.quotes): a shop's payment request,
quoted by PaymentRequests.quote (its amount is the request's, never typed),
confirmed through PaymentRequests.pay."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledgerlib import format_paise

from ..core.codes import Kind
from ..core.models import User
from ..identity.pins import PinInput
from ..money import records
from ..money.quotes import ConfirmText
from .models import PaymentRequest

if TYPE_CHECKING:
    from .payment_requests import Checkout, PaymentRequests

__all__ = ["CheckoutQuote"]


@dataclass(frozen=True)
class CheckoutQuote:
    """Pay the request of ``checkout`` (as the checkout page shows it)."""

    requests: PaymentRequests
    payer: User
    checkout: Checkout

    @property
    def amount_paise(self) -> int:
        return self.checkout.request.amount_paise

    def preview(self, request_key: str) -> ConfirmText:
        """The form's key checked (the request pays once whatever the key:
        its own key is the request's id)."""
        records.idempotency_key(Kind.PAYMENT, self.payer, request_key)
        request = self.checkout.request
        return ConfirmText(f"Pay {format_paise(request.amount_paise)} to "
                           f"{self.checkout.merchant.name}?",
                           (f"Order {request.order_reference}",))

    def confirm(self, pin: PinInput, request_key: str) -> PaymentRequest:
        return self.requests.pay(self.payer, self.checkout.request.public_id, pin=pin)
