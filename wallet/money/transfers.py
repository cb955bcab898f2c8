"""Sending money from one user's wallet to another's: the one place that
holds the transfer's rules.

Views and the API parse their input and call this module; they never touch
the ledger themselves. Each transfer runs inside the caller's transaction
and raises a :class:`WalletError` with a message fit for the user when it
refuses; a refused transfer has written nothing.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import IdempotencyConflict, InsufficientFunds, Ledger, format_paise

from ..core.codes import Kind, Status, utcnow
from ..core.errors import WalletError
from ..core.models import Transaction, User
from ..core.notifications import Notice
from ..core.phone import InvalidPhone, normalize_phone
from ..identity.handles import address_of, handle_of_address, read_handle
from ..identity.pins import PinInput, Pins
from . import records
from .errors import (
    AmountTooLarge,
    InsufficientBalance,
    RecipientLimit,
    RecipientNotFound,
    SelfTransfer,
)
from .freeze import ensure_can_spend
from .limits import WalletLimits
from .quotes import AmountInput, TransferQuote, read_amount, refuse_beyond_balance, refuse_if_any
from .records import Earlier
from .transfer_holds import Payee, TransferHolds, first_payment_columns, payee_of

__all__ = ["NO_SUCH_HANDLE", "Sent", "Transfers"]


@functools.cache
def _recipient_lookup(lock: bool, lock_query: Callable[[Select[Any]], Select[Any]],
                      by_handle: bool = False) -> Select[Any]:
    """The recipient by phone (bound parameter ``phone``; ``by_handle``: by
    their receive handle, bound as ``phone`` too), with ``lock`` its
    row locked as the limits' check needs it, and whether the sender (bound
    ``sender_id``) paid them before and their KYC name (a first payment's
    checks: wallet.money.transfer_holds), all in one statement: built once."""
    lookup = (select(User, *first_payment_columns(bindparam("sender_id")))
              .where((User.handle if by_handle else User.phone) == bindparam("phone")))
    return lock_query(lookup) if lock else lookup


@dataclass(frozen=True)
class Sent:
    """A transfer made (or found made before with the form's key), and what
    the sender was told of the payee."""

    transaction: Transaction
    payee: Payee
    #: When it lands, if it was just held for its undo window (else None:
    #: completed, or found made before: TransferHolds.lands_at says).
    lands_at: dt.datetime | None = None


#: What a send to a number with no wallet is told (the page offers an invite).
NOT_REGISTERED = "No wallet is registered with that number."
#: What a send to an unknown receive handle is told.
NO_SUCH_HANDLE = "No wallet has that handle."
SELF_TRANSFER = "You cannot send money to yourself."


class Transfers:
    def __init__(self, dbsession: Session, *, clock: Callable[[], dt.datetime] = utcnow,
                 ledger: Ledger, pins: Pins, limits: WalletLimits, max_transfer_paise: int,
                 holds: TransferHolds):
        self.db = dbsession
        self.clock = clock
        self.ledger = ledger
        #: Every transfer out of a user's wallet is approved by the PIN first.
        self.pins = pins
        #: The recipient's wallet must be able to take it.
        self.limits = limits
        self.max_transfer_paise = max_transfer_paise
        #: A first payment to a new payee above its threshold goes out held.
        self.holds = holds

    def send_money(
        self,
        sender: User,
        recipient_phone: str,
        amount_paise: int,
        request_key: str,
        note: str = "",
        *,
        pin: PinInput,
    ) -> Transaction:
        """Move money from ``sender`` to the user with ``recipient_phone``,
        approved by the sender's wallet PIN, if the recipient's wallet can
        take it (wallet.money.limits).

        ``request_key`` is the form's one-time token: submitting the same form
        twice (a double click, a retried request) returns the first transfer.
        Never held: a money request paid, a scheduled run (their payee is
        known: they asked, or the payer set it up) complete at once.
        """
        return self.send(sender, recipient_phone, amount_paise, request_key, note,
                         pin=pin, undo_window=False).transaction

    def send(self, sender: User, recipient_phone: str, amount_paise: int, request_key: str,
             note: str = "", *, pin: PinInput, undo_window: bool = True) -> Sent:
        """:meth:`send_money` as the send page and the API's transfers do it,
        and what the sender is told of the payee: a first payment above the
        threshold goes out held for the undo window (``pending``)."""
        recipient, note, key, earlier, payee = self._preview(
            sender, recipient_phone, amount_paise, request_key, note, lock=True)
        if earlier is not None:  # submitted before: its transfer, and no PIN compared
            return Sent(records.earlier_or_refused(self.db, earlier, payee_user_id=recipient.id,
                                                   amount_paise=amount_paise), payee)
        held = undo_window and self.holds.applies(payee, amount_paise)
        tx, lands_at = self._send_checked(sender, recipient, amount_paise, key, note, pin,
                                          held)
        return Sent(tx, payee, lands_at)

    def _send_checked(self, sender: User, recipient: User, amount_paise: int, key: str,
                      note: str, pin: PinInput, held: bool
                      ) -> tuple[Transaction, dt.datetime | None]:
        # The recipient's balance is read with the PIN's outcome (one round
        # trip): after its row was locked by the lookup, before the posting.
        read = self.pins.approve(sender, pin,
                                 read_after=self.limits.committed_read(recipient.id)).read
        try:
            self.limits.check_incoming(
                recipient.id, amount_paise, what="sent", whose=f"{recipient.name}'s",
                locked=recipient, committed=None if read is None else int(read[0]))
        except RecipientLimit:  # a repeat of a transfer made then is no new credit
            replay = records.replay(self.db, key, payee_user_id=recipient.id,
                                    amount_paise=amount_paise)
            if replay is not None:
                return replay, None
            raise
        if held:  # a first payment to a new payee: held for its undo window
            return self.holds.send_held(sender, recipient, amount_paise, key, note)
        entry = self._post(sender, recipient, amount_paise, key, note)
        if entry.replayed:
            # This form was submitted before (a double click, a retry, or a twin
            # request that committed while this one waited for the account
            # locks): nothing moved now; return the first submission's record.
            replay = records.replay(self.db, key, payee_user_id=recipient.id,
                                    amount_paise=amount_paise)
            if replay is not None:
                return replay, None
        return records.record(
            self.db, self.clock(),
            {"payer": sender, "payee": recipient},
            (recipient.id, Notice.MONEY_RECEIVED,
             f"{sender.name} sent you {format_paise(amount_paise)}"),
            kind=Kind.TRANSFER,
            status=Status.COMPLETED,
            amount_paise=amount_paise,
            payer_user_id=sender.id,
            payee_user_id=recipient.id,
            note=note,
            idempotency_key=key,
            ledger_entry_id=entry.id,
        ), None

    def _post(self, sender: User, recipient: User, amount_paise: int, key: str,
              note: str) -> ledgerlib.Entry:
        """The transfer's ledger entry. No look for an earlier submission first:
        the ledger knows the key and says so (``replayed``), even after the
        money was spent since."""
        try:
            return self.ledger.transfer(sender.wallet_code, recipient.wallet_code, amount_paise,
                                        idempotency_key=key, memo=note,
                                        metadata={"kind": Kind.TRANSFER})
        except InsufficientFunds as exc:
            raise InsufficientBalance(
                f"Your available balance is {format_paise(exc.available_paise)}: "
                f"not enough to send {format_paise(amount_paise)}."
            ) from None
        except IdempotencyConflict:
            raise records.duplicate() from None

    def preview_transfer(self, sender: User, recipient_phone: str, amount_paise: int,
                         request_key: str, note: str = "") -> tuple[User, str, str]:
        """Check a transfer without moving anything (the confirm step shows
        the recipient's name): (recipient, cleaned note, idempotency key)."""
        return self._preview(sender, recipient_phone, amount_paise, request_key, note)[:3]

    def preview_payee(self, sender: User, recipient_phone: str, amount_paise: int,
                      request_key: str, note: str = "") -> tuple[User, Payee, bool]:
        """:meth:`preview_transfer`'s recipient, what the sender is told of
        them (a first payment, their verified name), and whether the
        transfer would go out held for the undo window."""
        recipient, _, _, _, payee = self._preview(sender, recipient_phone, amount_paise,
                                                  request_key, note)
        return recipient, payee, self.holds.applies(payee, amount_paise)

    def refuse_beyond_balance(self, sender: User, amount_paise: int) -> None:
        """More than the sender has: said at the first step, before the PIN."""
        refuse_beyond_balance(self.ledger, sender, amount_paise, "send")

    def check_transfer_amount(self, amount_paise: int) -> None:
        ledgerlib.check_paise(amount_paise)
        if amount_paise > self.max_transfer_paise:
            raise AmountTooLarge(
                f"You can send at most {format_paise(self.max_transfer_paise)} at a time."
            )

    def quote_transfer(self, sender: User, recipient_phone: str, amount: AmountInput,
                       note: str = "") -> TransferQuote:
        """A transfer's confirm step (wallet.money.quotes): its amount read and
        checked, its note too (both problems at once); no query."""
        problems: dict[str, str] = {}
        amount_paise = read_amount(amount, problems, max_paise=self.max_transfer_paise,
                                   check=self.check_transfer_amount)
        if (note_problem := records.note_problem(note)) is not None:
            problems["note"] = note_problem
        refuse_if_any(problems)
        assert amount_paise is not None  # (no problem: read)
        return TransferQuote(self, sender, recipient_phone, amount_paise, note)

    def _preview(self, sender: User, recipient_phone: str, amount_paise: int,
                 request_key: str, note: str, *,
                 lock: bool = False) -> tuple[User, str, str, Earlier | None, Payee]:
        """:meth:`preview_transfer`, and the transfer made earlier with the
        form's key if there is one (looked up in the recipient's query). With
        ``lock`` the recipient's row is locked by that query, as the limits'
        check needs it (WalletLimits.lock_query): no statement of its own."""
        ensure_can_spend(sender)  # frozen: said at the first step, and costs no PIN try
        self.check_transfer_amount(amount_paise)
        note = records.clean_note(note)
        key = records.idempotency_key(Kind.TRANSFER, sender, request_key)
        recipient, earlier, payee = self._recipient(sender, recipient_phone, key, lock=lock)
        return recipient, note, key, earlier, payee

    def _recipient(self, sender: User, phone_text: str, key: str, *,
                   lock: bool = False) -> tuple[User, Earlier | None, Payee]:
        """The recipient by their phone, or by their receive handle when
        ``phone_text`` is an address (``asha@wallet``: a scanned QR code's)."""
        handle = handle_of_address(phone_text)
        if handle is None:
            try:
                phone = normalize_phone(phone_text)
            except InvalidPhone as exc:  # not a phone number at all: the field is wrong
                raise WalletError(str(exc), "phone") from None
            if phone == sender.phone:
                raise SelfTransfer(SELF_TRANSFER)
        found, earlier = records.with_earlier(
            self.db, _recipient_lookup(lock, self.limits.lock_query, handle is not None), key,
            ("payee_user_id", "amount_paise"),
            {"phone": phone if handle is None else handle, "sender_id": sender.id}, leading=3)
        if found is None or not found[0].is_active:
            raise RecipientNotFound(NOT_REGISTERED if handle is None else NO_SUCH_HANDLE)
        recipient, paid_before, kyc_name = found
        if recipient.id == sender.id:  # (by handle: their own QR code)
            raise SelfTransfer(SELF_TRANSFER)
        return recipient, earlier, payee_of(paid_before, kyc_name)

    def recipient_by_handle(self, sender: User, handle: str) -> tuple[User, Payee]:
        """Who the receive handle ``handle`` pays, and what ``sender`` is told
        of them (their verified name): the send page of a scanned QR code.
        Refused: no such handle (RecipientNotFound), the sender's own."""
        if read_handle(handle) is None:
            raise RecipientNotFound(NO_SUCH_HANDLE)
        recipient, _, payee = self._recipient(sender, address_of(handle), "")
        return recipient, payee

