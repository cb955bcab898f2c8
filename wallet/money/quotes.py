"""The confirm step of a money operation, one object per operation: a
**quote**, then its confirmation with the PIN.

A quote is made from the operation's parsed input (the amount read once,
here, for the pages and the API alike: rupees as typed in a form, or paise as
the API's JSON sent them, then checked against the operation's own range).
``preview(request_key)`` checks what can be checked without the PIN and says
what the confirm page shows (the payee by the name in our records); it may
read the payee, so the API, which has no confirm page, never calls it.
``confirm(pin, request_key)`` moves the money through the operation's service
method, which keeps every rule (the PIN's try counted, the same request key
moving money once). A quote re-implements nothing.

Here: the protocol, the amount reader, and the quotes of money between
wallets (send, pay a shop); a withdrawal's is in wallet.banking.withdrawal_quotes,
a checkout's in wallet.merchants.checkout_quotes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from ledgerlib import InvalidAmount, Ledger, format_paise, parse_amount

from ..core.codes import Kind
from ..core.errors import WalletError
from ..core.models import Merchant, MerchantStore, Transaction, User
from ..identity.pins import PinInput
from . import records, shop_shards
from .errors import STORE_CLOSED, InsufficientBalance, RecipientNotFound, StoreClosed

if TYPE_CHECKING:
    from .shop_payments import ShopPayments
    from .transfers import Sent, Transfers

__all__ = ["AmountInput", "ConfirmText", "PaymentQuote", "Quote", "TransferQuote",
           "read_amount"]

#: An amount as given: rupees as typed in a form ("250.50"), or paise as an
#: API's JSON sent them (already a strict integer: api_app refuses 100.0).
AmountInput = str | int
Result = TypeVar("Result", covariant=True)


@dataclass(frozen=True)
class ConfirmText:
    """What the confirm step shows: "Send ₹500.00 to Ravi Kumar (+91 ••••• 43210)?"."""

    question: str
    details: tuple[str, ...] = ()


class Quote(Protocol[Result]):
    """One money operation, checked, waiting for its PIN."""

    @property
    def amount_paise(self) -> int: ...

    def preview(self, request_key: str) -> ConfirmText:
        """Every check short of the PIN (the form's key too); what the confirm page shows."""
        ...

    def confirm(self, pin: PinInput, request_key: str) -> Result:
        """Move the money (approved by ``pin``); the same ``request_key`` moves it once."""
        ...


def read_amount(value: AmountInput, problems: dict[str, str], *, max_paise: int,
                check: Callable[[int], object]) -> int | None:
    """The amount in paise, read once for every operation: text is parsed as
    rupees (refused past ``max_paise`` with the form's message), an integer is
    taken as paise; then ``check``, the operation's own range (its service's
    rule, which raises). A parse refusal goes into ``problems["amount"]`` (a
    form shows every field's problem at once) and gives None."""
    try:
        if isinstance(value, str):
            value = parse_amount(value, max_paise=max_paise)
        check(value)  # (paise below one: the ledger's InvalidAmount)
    except InvalidAmount as exc:
        problems["amount"] = str(exc)
        return None
    return value


def refuse_if_any(problems: dict[str, str]) -> None:
    if problems:
        raise WalletError.of_fields(problems)


@dataclass(frozen=True)
class TransferQuote:
    """Send money to the user with ``recipient_phone``: Transfers.send_money."""

    transfers: Transfers
    sender: User
    recipient_phone: str
    amount_paise: int
    note: str

    def preview(self, request_key: str) -> ConfirmText:
        self.transfers.refuse_beyond_balance(self.sender, self.amount_paise)
        recipient, payee, held = self.transfers.preview_payee(
            self.sender, self.recipient_phone, self.amount_paise, request_key, self.note)
        lines = [f"Verified name: {payee.name_shown}"]
        if payee.first_payment:
            lines.append("This is your first payment to this person: check the name "
                         "and number before you send.")
        if held:
            lines.append(f"You can undo it for {_minutes(self.transfers.holds.policy.window_s)}"
                         " after you send; it reaches them then.")
        return ConfirmText(f"Send {format_paise(self.amount_paise)} to {recipient.name} "
                           f"({recipient.masked_phone})?", (*lines, *_note_line(self.note)))

    def confirm(self, pin: PinInput, request_key: str) -> Transaction:
        return self.transfers.send(self.sender, self.recipient_phone, self.amount_paise,
                                   request_key, self.note, pin=pin).transaction

    def confirm_sent(self, pin: PinInput, request_key: str) -> Sent:
        """:meth:`confirm`, and what the sender was told of the payee (the
        API's answer: it has no confirm page to show it on)."""
        return self.transfers.send(self.sender, self.recipient_phone, self.amount_paise,
                                   request_key, self.note, pin=pin)


@dataclass(frozen=True)
class PaymentQuote:
    """Pay a shop by a handle (its own or a store's): ShopPayments.pay_merchant.
    ``merchant`` (and ``store``): the shop if the caller has it already (its
    page did), else read by preview."""

    payments: ShopPayments
    payer: User
    handle: str
    amount_paise: int
    note: str
    merchant: Merchant | None = None
    store: MerchantStore | None = None

    def preview(self, request_key: str) -> ConfirmText:
        records.idempotency_key(Kind.PAYMENT, self.payer, request_key)
        self.payments.refuse_beyond_balance(self.payer, self.amount_paise)
        merchant, store = self.merchant, self.store
        if merchant is None:
            found = self.payments.store_by_handle(self.handle)
            merchant, store = found if found is not None else (None, None)
        if merchant is None:
            raise RecipientNotFound("No shop has that payment handle.", "handle")
        if store is not None and store.closed_at is not None:
            raise StoreClosed(STORE_CLOSED, "handle")
        payee = merchant.name
        if store is not None and store.name != merchant.name:
            payee = f"{merchant.name} ({store.name})"
        return ConfirmText(f"Pay {format_paise(self.amount_paise)} to {payee} "
                           f"(@{self.handle if store is not None else merchant.handle})?",
                           _note_line(self.note))

    def confirm(self, pin: PinInput, request_key: str) -> Transaction:
        return self.payments.pay_merchant(self.payer, self.handle, self.amount_paise,
                                        request_key, self.note, pin=pin)


def refuse_beyond_balance(ledger: Ledger, payer: User, amount_paise: int, verb: str) -> None:
    """Said at the first step, before the confirm page asks for the PIN (one
    read of the balance the send page shows anyway); the posting checks it
    again, under its lock, whatever happened meanwhile."""
    available = shop_shards.balance_of(ledger, payer).available_paise
    if amount_paise > available:
        raise InsufficientBalance(f"Your available balance is {format_paise(available)}: "
                                  f"not enough to {verb} {format_paise(amount_paise)}.")


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _note_line(note: str) -> tuple[str, ...]:
    return (f"Note: {note}",) if note else ()
