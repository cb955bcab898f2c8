"""AutoPay mandates in tests: a movable clock, a shop with a webhook
endpoint for every event, a mandate approved by a customer."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from wallet.core.codes import Event, utcnow
from wallet.core.models import Merchant, User
from wallet.identity.accounts import AccountService
from wallet.merchants.mandate_rules import NewMandate, ist_day
from wallet.merchants.models import MerchantEndpoint, MerchantEvent

from .wallet_helpers import PASSWORD, PIN, services_for_tests


class Clock:
    """A clock tests move (starts at the real now)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)

    @property
    def today(self) -> dt.date:
        return ist_day(self.now)


def make_shop(db, handle: str = "streamflix", *, endpoint: bool = True) -> int:
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
            handle, handle.title(), f"{handle}@example.com", PASSWORD)
        if endpoint:
            session.add(MerchantEndpoint(
                merchant_id=merchant.id, url=f"https://{handle}.example/hooks",
                events=" ".join(Event.ALL), secret="whsec_" + "A" * 32, enabled=True,
                disabled_reason="", created_at=utcnow()))
        return merchant.id


def new_mandate(clock: Clock, *, max_amount_paise: int = 499_00, frequency: str = "monthly",
                start_in_days: int = 0, days: int = 365,
                description: str = "Streamflix monthly plan") -> NewMandate:
    start = clock.today + dt.timedelta(days=start_in_days)
    return NewMandate(max_amount_paise=max_amount_paise, frequency=frequency, start_date=start,
                      end_date=start + dt.timedelta(days=days), description=description)


def services(session, clock: Clock, **kwargs):
    return services_for_tests(session, clock=clock, **kwargs)


def create_mandate(db, clock: Clock, shop_id: int, **kwargs) -> str:
    with db() as session, session.begin():
        return services(session, clock).mandates.create(
            session.get_one(Merchant, shop_id), new_mandate(clock, **kwargs)).public_id


def approved_mandate(db, clock: Clock, shop_id: int, user_id: int, **kwargs) -> str:
    public_id = create_mandate(db, clock, shop_id, **kwargs)
    with db() as session, session.begin():
        services(session, clock).mandates.approve(session.get_one(User, user_id), public_id,
                                                  pin=PIN)
    return public_id


def event_types(db, shop_id: int) -> list[str]:
    with db() as session:
        return list(session.scalars(select(MerchantEvent.type).where(
            MerchantEvent.merchant_id == shop_id).order_by(MerchantEvent.id)))
