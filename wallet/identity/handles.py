"""People's receive handles: ``asha@wallet``, the address on their QR code
(``{user app}/to/asha``) that others scan to send them money.

A handle has the shape of a shop's (:data:`HANDLE_RULE`), is chosen once
(printed QR codes must keep paying the same person), and pays exactly one
party: no other person's, and no shop's or store's (closed ones too, as
wallet.merchants.stores keeps theirs). The unique constraint on
``users.handle`` settles two people choosing the same one at once.

Sending to a handle is the transfer's own rule (wallet.money.transfers finds
the recipient by phone or by :func:`handle_of_address`); this module only
names the handle."""
from __future__ import annotations

from sqlalchemy import exists, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.errors import WalletError
from ..core.models import Merchant, MerchantStore, User
from .accounts import HANDLE_RULE, is_handle
from .errors import HandleAlreadyChosen, HandleTaken

__all__ = ["HANDLE_DOMAIN", "Handles", "address_of", "handle_of_address", "read_handle"]

#: What follows a person's handle in their address: ``asha@wallet``.
HANDLE_DOMAIN = "wallet"
TAKEN = "That handle is taken: choose another."


def read_handle(text: str) -> str | None:
    """``text`` as a handle (trimmed, lowercased; ``asha@wallet`` gives
    ``asha``), or None if it is not one's shape."""
    handle = (text or "").strip().lower()[:40]
    name, at, domain = handle.partition("@")
    if at and domain != HANDLE_DOMAIN:
        return None
    return name if is_handle(name) else None


def address_of(handle: str) -> str:
    """``asha`` -> ``asha@wallet``."""
    return f"{handle}@{HANDLE_DOMAIN}"


def handle_of_address(text: str) -> str | None:
    """The handle of an address ``asha@wallet`` (how a transfer names its
    recipient by handle rather than phone), else None."""
    return read_handle(text) if "@" in (text or "") else None


class Handles:
    def __init__(self, dbsession: Session):
        self.db = dbsession

    def choose(self, user: User, text: str) -> User:
        """Give ``user`` the handle ``text`` (``asha`` or ``asha@wallet``),
        once. Refused (nothing written): not a handle's shape, taken, or
        ``user`` has one already."""
        if user.handle is not None:
            raise HandleAlreadyChosen(
                f"Your handle is {address_of(user.handle)}: it cannot be changed, as QR "
                "codes you shared keep paying you.")
        handle = read_handle(text)
        if handle is None:
            raise WalletError(HANDLE_RULE, "handle")
        if self._taken(handle):
            raise HandleTaken(TAKEN)
        try:
            with self.db.begin_nested():  # the same handle chosen at once elsewhere: one wins
                user.handle = handle
                self.db.flush()
        except IntegrityError:  # (the savepoint's rollback expired the user: reread)
            raise HandleTaken(TAKEN) from None
        return user

    def _taken(self, handle: str) -> bool:
        taken = union_all(select(User.id).where(User.handle == handle),
                          select(Merchant.id).where(Merchant.handle == handle),
                          select(MerchantStore.id).where(MerchantStore.handle == handle))
        return bool(self.db.scalar(select(exists(taken.subquery().select()))))
