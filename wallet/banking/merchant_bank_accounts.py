"""Where a shop's settlements may go: the bank accounts it registered, and
nowhere else (wallet.banking.withdrawals refuses any other for a shop).

    add     bank, account number typed twice, an IFSC of that bank (checked as
            a user's withdrawal is: wallet.banking.banks), then the shop PIN; notified.
            Settlements to it may start ``cooling_off_s`` later: should someone
            with the shop's cookie and PIN add their own account, the owner
            hears of it (the notification) before any money can go there.
    remove  the shop PIN; notified. The row stays (``removed_at``).
    settle  (wallet.banking.withdrawals) to a live registered account past its
            cooling-off, with the shop PIN (wallet.identity.merchant_pins).

Every check that costs no PIN try (the fields, the account being registered,
its cooling-off) comes before the PIN's; a refused PIN has counted its try
(the caller commits, as for the wallet PIN). A settlement and a removal lock
the account's row, then the PIN's: a removal and a settlement to the same
account happen one after the other.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.codes import IST, utcnow
from ..core.errors import WalletError
from ..core.models import Merchant
from ..core.notifications import MerchantNotice, notify_merchant
from ..identity.merchant_pins import MerchantPins
from ..identity.pins import PinInput
from .account_details import read_new_account, refuse_if_full
from .banks import BankConfig, clean_payee
from .errors import AccountCoolingOff, AccountNotRegistered
from .models import MerchantBankAccount

__all__ = ["BankAccountPolicy", "MerchantBankAccounts", "moment_text"]


@dataclass(frozen=True)
class BankAccountPolicy:
    #: How long a new account waits before settlements may go to it.
    cooling_off_s: float = 24 * 3600.0
    #: Live registered accounts a shop may have at once.
    max_accounts: int = 5


def moment_text(moment: dt.datetime) -> str:
    """``2 Dec 2026, 10:30 IST``."""
    local = moment.astimezone(IST)
    return f"{local.day} {local:%b %Y, %H:%M} IST"


class MerchantBankAccounts:
    def __init__(self, dbsession: Session, banks: Mapping[str, BankConfig], pins: MerchantPins,
                 *, policy: BankAccountPolicy,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.banks = banks
        self.pins = pins
        self.policy = policy
        self.clock = clock

    def registered(self, merchant: Merchant) -> list[MerchantBankAccount]:
        """The shop's live accounts, oldest first."""
        return list(self.db.scalars(self._live(merchant).order_by(MerchantBankAccount.id)))

    def get(self, merchant: Merchant, account_id: int, *,
            lock: bool = False) -> MerchantBankAccount:
        """One of the shop's live accounts (else AccountNotRegistered); ``lock``:
        its row locked until commit."""
        stmt = self._live(merchant).where(MerchantBankAccount.id == account_id)
        found = self.db.scalar(stmt.with_for_update(key_share=True) if lock else stmt)
        if found is None:
            raise AccountNotRegistered("Choose one of your registered bank accounts.")
        return found

    def name(self, account: MerchantBankAccount) -> str:
        """``HDFC Bank ••••1234``."""
        bank = self.banks.get(account.bank_code)
        return f"{bank.name if bank else account.bank_code} {account.masked}"

    def usable(self, account: MerchantBankAccount) -> bool:
        return account.usable_from <= self.clock()

    # ------------------------------------------------------------- changes

    def add(self, merchant: Merchant, bank_code: str, account_number: str, repeat: str,
            ifsc: str, pin: PinInput) -> MerchantBankAccount:
        """Register an account for settlements, given the shop PIN; notified."""
        account_number, ifsc = read_new_account(self.banks, bank_code, account_number, repeat,
                                                ifsc)
        live = self.db.scalar(select(func.count()).select_from(
            self._live(merchant).subquery())) or 0
        refuse_if_full(live, self.policy.max_accounts, "a shop")
        self.pins.approve(merchant, pin)
        now = self.clock()
        account = MerchantBankAccount(
            merchant_id=merchant.id, bank_code=bank_code, account_number=account_number,
            ifsc=ifsc, created_at=now,
            usable_from=now + dt.timedelta(seconds=self.policy.cooling_off_s))
        try:
            with self.db.begin_nested():
                self.db.add(account)
                self.db.flush()
        except IntegrityError:
            raise WalletError("That account is registered already.", "account_number") from None
        when = ("at once" if self.usable(account)
                else f"from {moment_text(account.usable_from)}")
        self._notify(merchant, MerchantNotice.BANK_ACCOUNT_ADDED,
                     f"{self.name(account)} (IFSC {ifsc}) was added for your settlements: "
                     f"they can go there {when}.")
        return account

    def remove(self, merchant: Merchant, account_id: int, pin: PinInput) -> MerchantBankAccount:
        """Stop settlements to one of the shop's accounts, given the shop PIN; notified."""
        account = self.get(merchant, account_id, lock=True)
        self.pins.approve(merchant, pin)
        account.removed_at = self.clock()
        self._notify(merchant, MerchantNotice.BANK_ACCOUNT_REMOVED,
                     f"{self.name(account)} was removed: settlements no longer go there.")
        return account

    # ---------------------------------------------------------- settlements

    def payable(self, merchant: Merchant, account_id: int, *,
                lock: bool = False) -> MerchantBankAccount:
        """The shop's account ``account_id`` if a settlement may go there now;
        ``lock``: its row locked until commit (a removal waits)."""
        return self._past_cooling_off(self.get(merchant, account_id, lock=lock))

    def approve_payout(self, merchant: Merchant, bank_code: str, account_number: str,
                       ifsc: str, pin: PinInput) -> MerchantBankAccount:
        """The check a settlement passes before its money is held: to a live
        registered account of the shop past its cooling-off, and the shop PIN
        (its try counted last: a refused account costs none)."""
        account_number, ifsc = clean_payee(account_number, ifsc)
        account = self.db.scalar(self._live(merchant).where(
            MerchantBankAccount.bank_code == bank_code,
            MerchantBankAccount.account_number == account_number,
            MerchantBankAccount.ifsc == ifsc).with_for_update(key_share=True))  # (a removal waits)
        if account is None:
            raise AccountNotRegistered(
                "Settlements go only to your registered bank accounts: register this one "
                "first.")
        self._past_cooling_off(account)
        self.pins.approve(merchant, pin)
        return account

    def _past_cooling_off(self, account: MerchantBankAccount) -> MerchantBankAccount:
        if not self.usable(account):
            raise AccountCoolingOff(
                f"{self.name(account)} was added on {moment_text(account.created_at)}: "
                f"settlements to it can start on {moment_text(account.usable_from)} "
                "(a new account waits, in case it was not you who added it).")
        return account

    # ------------------------------------------------------------ internals

    @staticmethod
    def _live(merchant: Merchant) -> Select[MerchantBankAccount]:
        return select(MerchantBankAccount).where(MerchantBankAccount.merchant_id == merchant.id,
                                                 MerchantBankAccount.removed_at.is_(None))

    def _notify(self, merchant: Merchant, kind: MerchantNotice, text: str) -> None:
        notify_merchant(self.db, merchant.id, kind,
                        text + " Not you? Remove it, reset your shop PIN with your password "
                        "and contact support.", now=self.clock())

