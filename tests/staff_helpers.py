"""The people of a shop in tests (wallet.merchants.staff): a shop with its
stores, and people invited and accepted through the domain."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from wallet.core.models import Merchant, MerchantStaff, MerchantStaffAction, MerchantStore
from wallet.merchants.staff import ShopActor

from .wallet_helpers import PASSWORD, services_for_tests

#: Every test person's password (not the shops' own: a person's is their own).
STAFF_PASSWORD = "tea stall ledger 42"
LINK = "http://merchant.test/invite/{}".format


def staff_service(session, clock=None):
    services = services_for_tests(session, **({"clock": clock} if clock else {}))
    return services.staff


def add_store(db, merchant_id: int, name: str, handle: str) -> int:
    """A second (third...) store of the shop (the stores pages are another's work)."""
    with db() as session, session.begin():
        store = MerchantStore(merchant_id=merchant_id, name=name, handle=handle,
                              created_at=dt.datetime.now(dt.timezone.utc))
        session.add(store)
        session.flush()
        return store.id


def first_store(db, merchant_id: int) -> int:
    with db() as session:
        return session.scalar(select(MerchantStore.id).where(
            MerchantStore.merchant_id == merchant_id).order_by(MerchantStore.id))


def owner_actor(db, merchant_id: int) -> ShopActor:
    with db() as session:
        return ShopActor.shop_login(session.get(Merchant, merchant_id))


def invite(db, merchant_id: int, name: str, *, email: str = "", phone: str = "",
           role: str = "cashier", stores: tuple[int, ...] = ()) -> str:
    """Invite someone as the shop's own login: the link's token."""
    with db() as session, session.begin():
        invitation = staff_service(session).invite(
            owner_actor(db, merchant_id), name, email, phone, role,
            [str(s) for s in stores], LINK)
        return invitation.token


def make_staff(db, merchant_id: int, name: str, *, email: str = "", phone: str = "",
               role: str = "cashier", stores: tuple[int, ...] = (),
               password: str = STAFF_PASSWORD) -> int:
    """A person invited and active (their password set): their id."""
    token = invite(db, merchant_id, name, email=email, phone=phone, role=role, stores=stores)
    with db() as session, session.begin():
        return staff_service(session).accept(token, password, password).id


def actions(db, merchant_id: int) -> list[tuple[int | None, str, str]]:
    """(staff id, action, subject) of the shop's audit, oldest first."""
    with db() as session:
        return [(a.staff_id, a.action, a.subject) for a in session.scalars(
            select(MerchantStaffAction).where(MerchantStaffAction.merchant_id == merchant_id)
            .order_by(MerchantStaffAction.id))]


def staff_row(db, staff_id: int) -> MerchantStaff:
    with db() as session:
        row = session.get(MerchantStaff, staff_id)
        session.expunge(row)
        return row


__all__ = ["PASSWORD", "STAFF_PASSWORD", "actions", "add_store", "first_store", "invite",
           "make_staff", "owner_actor", "staff_row", "staff_service"]
