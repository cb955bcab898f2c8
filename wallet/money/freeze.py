"""Frozen wallets: an operator stops a user's wallet from spending while
something is looked into. A frozen wallet still receives (a friend's transfer,
a deposit, a refund, a payout the bank returned); it cannot send, pay a shop,
pay a checkout or withdraw. The money operations call :func:`ensure_can_spend`
on their one path (Transfers.send_money, ShopPayments.pay_shop, WithdrawalService),
so no page or API endpoint can forget it."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum

from ..core.models import Merchant, User
from .errors import WalletFrozen

MAX_REASON_CHARS = 300


class Freezing(StrEnum):
    """What freezing or unfreezing a wallet did."""

    FROZEN = "frozen"
    ALREADY_FROZEN = "already_frozen"
    UNFROZEN = "unfrozen"
    NOT_FROZEN = "not_frozen"


def ensure_can_spend(owner: User | Merchant) -> None:
    """Refuse money leaving a frozen wallet (the owner was loaded in this
    transaction, so a freeze committed before it began is seen)."""
    if isinstance(owner, User) and owner.frozen_at is not None:
        raise WalletFrozen(
            "Your wallet is frozen, so money cannot leave it: "
            f"{owner.frozen_reason or 'under review'}. You can still receive money. "
            "Contact support to have it lifted.")


def freeze(user: User, reason: str, now: dt.datetime) -> Freezing:
    """Freeze ``user``'s wallet; returns what happened (frozen | already_frozen)."""
    if user.frozen_at is not None:
        return Freezing.ALREADY_FROZEN
    user.frozen_at, user.frozen_reason = now, reason[:MAX_REASON_CHARS]
    return Freezing.FROZEN


def unfreeze(user: User) -> Freezing:
    """Lift a freeze; returns what happened (unfrozen | not_frozen)."""
    if user.frozen_at is None:
        return Freezing.NOT_FROZEN
    user.frozen_at, user.frozen_reason = None, None
    return Freezing.UNFROZEN
