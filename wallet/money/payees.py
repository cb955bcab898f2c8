"""Who a user paid lately: the people and shops behind "Pay again" (the
dashboard) and the recent contacts of the send page. Reads only.

Each list is one query: the user's newest outgoing transfers and payments,
read backwards along ``ix_transactions_payer_user_id_id`` and bounded to
``SCAN_ROWS`` rows (however long the history), grouped by payee, newest
first, with the payee's name joined in (no query per row)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.codes import Kind, Status
from ..core.models import Merchant, MerchantStore, Transaction, User

__all__ = ["RecentPayee", "recent_payees"]

#: How many of the newest outgoing payments are looked at: enough to find a
#: handful of distinct payees, and a fixed cost for a user with years of them.
SCAN_ROWS = 200
#: Payments that happened (a held first transfer too); not failed or undone ones.
PAID = (Status.COMPLETED, Status.PENDING)


@dataclass(frozen=True)
class RecentPayee:
    """A person (``phone``) or a shop's store (``handle``) the user paid,
    and the id of the newest payment to it."""

    last_transaction_id: int
    name: str
    phone: str | None = None
    masked_phone: str | None = None
    handle: str | None = None  # the store's pay page: /pay/<handle>
    open: bool = True  # a closed store takes no more payments

    @property
    def is_shop(self) -> bool:
        return self.handle is not None


def recent_payees(db: Session, user_id: int, *, limit: int = 5,
                  shops: bool = True) -> list[RecentPayee]:
    """The last ``limit`` distinct people (and, with ``shops``, stores) that
    ``user_id`` paid, newest first."""
    kinds = (Kind.TRANSFER, Kind.PAYMENT) if shops else (Kind.TRANSFER,)
    newest = (
        select(Transaction.id, Transaction.payee_user_id, Transaction.payee_merchant_id,
               Transaction.payee_store_id)
        .where(Transaction.payer_user_id == user_id, Transaction.kind.in_(kinds),
               Transaction.status.in_(PAID))
        .order_by(Transaction.id.desc())
        .limit(SCAN_ROWS)
        .subquery()
    )
    payees = (
        select(func.max(newest.c.id).label("last_id"), newest.c.payee_user_id,
               newest.c.payee_merchant_id, newest.c.payee_store_id)
        .group_by(newest.c.payee_user_id, newest.c.payee_merchant_id, newest.c.payee_store_id)
        .subquery()
    )
    # A payment with no store was paid at the shop's first store: its handle is the
    # shop's own, so that row and its first store's rows are one payee (kept once below).
    rows = (
        select(payees.c.last_id, User, Merchant.name, Merchant.handle,
               MerchantStore.name, MerchantStore.handle, MerchantStore.closed_at)
        .select_from(payees)
        .outerjoin(User, User.id == payees.c.payee_user_id)
        .outerjoin(Merchant, Merchant.id == payees.c.payee_merchant_id)
        .outerjoin(MerchantStore, MerchantStore.id == payees.c.payee_store_id)
        .order_by(payees.c.last_id.desc())
        .limit(limit * 2)
    )
    found: list[RecentPayee] = []
    seen: set[str] = set()
    for (last_id, person, shop_name, shop_handle, store_name, store_handle,
         closed_at) in db.execute(rows):
        payee = _payee(last_id, person, shop_name, shop_handle, store_name, store_handle,
                       closed_at is None)
        key = payee.phone or payee.handle or ""
        if payee.name and key not in seen:
            seen.add(key)
            found.append(payee)
    return found[:limit]


def _payee(last_id: int, person: User | None, shop_name: str | None, shop_handle: str | None,
           store_name: str | None, store_handle: str | None, open_: bool) -> RecentPayee:
    if person is not None:
        return RecentPayee(last_id, person.name, phone=person.phone,
                           masked_phone=person.masked_phone)
    if store_handle is not None:  # a chain's branch says both names
        name = shop_name if store_name in (None, shop_name) else f"{shop_name} · {store_name}"
        return RecentPayee(last_id, name or "", handle=store_handle, open=open_)
    return RecentPayee(last_id, shop_name or "", handle=shop_handle)
