"""A withdrawal's confirm step (wallet.money.quotes): quoted by
WithdrawalService.quote (a shop's settlement: WithdrawalService.quote_settlement),
confirmed through WithdrawalService.request."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledgerlib import format_paise

from ..core.models import Merchant, Transaction, User
from ..identity.pins import PinInput
from ..money.quotes import ConfirmText

if TYPE_CHECKING:
    from .models import MerchantBankAccount
    from .withdrawals import WithdrawalService

__all__ = ["SettlementQuote", "WithdrawalQuote"]


@dataclass(frozen=True)
class WithdrawalQuote:
    """Money to the user's bank account: every detail checked (the account
    number and IFSC as stored, for the confirm page), waiting for the PIN."""

    service: WithdrawalService
    user: User
    bank_code: str
    account_number: str
    ifsc: str
    amount_paise: int
    #: A saved account's holder, as the bank reported them ("" for typed details).
    holder_name: str = ""

    def preview(self, request_key: str) -> ConfirmText:
        bank = self.service.banks[self.bank_code]
        holder = f"{self.holder_name}, " if self.holder_name else ""
        return ConfirmText(
            f"Withdraw {format_paise(self.amount_paise)} to {holder}{bank.name} "
            f"a/c {'•' * 6}{self.account_number[-4:]}?",
            (f"IFSC {self.ifsc}",
             "The amount is held at once and sent to your bank in the background."))

    def confirm(self, pin: PinInput, request_key: str) -> Transaction:
        return self.service.request(self.user, self.bank_code, self.account_number, self.ifsc,
                                    self.amount_paise, request_key, pin=pin)


@dataclass(frozen=True)
class SettlementQuote:
    """A shop's money to one of its registered bank accounts: every check
    made but the shop PIN's (so no try counted yet), waiting for that PIN."""

    service: WithdrawalService
    merchant: Merchant
    account: MerchantBankAccount
    amount_paise: int
    #: "Settle ₹2,500.00 to HDFC Bank ••••1234?"
    question: str

    def preview(self, request_key: str) -> ConfirmText:
        return ConfirmText(self.question, (
            f"IFSC {self.account.ifsc}",
            "The amount is held at once and sent to your bank in the background."))

    def confirm(self, pin: PinInput, request_key: str) -> Transaction:
        """The account as quoted (WithdrawalService.request checks again, under
        its row lock, that it is still the shop's, then the shop PIN)."""
        account = self.account
        return self.service.request(self.merchant, account.bank_code, account.account_number,
                                    account.ifsc, self.amount_paise, request_key, pin=pin)
