"""The shop PIN: the second factor a shop's settlements, and every change to
where they go, need on top of the merchant app's log-in cookie.

A PIN rather than TOTP: it is the wallet PIN's rules and code (wallet.identity.pins:
each try counted before the comparison, a lock after ``max_tries`` wrong ones,
the same hashing), needs no authenticator app at a tea shop's counter, and is
reset with the password like the users' PIN. Set on first use, also with the
password: a stolen cookie alone can neither set, reset nor use it.

Every set, change and reset is notified to the shop (wallet.core.notifications).
"""
from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Column

from ..core.errors import WalletError
from ..core.models import Merchant, table_of
from ..core.notifications import MerchantNotice, notify_merchant
from .accounts import AccountService
from .errors import AccountError, LoginThrottled
from .models import MerchantPin
from .pins import Pins
from .web_sessions import PrincipalKind

__all__ = ["MerchantPins"]


class MerchantPins(Pins):
    table: ClassVar[type[MerchantPin]] = MerchantPin
    owner: ClassVar[Column[int]] = table_of(MerchantPin).c.merchant_id
    locks: ClassVar[str] = "settlements"
    noun: ClassVar[str] = "shop PIN"
    principal: ClassVar[str] = PrincipalKind.MERCHANT

    def set_with_password(self, merchant: Merchant, accounts: AccountService, password: str,
                          ip: str, pin: str, repeat: str) -> None:
        """Set the shop's PIN (the first, or a new one for a forgotten PIN)
        given its password, which ``accounts`` checks and throttles like a
        log-in. A new one clears a lock: the password is the stronger secret."""
        new_hash = self._new_hash(pin, repeat)  # (a bad PIN costs no password guess)
        try:
            accounts.authenticate_merchant(merchant.email, password, ip)
        except LoginThrottled as exc:
            raise WalletError(str(exc), "password") from None
        except AccountError:
            raise WalletError("That is not your password.", "password") from None
        first = not self.has_pin(merchant)
        if first:
            self.set_first_hashed(merchant, new_hash)
        else:
            self._store(merchant, new_hash)
        self._notify(merchant, MerchantNotice.PIN_SET if first else MerchantNotice.PIN_CHANGED,
                     "Your shop PIN was set." if first else
                     "Your shop PIN was reset with your password.")

    def change_with_pin(self, merchant: Merchant, old_pin: str, pin: str, repeat: str) -> None:
        """A new PIN given the old one (the old one's try is counted)."""
        self.change(merchant, old_pin, pin, repeat)
        self._notify(merchant, MerchantNotice.PIN_CHANGED, "Your shop PIN was changed.")

    def _notify(self, merchant: Merchant, kind: MerchantNotice, text: str) -> None:
        notify_merchant(self.db, merchant.id, kind,
                        text + " Not you? Reset it with your password and contact support.",
                        now=self.clock())
