"""Payment links in tests: a shop (with an endpoint wanting every event) and
its links made and opened through the domain, on a clock the test moves."""
from __future__ import annotations

from sqlalchemy import select

from wallet.core.models import Merchant, User
from wallet.merchants.models import MerchantEvent, PaymentLink
from wallet.merchants.payment_links import NewLink

from .mandate_helpers import Clock, make_shop, services
from .wallet_helpers import PIN

__all__ = ["Clock", "events_of", "link_row", "make_link", "make_shop", "open_link", "pay",
           "services"]


def make_link(db, clock: Clock, shop: int, *, livemode: bool = True, **fields) -> str:
    new = NewLink(**{"amount_mode": "fixed", "amount": 250_00, "description": "Table 4 dinner",
                     **fields})
    with db() as session, session.begin():
        return services(session, clock).payment_links.create(
            session.get_one(Merchant, shop), new, livemode=livemode).public_id


def open_link(db, clock: Clock, link: str, amount=None) -> str:
    """A payment request made for the link (as its page's POST): its id."""
    with db() as session, session.begin():
        return services(session, clock).payment_links.open(link, amount).public_id


def pay(db, clock: Clock, user: int, request: str):
    with db() as session, session.begin():
        return services(session, clock).payment_requests.pay(
            session.get_one(User, user), request, pin=PIN)


def link_row(db, public_id: str) -> PaymentLink:
    with db() as session:
        return session.scalars(select(PaymentLink).where(
            PaymentLink.public_id == public_id)).one()


def events_of(db, shop: int) -> list[str]:
    with db() as session:
        return list(session.scalars(select(MerchantEvent.type).where(
            MerchantEvent.merchant_id == shop).order_by(MerchantEvent.id)))
