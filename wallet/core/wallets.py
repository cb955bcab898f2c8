"""A party's wallet is a ledger account: a liability (money we owe them) that
may not go negative, opened together with the party -- one rule for users
and shops, used when either signs up."""
from __future__ import annotations

from ledgerlib import Ledger

from . import codes
from .models import Merchant, User

__all__ = ["open_wallet"]


def open_wallet(ledger: Ledger, owner: User | Merchant) -> None:
    """Open ``owner``'s wallet account (a no-op if it is open already)."""
    kind = "user" if isinstance(owner, User) else "merchant"
    ledger.open_account(owner.wallet_code, "liability",
                        owner_ref=codes.owner_ref(kind, owner.id))
