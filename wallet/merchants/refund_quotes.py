"""A refund from the merchant app goes through a confirm step ("Refund
₹X to Asha Verma (+91 ••••• 43210)?"), as money leaving a wallet does
(wallet.money.quotes); above ``RefundPolicy.confirm_above_paise`` the shop
PIN confirms it (wallet.identity.merchant_pins: the wrong tries counted and
locked as for a settlement), so a log-in cookie alone -- or a member of staff
who may refund -- cannot give large sums away.

The API's refunds (api_app) are not quoted: a shop's API key is the owner's
own credential for its server, and stays the one factor there."""
from __future__ import annotations

from dataclasses import dataclass

from ledgerlib import format_paise

from ..core.models import Merchant, User
from ..identity.merchant_pins import MerchantPins
from ..identity.pins import PinInput
from ..money.quotes import ConfirmText
from .models import Refund
from .refunds import RefundPolicy, Refunds

__all__ = ["AppRefunds", "RefundQuote"]


@dataclass(frozen=True)
class RefundQuote:
    """Refund ``amount_paise`` of the shop's payment ``payment_id``: Refunds.refund."""

    refunds: Refunds
    pins: MerchantPins
    policy: RefundPolicy
    merchant: Merchant
    payment_id: int
    amount_paise: int
    reason: str

    @property
    def needs_pin(self) -> bool:
        """Above the threshold with what the payment has had refunded already:
        eight refunds of ₹5,000 are a ₹40,000 refund."""
        return self._above(self.refunds.refunded_paise(self.payment_id))

    def _above(self, refunded_paise: int) -> bool:
        return refunded_paise + self.amount_paise > self.policy.confirm_above_paise

    def preview(self, request_key: str) -> ConfirmText:
        """Every check short of the PIN; "Refund ₹X to <payer>?"."""
        payment = self.refunds.preview(self.merchant, self.payment_id, self.amount_paise,
                                       request_key, self.reason)
        payer: User | None = payment.payer
        who = f"{payer.name} ({payer.masked_phone})" if payer is not None else "the payer"
        lines = [f"Of payment TXN{payment.id:08d} ({format_paise(payment.amount_paise)}), "
                 "from your shop's balance back to the payer's wallet."]
        if self.reason:
            lines.append(f"Reason: {self.reason}")
        if self.needs_pin:
            lines.append("Refunds of a payment above "
                         f"{format_paise(self.policy.confirm_above_paise)} in all need your "
                         "shop PIN.")
        return ConfirmText(f"Refund {format_paise(self.amount_paise)} to {who}?", tuple(lines))

    def confirm(self, pin: PinInput, request_key: str) -> Refund:
        """The refund; ``pin`` is checked (its try counted) only above the
        threshold, under the payment's lock before the money moves."""
        def approve(refunded_paise: int) -> None:  # (under the payment's lock)
            if self._above(refunded_paise):
                self.pins.approve(self.merchant, pin)

        return self.refunds.refund(self.merchant, self.payment_id, self.amount_paise,
                                   request_key, self.reason, approve=approve)


class AppRefunds:
    """The merchant app's refunds, each a :class:`RefundQuote`."""

    def __init__(self, *, refunds: Refunds, pins: MerchantPins, policy: RefundPolicy):
        self.refunds = refunds
        self.pins = pins
        self.policy = policy

    def quote(self, merchant: Merchant, payment_id: int, amount_paise: int,
              reason: str) -> RefundQuote:
        return RefundQuote(self.refunds, self.pins, self.policy, merchant, payment_id,
                           amount_paise, reason)
