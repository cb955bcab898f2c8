"""Shops' integration, refused: payment requests
(wallet.merchants.payment_requests), refunds (wallet.merchants.refunds) and
webhooks to shops (wallet.merchants.webhooks). Each ``code`` is stable
(wallet.core.errors)."""
from __future__ import annotations

from ..core.errors import Refusal, WalletError

__all__ = ["DebitNotOpen", "DeliveryNotFound", "DisputeAlreadyOpen", "DisputeClosed",
           "DisputeNotFound", "NotDisputable", "NothingToDispute", "EndpointNotFound",
           "MandateAmountExceeded",
           "MandateNotActive", "MandateNotFound", "MandateOutsideDates", "MandatePeriodUsed",
           "OrderReferenceReused", "PaymentNotFound", "RefundTooLarge", "RequestNotFound",
           "RequestNotPayable", "WebhookError",
           "LinkNotFound", "LinkNotPayable", "LinkReferenceReused", "StaffError",
           "StaffNotFound"]


class RequestNotFound(WalletError):
    """No such payment request (or not this shop's)."""

    code = "not_found"


class RequestNotPayable(WalletError):
    """Paid, expired or cancelled: nothing moves."""

    code = "not_payable"


class OrderReferenceReused(WalletError):
    """The shop's order reference was used for a request with other content."""

    code = "order_reference_reused"
    field = "order_reference"


class PaymentNotFound(WalletError):
    """No such payment of this shop."""

    code = "not_found"


class RefundTooLarge(WalletError):
    code = "refund_too_large"
    field = "amount"


class WebhookError(WalletError):
    """A refused change to a shop's webhooks (nothing was written)."""

    code = "webhook_refused"


class EndpointNotFound(WebhookError):
    """No such endpoint of this shop."""

    code = "not_found"


class DeliveryNotFound(WebhookError):
    """No such delivery to this shop's endpoints."""

    code = "not_found"


# ------------------------------------------------ AutoPay mandates (wallet.merchants.mandates)


class MandateNotFound(WalletError):
    """No such mandate or debit (or not this shop's, or not this customer's)."""

    code = "not_found"


class MandateNotActive(WalletError):
    """Not approved yet, paused or revoked: no debit is presented or executed."""

    code = "mandate_not_active"


class MandateAmountExceeded(WalletError):
    """A debit above the mandate's maximum."""

    code = "mandate_amount_exceeded"
    field = "amount_paise"


class MandateOutsideDates(WalletError):
    """A debit that would execute before the mandate's start or after its end."""

    code = "mandate_outside_dates"


class MandatePeriodUsed(WalletError):
    """A second debit in the same period of a mandate."""

    code = "mandate_period_used"


class DebitNotOpen(WalletError):
    """A debit already executed, failed or cancelled (or not awaiting the PIN)."""

    code = "debit_not_open"


# ------------------------------------------- disputes of shop payments (wallet.merchants.disputes)


class DisputeNotFound(WalletError):
    """No such dispute (or not this shop's)."""

    code = "dispute_not_found"


class NotDisputable(WalletError):
    """Not a completed shop payment of this customer's."""

    code = "not_disputable"


class DisputeAlreadyOpen(WalletError):
    """The payment has an unresolved dispute already."""

    code = "dispute_already_open"


class NothingToDispute(WalletError):
    """The payment was refunded in full: nothing is left to dispute."""

    code = "nothing_to_dispute"


class DisputeClosed(WalletError):
    """The dispute is not awaiting this (already answered or decided, or its
    time to answer has passed)."""

    code = "dispute_closed"


# ------------------------------------------------ a shop's stores (wallet.merchants.stores)

__all__ += ["StoreHandleTaken", "StoreNotClosable", "StoreNotFound"]


class StoreNotFound(WalletError):
    """No such store of this shop (another shop's is not found either)."""

    code = "store_not_found"
    field = "store"


class StoreHandleTaken(WalletError):
    """The handle pays a shop or a store already: a handle pays exactly one place."""

    code = "store_handle_taken"
    field = "handle"


class StoreNotClosable(WalletError):
    """The shop's first store (it answers the shop's own handle), or its last
    open one: a shop always takes payments somewhere."""

    code = "store_not_closable"


# ------------------------------------------------ payment links (wallet.merchants.payment_links)


class LinkNotFound(WalletError):
    """No such payment link (or not this shop's)."""

    code = "payment_link_not_found"


class LinkNotPayable(RequestNotPayable):
    """The link was paid (single use), has expired or was cancelled: nothing
    moves. (A RequestNotPayable: the checkout answers it as one.)"""

    code = "payment_link_not_payable"


class LinkReferenceReused(WalletError):
    """Another link of the shop has this reference."""

    code = "payment_link_reference_reused"
    field = "reference"


class StaffError(Refusal):
    """A change to a shop's people refused (wallet.merchants.staff): a form's
    problem for the owner's page, not an API's (the API has no staff)."""


class StaffNotFound(StaffError):
    """No such person of this shop (or an invitation used, expired or unknown)."""
