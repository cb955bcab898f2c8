"""Tickets refused (wallet.care.tickets). Each ``code`` is stable (wallet.core.errors)."""
from __future__ import annotations

from ..core.errors import WalletError

__all__ = ["FraudHoldDecided", "FraudNotReportable", "FraudReportNotFound", "ReversalNotCovered",
           "ReversalRefused", "TicketAlreadyOpen", "TicketCategoryRefused", "TicketClosed",
           "TicketNotFound", "TicketTransactionNotFound"]


class TicketNotFound(WalletError):
    """No such ticket of this user (someone else's is not found either)."""

    code = "ticket_not_found"


class TicketTransactionNotFound(WalletError):
    """The transaction is not one of this user's."""

    code = "ticket_transaction_not_found"
    field = "transaction"


class TicketCategoryRefused(WalletError):
    """Not a problem this transaction can have (a deposit is never "the shop
    did not deliver")."""

    code = "ticket_category_refused"
    field = "category"


class TicketAlreadyOpen(WalletError):
    """This user already has a live ticket on this transaction."""

    code = "ticket_already_open"
    field = "transaction"

    def __init__(self, message: str, public_id: str = ""):
        super().__init__(message)
        #: The live ticket ("tk_…") the user should look at instead.
        self.public_id = public_id


class TicketClosed(WalletError):
    """The ticket is resolved or rejected: its status no longer changes."""

    code = "ticket_closed"


class ReversalRefused(WalletError):
    """Not a transfer that can be put back (not a completed transfer)."""

    code = "reversal_refused"


class ReversalNotCovered(WalletError):
    """The recipient no longer has the amount: nothing reversed."""

    code = "reversal_not_covered"


# Fraud reported on a transfer (wallet.care.fraud).


class FraudNotReportable(WalletError):
    """Fraud is reported by the sender of a completed transfer to a person:
    not on an incoming one, a shop payment, a deposit..."""

    code = "fraud_not_reportable"
    field = "transaction"


class FraudReportNotFound(WalletError):
    """No fraud report about a payment this user received."""

    code = "fraud_report_not_found"


class FraudHoldDecided(WalletError):
    """The held money was already returned or released (or none was held)."""

    code = "fraud_hold_decided"
