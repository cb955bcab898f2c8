"""Banks, refused: a shop's settlement to a bank account it has not
registered, or has not had long enough (wallet.banking.merchant_bank_accounts).
Each ``code`` is stable (wallet.core.errors)."""
from __future__ import annotations

from ..core.errors import WalletError

__all__ = ["AccountCoolingOff", "AccountNotRegistered", "NothingToSettle", "SettlementNotFound"]


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
