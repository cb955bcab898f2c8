"""A shop's stores (outlets): each has its own name, payment handle, QR and
pay link; their money is the shop's (one wallet). Every shop has a first store
from its sign-up (wallet.identity.accounts), with the shop's own name and
handle: paying the shop's handle pays it.

A handle pays exactly one place: a new store's handle may be no shop's and no
store's (closed ones keep theirs, so an old QR never pays someone else). A
closed store takes no payments; the first store is never closed (it answers
the shop's handle), so a shop always has an open one. A payment names its
store (``transactions.payee_store_id``; NULL, for payments made before
stores, is the first store): :func:`store_of` joins it in the query that
reads the payment, so showing it costs no statement of its own."""
from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ..core.codes import utcnow
from ..core.errors import WalletError
from ..core.models import Merchant, MerchantStore, User
from ..core.text import is_ordinary, whole_number
from ..identity.accounts import HANDLE_RULE, is_handle
from ..money.errors import StoreClosed
from .errors import StoreHandleTaken, StoreNotClosable, StoreNotFound

__all__ = ["MAX_NAME_CHARS", "MAX_STORES", "STORE_COLUMNS", "StoreRef", "Stores",
           "first_store_id", "store_of"]

MAX_NAME_CHARS = 80
#: Stores a shop may have, open or closed: a chain's branches, not a pile.
MAX_STORES = 200
#: What a payment's store is shown by (select them, then :meth:`StoreRef.of_row`).
STORE_COLUMNS = (MerchantStore.id, MerchantStore.name, MerchantStore.handle)


@dataclass(frozen=True)
class StoreRef:
    """A store as a payment, refund or dispute names it."""

    id: int
    name: str
    handle: str

    @classmethod
    def of(cls, store: MerchantStore) -> StoreRef:
        return cls(store.id, store.name, store.handle)

    @classmethod
    def of_row(cls, row: Any, at: int = 0) -> StoreRef | None:
        """From :data:`STORE_COLUMNS` selected at ``at`` in ``row`` (None: no store)."""
        return None if row[at] is None else cls(row[at], row[at + 1], row[at + 2])

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "handle": self.handle}


def first_store_id(merchant_id: Any) -> Any:
    """The first store of the shop ``merchant_id`` (a column or value), as a
    scalar subquery."""
    first = aliased(MerchantStore)
    return (select(func.min(first.id)).where(first.merchant_id == merchant_id)
            .scalar_subquery())


def store_of(store_id: Any, merchant_id: Any) -> ColumnElement[bool]:
    """The join condition on MerchantStore for a payment's store: ``store_id``,
    or (NULL: made before stores) the shop ``merchant_id``'s first store."""
    return MerchantStore.id == func.coalesce(store_id, first_store_id(merchant_id))


def _name(name: str, problems: dict[str, str]) -> str:
    name = unicodedata.normalize("NFC", " ".join((name or "").split()))
    if not name or len(name) > MAX_NAME_CHARS or not is_ordinary(name):
        # As a shop's name: what customers read must read as it is.
        problems["name"] = f"Name the store (up to {MAX_NAME_CHARS} ordinary characters)."
    return name


class Stores:
    def __init__(self, dbsession: Session, *, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.clock = clock

    # ------------------------------------------------------------------ reads

    def of_merchant(self, merchant: Merchant) -> list[MerchantStore]:
        """The shop's stores, the first one first, then as they were opened."""
        return list(self.db.scalars(select(MerchantStore).where(
            MerchantStore.merchant_id == merchant.id).order_by(MerchantStore.id)))

    def refs(self, merchant: Merchant) -> dict[int | None, StoreRef]:
        """The shop's stores by id, and under None its first (what a payment
        without a store was paid at): for lists that show many payments."""
        stores = self.of_merchant(merchant)
        found: dict[int | None, StoreRef] = {store.id: StoreRef.of(store) for store in stores}
        if stores:
            found[None] = found[stores[0].id]
        return found

    def get(self, merchant: Merchant, store_id: int | str | None) -> MerchantStore:
        """One of the shop's stores by its id (another shop's is not found)."""
        number = store_id if isinstance(store_id, int) else whole_number(store_id or "")
        store = None if number is None else self.db.get(MerchantStore, number)
        if store is None or store.merchant_id != merchant.id:
            raise StoreNotFound("No such store of your shop.")
        return store

    def for_payment(self, merchant: Merchant, *, store_id: int | None = None,
                    handle: str | None = None) -> MerchantStore:
        """The store a payment request names (by id or handle), open; the
        shop's first store if it names none."""
        if store_id is None and not handle:
            store = self.db.scalar(select(MerchantStore).where(
                MerchantStore.id == first_store_id(merchant.id)))
        elif store_id is not None:
            store = self.db.get(MerchantStore, store_id)
        else:
            store = self.db.scalar(select(MerchantStore).where(
                MerchantStore.handle == (handle or "").strip().lower()[:30]))
        if store is None or store.merchant_id != merchant.id:
            raise StoreNotFound("No such store of your shop.", "store")
        if store.closed_at is not None:
            raise StoreClosed("This store is closed: it no longer takes payments.", "store")
        return store

    def first_id(self, merchant: Merchant) -> int | None:
        """The id of the shop's first store (it answers the shop's own handle)."""
        first: int | None = self.db.scalar(select(first_store_id(merchant.id)))
        return first

    # ---------------------------------------------------------------- changes

    def open(self, merchant: Merchant, name: str, handle: str) -> MerchantStore:
        """A new store with its own ``handle`` (the rule of shops' handles,
        and taken by no shop or store). Refused: nothing written."""
        handle = (handle or "").strip().lower()
        problems: dict[str, str] = {}
        name = _name(name, problems)
        if not is_handle(handle):
            problems["handle"] = HANDLE_RULE
        if problems:
            raise WalletError.of_fields(problems)
        if self._handle_taken(handle):
            raise StoreHandleTaken("That handle already pays a shop or a store: choose another.")
        if (self.db.scalar(select(func.count()).select_from(MerchantStore).where(
                MerchantStore.merchant_id == merchant.id)) or 0) >= MAX_STORES:
            raise WalletError(f"A shop may have up to {MAX_STORES} stores.", "handle")
        store = MerchantStore(merchant_id=merchant.id, name=name, handle=handle,
                              created_at=self.clock(), closed_at=None)
        try:
            with self.db.begin_nested():  # the same handle taken at once elsewhere: one wins
                self.db.add(store)
                self.db.flush()
        except IntegrityError:
            raise StoreHandleTaken("That handle already pays a shop or a store: "
                                   "choose another.") from None
        return store

    def _handle_taken(self, handle: str) -> bool:
        # Both tables: a shop's handle is its first store's too, but a shop
        # signing up meanwhile may not have its store row yet.
        # A person's receive handle too (/to/<handle>): a shop must not pose as them.
        taken = union_all(select(Merchant.id).where(Merchant.handle == handle),
                          select(MerchantStore.id).where(MerchantStore.handle == handle),
                          select(User.id).where(User.handle == handle))
        return bool(self.db.scalar(select(exists(taken.subquery().select()))))

    def rename(self, merchant: Merchant, store_id: int | str | None, name: str) -> MerchantStore:
        store = self.get(merchant, store_id)
        problems: dict[str, str] = {}
        name = _name(name, problems)
        if problems:
            raise WalletError.of_fields(problems)
        store.name = name
        return store

    def close(self, merchant: Merchant, store_id: int | str | None) -> MerchantStore:
        """Close a store: it takes no more payments (its history stays).
        Closing a closed one again changes nothing."""
        store = self.get(merchant, store_id)
        if store.closed_at is not None:
            return store
        if store.id == self.first_id(merchant):
            raise StoreNotClosable("The first store answers your shop's own handle: it "
                                   "cannot be closed.")
        still_open = self.db.scalar(select(func.count()).select_from(MerchantStore).where(
            MerchantStore.merchant_id == merchant.id, MerchantStore.closed_at.is_(None)))
        if (still_open or 0) <= 1:  # (the first is never closed: a guard, not a path)
            raise StoreNotClosable("This is your shop's last open store: it cannot be closed.")
        store.closed_at = self.clock()
        return store
