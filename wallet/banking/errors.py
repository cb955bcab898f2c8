"""Banks, refused: a shop's settlement to a bank account it has not
registered, or has not had long enough (wallet.banking.merchant_bank_accounts).
Each ``code`` is stable (wallet.core.errors)."""
from __future__ import annotations

from ..core.errors import WalletError

__all__ = ["AccountCoolingOff", "AccountNotRegistered", "BankAccountUnknown", "BankNotAnswering",
           "NothingToSettle", "SavedAccountNotFound", "SettlementNotFound"]


class AccountNotRegistered(WalletError):
    """Not one of the shop's registered accounts (or removed since)."""

    field = "account"
    code = "account_not_registered"


class AccountCoolingOff(WalletError):
    """A newly added account, not yet past its cooling-off period."""

    field = "account"
    code = "account_cooling_off"


class NothingToSettle(WalletError):
    """A settlement of the whole balance, with nothing available to settle."""

    field = "amount"
    code = "nothing_to_settle"


class SettlementNotFound(WalletError):
    """No settlement of this shop with that id."""

    code = "settlement_not_found"


# A user's saved bank accounts (wallet.banking.saved_accounts).


class SavedAccountNotFound(WalletError):
    """Not one of the user's saved bank accounts (or removed since)."""

    field = "account"
    code = "bank_account_not_found"


class BankAccountUnknown(WalletError):
    """The bank says it has no such account at that branch."""

    field = "account_number"
    code = "bank_account_unknown"


class BankNotAnswering(WalletError):
    """The bank did not answer whose account it is (a timeout, an error, an
    answer we cannot read): nothing is saved; try again."""

    code = "bank_unavailable"
