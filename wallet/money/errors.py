"""Money between wallets, refused: transfers and shop payments
(wallet.money.transfers), limits (wallet.money.limits), frozen wallets
(wallet.money.freeze); banks' and shops' operations raise them too. Each
``code`` is stable (wallet.core.errors)."""
from __future__ import annotations

from ..core.errors import WalletError

__all__ = ["AmountTooLarge", "DepositLimit", "InsufficientBalance", "RecipientLimit",
           "RecipientNotFound", "ScheduleNotChangeable", "ScheduleNotFound", "SelfTransfer",
           "WalletFrozen"]


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


class WalletFrozen(WalletError):
    """The payer's wallet is frozen by an operator."""

    code = "wallet_frozen"
    #: Not a field of any form: every page of the user app says it already, in
    #: its frozen-wallet banner (one wording, once); the API sends the detail.
    field = "frozen"


class DepositLimit(WalletError):
    """Adding this much would take the wallet over one of its limits."""

    field = "amount"
    code = "wallet_limit"


class RecipientLimit(WalletError):
    """The receiving wallet cannot take this much: nothing moved."""

    field = "amount"
    code = "recipient_limit"


# --- Users' money requests and split bills (wallet.money.money_requests, splits).
__all__ += ["AmountChanged", "MoneyRequestClosed", "MoneyRequestNotFound", "RemindTooSoon",
            "RequestLimit", "RequestsBlocked", "SelfRequest", "SplitClosed", "SplitNotFound"]


class MoneyRequestNotFound(WalletError):
    """No such request of this user's (someone else's answers the same)."""

    code = "money_request_not_found"


class MoneyRequestClosed(WalletError):
    """The request is paid, declined, expired or cancelled: nothing to do."""

    code = "money_request_closed"


class SelfRequest(WalletError):
    code = "self_request"
    field = "phone"


class RequestsBlocked(WalletError):
    """The payer blocked requests from this requester."""

    code = "requests_blocked"
    field = "phone"


class RequestLimit(WalletError):
    """The requester asked for money too many times today."""

    code = "request_limit"


class AmountChanged(WalletError):
    """The requester changed the amount since the payer saw it: nothing moved."""

    code = "amount_changed"


class SplitNotFound(WalletError):
    code = "split_not_found"


class SplitClosed(WalletError):
    code = "split_closed"


class RemindTooSoon(WalletError):
    code = "remind_too_soon"


# Scheduled payments (wallet.money.schedules) ---------------------------------


class ScheduleNotFound(WalletError):
    """No such schedule of this user (another user's is not found either)."""

    code = "schedule_not_found"


class ScheduleNotChangeable(WalletError):
    """The schedule (or its run) is not in a state that allows this."""

    code = "schedule_not_changeable"


# A first payment held for its undo window (wallet.money.transfer_holds) ------

__all__ += ["TransferNotFound", "UndoClosed"]


class TransferNotFound(WalletError):
    """No such transfer of this user's to undo (another user's is not found either)."""

    code = "transfer_not_found"


class UndoClosed(WalletError):
    """The transfer's undo window is over, or it was cancelled already."""

    code = "undo_closed"


# A shop's stores (wallet.merchants.stores): paying one that was closed ---------

__all__ += ["STORE_CLOSED", "StoreClosed"]

#: What paying a closed store's handle answers.
STORE_CLOSED = "This store no longer takes payments."


class StoreClosed(WalletError):
    """The store this handle pays was closed by its shop: nothing moved."""

    code = "store_closed"
    field = "handle"


# Scanning a QR code to pay (wallet.money.pay_codes) ----------------------------

__all__ += ["NOT_A_PAY_CODE", "NotAPayCode", "UnreadableImage"]

#: What a QR code that is not one of this wallet's payment codes answers.
NOT_A_PAY_CODE = "This QR is not a wallet payment code."


class NotAPayCode(WalletError):
    """A QR code read, but not one of this wallet's payment codes: it is
    never followed (an arbitrary address could be anyone's page)."""

    code = "not_a_pay_code"
    field = "image"


class UnreadableImage(WalletError):
    """The picture sent to be scanned is not an image we read (or too large)."""

    code = "image_unreadable"
    field = "image"
