"""An AutoPay debit above the PIN cap, paid by its customer: its confirm step
(wallet.money.quotes), quoted by MandateDebits.quote (the amount and the shop
are the debit's, never typed), confirmed through MandateDebits.approve."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledgerlib import format_paise

from ..core.codes import DebitStatus, Kind
from ..core.models import Merchant, User
from ..identity.pins import PinInput
from ..money import records
from ..money.quotes import ConfirmText
from .errors import DebitNotOpen
from .models import Mandate, MandateDebit

if TYPE_CHECKING:
    from .mandate_debits import MandateDebits

__all__ = ["DebitQuote"]


@dataclass(frozen=True)
class DebitQuote:
    """Pay ``debit`` (waiting for the PIN) to the mandate's shop."""

    debits: MandateDebits
    payer: User
    debit: MandateDebit
    mandate: Mandate
    merchant: Merchant

    @property
    def amount_paise(self) -> int:
        return self.debit.amount_paise

    def preview(self, request_key: str) -> ConfirmText:
        """The form's key checked (the debit pays once whatever the key: its
        own ledger key is the debit's id), and the debit still waiting."""
        records.idempotency_key(Kind.PAYMENT, self.payer, request_key)
        if self.debit.status != DebitStatus.AWAITING_PIN:
            raise DebitNotOpen(f"This debit is {self.debit.status}: nothing to approve.")
        return ConfirmText(f"Pay {format_paise(self.debit.amount_paise)} to "
                           f"{self.merchant.name}?", (f"AutoPay: {self.mandate.description}",))

    def confirm(self, pin: PinInput, request_key: str) -> MandateDebit:
        return self.debits.approve(self.payer, self.debit.public_id, pin=pin,
                                   found=(self.debit, self.mandate))
