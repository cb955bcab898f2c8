"""A bank's API, in whichever dialect the bank speaks (``banks.<code>.protocol``,
wallet.banking.protocols). Banks are slow and unreliable: every call has a
timeout, and an unclear answer raises :class:`BankUnavailable` rather than
being guessed at. Each call returns the bank's record as it sent it (kept in
the attempt log); the bank's protocol says what it means
(:meth:`~wallet.banking.protocols.base.BankProtocol.payout_word` ...)."""
from __future__ import annotations

import datetime as dt

from ..core.observe import Observer
from .banks import BankConfig
from .protocols import protocol_for
from .protocols.base import BankApi, PayoutRequest
from .protocols.wire import BankRecord, BankUnavailable

__all__ = ["BankClient", "BankRecord", "BankUnavailable"]


class BankClient:
    """``bank``'s API client, speaking its protocol (what workers and
    operators' actions are given as ``client_for``)."""

    def __init__(self, bank: BankConfig, *, timeout_s: float, observer: Observer):
        self.bank = bank
        self.timeout_s = timeout_s
        self.api: BankApi = protocol_for(bank).client(bank, timeout_s, observer)

    def payment_status(self, reference: str) -> BankRecord | None:
        """The bank's record of a deposit, or None if the bank has none."""
        return self.api.payment_status(reference)

    def payout_status(self, reference: str) -> BankRecord | None:
        """The bank's record of a payout, or None if it has never heard of it."""
        return self.api.payout_status(reference)

    def statement(self, day: dt.date) -> list[BankRecord]:
        """The bank's statement of our account for one day (India time)."""
        return self.api.statement(day)

    def send_payout(self, payload: PayoutRequest) -> BankRecord:
        """Ask the bank to pay out: its answer, or BankUnavailable if unknown."""
        return self.api.send_payout(payload)

    def account_holder(self, account_number: str, ifsc: str) -> BankRecord | None:
        """The bank's record of whose account this is (its protocol reads the
        name: ``holder_name``), or None if the bank has no such account."""
        return self.api.account_holder(account_number, ifsc)
