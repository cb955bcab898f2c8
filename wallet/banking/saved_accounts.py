"""A user's saved bank accounts: added once, chosen when withdrawing (the
withdraw form offers them first; typed details still work).

    look up  bank, account number typed twice, an IFSC of that bank
             (wallet.banking.account_details: the shops' rules), then the bank
             is asked whose account it is (its protocol's account-holder call):
             the holder's name is the bank's, never typed. No database: the
             caller asks with no transaction open, as every bank call is made.
    add      what the look-up found, then the wallet PIN (its try counted
             first, as money operations approve: wallet.identity.pins); notified.
    remove   the wallet PIN; notified. The row stays (``removed_at``).

Unlike a shop's registered accounts there is no cooling-off: a user may type
any account on the withdraw form, so a wait before a saved one could be used
would protect nothing; the PIN and the notification are the protection.
Every check that costs no PIN try (the fields, the bank's answer, the count,
the same account saved already) comes before the PIN's; a refused PIN has
counted its try and written nothing else (the caller commits).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Select, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.codes import utcnow
from ..core.errors import WalletError
from ..core.models import User
from ..core.notifications import Notice, notify
from ..core.text import whole_number
from ..identity.pins import PinInput, Pins
from .account_details import read_new_account, refuse_if_full
from .banks import BankConfig
from .errors import BankAccountUnknown, BankNotAnswering, SavedAccountNotFound
from .merchant_bank_accounts import BankAccountPolicy
from .models import UserBankAccount
from .protocols import protocol_for
from .protocols.wire import BankRecord, BankUnavailable

__all__ = ["HolderName", "HolderSource", "SavedBankAccounts"]

_FOUND_BY = object()


class HolderSource(Protocol):
    """What a bank answers whose account this is (wallet.banking.bank_client.BankClient)."""

    def account_holder(self, account_number: str, ifsc: str, /) -> BankRecord | None: ...


@dataclass(frozen=True)
class HolderName:
    """An account and its holder's name as its bank reported it. Only
    :meth:`SavedBankAccounts.look_up` makes one."""

    bank_code: str
    account_number: str
    ifsc: str
    name: str
    _by: object = None

    def __post_init__(self) -> None:
        if self._by is not _FOUND_BY:
            raise TypeError("a HolderName comes from SavedBankAccounts.look_up()")


class SavedBankAccounts:
    def __init__(self, dbsession: Session, banks: Mapping[str, BankConfig], pins: Pins, *,
                 policy: BankAccountPolicy, client_for: Callable[[BankConfig], HolderSource],
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.banks = banks
        self.pins = pins
        #: Its ``max_accounts`` (the shops' rule); its cooling-off is the shops' only.
        self.policy = policy
        self.client_for = client_for
        self.clock = clock

    def saved(self, user: User) -> list[UserBankAccount]:
        """The user's live saved accounts, oldest first."""
        return list(self.db.scalars(self._live(user).order_by(UserBankAccount.id)))

    def get(self, user: User, account_id: str | int, *, lock: bool = False) -> UserBankAccount:
        """One of the user's live saved accounts (its id, or as a form sent it),
        else SavedAccountNotFound; ``lock``: its row locked until commit."""
        number = account_id if isinstance(account_id, int) else whole_number(account_id)
        if number is None:
            raise SavedAccountNotFound("Choose one of your saved bank accounts.")
        stmt = self._live(user).where(UserBankAccount.id == number)
        found = self.db.scalar(stmt.with_for_update(key_share=True) if lock else stmt)
        if found is None:
            raise SavedAccountNotFound("Choose one of your saved bank accounts.")
        return found

    def name(self, account: UserBankAccount) -> str:
        """``HDFC Bank ••••1234``."""
        bank = self.banks.get(account.bank_code)
        return f"{bank.name if bank else account.bank_code} {account.masked}"

    # ------------------------------------------------------------- changes

    def look_up(self, bank_code: str, account_number: str, repeat: str,
                ifsc: str) -> HolderName:
        """The fields checked, then the bank asked whose account it is. No
        query: call it with no transaction open (a bank may take seconds)."""
        account_number, ifsc = read_new_account(self.banks, bank_code, account_number, repeat,
                                                ifsc)
        bank = self.banks[bank_code]
        try:
            record = self.client_for(bank).account_holder(account_number, ifsc)
        except BankUnavailable:
            raise BankNotAnswering(f"{bank.name} did not answer whose account this is. Nothing "
                                   "was saved: try again in a minute.") from None
        if record is None:
            raise BankAccountUnknown(f"{bank.name} has no account {account_number} at branch "
                                     f"{ifsc}: check the number and the IFSC.")
        name = protocol_for(bank).holder_name(record)
        if name is None:
            raise BankNotAnswering(f"{bank.name} did not say whose account this is. Nothing "
                                   "was saved: try again in a minute.")
        return HolderName(bank_code, account_number, ifsc, name, _FOUND_BY)

    def add(self, user: User, found: HolderName, pin: PinInput) -> UserBankAccount:
        """Save the account the bank named, given the wallet PIN; notified."""
        same_account = case(((UserBankAccount.bank_code == found.bank_code)
                             & (UserBankAccount.account_number == found.account_number), 1),
                            else_=0)
        live, same = self.db.execute(  # (one statement: how many, and this one among them?)
            select(func.count(), func.coalesce(func.max(same_account), 0))
            .where(UserBankAccount.user_id == user.id, UserBankAccount.removed_at.is_(None))
        ).one()
        if same:
            raise WalletError("That account is saved already.", "account_number")
        refuse_if_full(int(live), self.policy.max_accounts, "you")
        self.pins.approve(user, pin)
        account = UserBankAccount(user_id=user.id, bank_code=found.bank_code,
                                  account_number=found.account_number, ifsc=found.ifsc,
                                  holder_name=found.name, created_at=self.clock())
        try:
            with self.db.begin_nested():  # (the same account saved at once: one wins)
                self.db.add(account)
                self.db.flush()
        except IntegrityError:
            raise WalletError("That account is saved already.", "account_number") from None
        self._notify(user, Notice.BANK_ACCOUNT_SAVED,
                     f"{self.name(account)} ({found.name}, IFSC {found.ifsc}) was saved for "
                     "your withdrawals.")
        return account

    def remove(self, user: User, account_id: str | int, pin: PinInput) -> UserBankAccount:
        """Forget one of the user's saved accounts, given the wallet PIN; notified."""
        account = self.get(user, account_id, lock=True)
        self.pins.approve(user, pin)
        account.removed_at = self.clock()
        self._notify(user, Notice.BANK_ACCOUNT_REMOVED,
                     f"{self.name(account)} ({account.holder_name}) was removed from your "
                     "saved bank accounts.")
        return account

    # ------------------------------------------------------------ internals

    @staticmethod
    def _live(user: User) -> Select[UserBankAccount]:
        return select(UserBankAccount).where(UserBankAccount.user_id == user.id,
                                             UserBankAccount.removed_at.is_(None))

    def _notify(self, user: User, kind: Notice, text: str) -> None:
        notify(self.db, user.id, kind,
               text + " Not you? Remove it, reset your PIN with your password and contact "
               "support.", now=self.clock())
