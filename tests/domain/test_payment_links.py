"""Payment links in the domain: every bad input refused with its field and
nothing written; fixed and open links paid through the payment requests'
checkout rule; single use, cancel, expiry (read at once, swept), references,
and the shop's webhooks."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from wallet.core.errors import WalletError
from wallet.core.models import Merchant
from wallet.merchants.errors import LinkNotPayable, LinkReferenceReused, RequestNotPayable
from wallet.merchants.models import MerchantEvent, PaymentLink, PaymentRequest
from wallet.merchants.payment_links import NewLink

from ..link_helpers import Clock, events_of, link_row, make_link, make_shop, open_link, pay
from ..link_helpers import services as services_at
from ..wallet_helpers import balance, make_user, state


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def shop(db):
    return make_shop(db, "dosa-corner")


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=5_000_00)


def counts(db) -> tuple[int, int]:
    with db() as session:
        return (session.scalar(select(func.count()).select_from(PaymentLink)),
                session.scalar(select(func.count()).select_from(PaymentRequest)))


FIXED = {"amount_mode": "fixed", "amount": 250_00, "description": "Dinner"}
OPEN = {"amount_mode": "open", "amount": None, "description": "Tip"}

BAD_LINKS = [
    ({**FIXED, "amount_mode": "later"}, "amount_mode"),
    ({**FIXED, "amount_mode": ""}, "amount_mode"),
    ({**FIXED, "amount": None}, "amount"),
    ({**FIXED, "amount": ""}, "amount"),
    ({**FIXED, "amount": 0}, "amount"),
    ({**FIXED, "amount": -100}, "amount"),
    ({**FIXED, "amount": "abc"}, "amount"),
    ({**FIXED, "amount": "12.345"}, "amount"),
    ({**FIXED, "amount": "1e3"}, "amount"),
    ({**FIXED, "amount": 1.5}, "amount"),
    ({**FIXED, "amount": True}, "amount"),
    ({**FIXED, "amount": 10 ** 13}, "amount"),
    ({**FIXED, "min_amount": 100}, "min_amount"),
    ({**FIXED, "max_amount": "50"}, "max_amount"),
    ({**OPEN, "amount": 100}, "amount"),
    ({**OPEN, "min_amount": True}, "min_amount"),
    ({**OPEN, "min_amount": "0"}, "min_amount"),
    ({**OPEN, "min_amount": "ten"}, "min_amount"),
    ({**OPEN, "max_amount": -1}, "max_amount"),
    ({**OPEN, "min_amount": 500_00, "max_amount": 100_00}, "max_amount"),
    ({**FIXED, "description": ""}, "description"),
    ({**FIXED, "description": "   "}, "description"),
    ({**FIXED, "description": "x" * 141}, "description"),
    ({**FIXED, "description": "bad\x00byte"}, "description"),
    ({**FIXED, "description": "rtl\u202eflip"}, "description"),
    ({**FIXED, "reference": "has space"}, "reference"),
    ({**FIXED, "reference": "r" * 41}, "reference"),
    ({**FIXED, "reference": "naïve"}, "reference"),
    ({**FIXED, "expires_in_s": 59}, "expires_in_s"),
    ({**FIXED, "expires_in_s": 366 * 86400}, "expires_in_s"),
    ({**FIXED, "expires_in_s": "3600"}, "expires_in_s"),
    ({**FIXED, "single_use": "yes"}, "single_use"),
]


@pytest.mark.parametrize("fields, field", BAD_LINKS, ids=[f"{f}-{i}" for i, (_, f)
                                                         in enumerate(BAD_LINKS)])
def test_a_bad_link_is_refused_with_its_field_and_nothing_written(db, clock, shop, fields,
                                                                   field):
    before = state(db)
    with pytest.raises(WalletError) as refused:
        make_link(db, clock, shop, **fields)
    assert field in refused.value.errors, refused.value.errors
    assert counts(db) == (0, 0) and state(db) == before


def test_every_problem_of_a_form_at_once(db, clock, shop):
    with pytest.raises(WalletError) as refused:
        make_link(db, clock, shop, amount_mode="open", amount=None, min_amount="x",
                  max_amount="0", description="", reference="a b")
    assert set(refused.value.errors) == {"min_amount", "max_amount", "description",
                                         "reference"}


def test_a_fixed_single_use_link_is_paid_once_through_the_checkout(db, clock, shop, asha):
    link = make_link(db, clock, shop, single_use=True, reference="table-4")
    request = open_link(db, clock, link)
    second = open_link(db, clock, link)  # two customers opened it: both may try
    paid = pay(db, clock, asha, request)
    assert paid.status == "paid" and paid.amount_paise == 250_00
    row = link_row(db, link)
    assert (row.status, row.uses_count, row.paid_paise) == ("paid", 1, 250_00)
    before = state(db)
    with pytest.raises(LinkNotPayable, match="already been paid"):
        pay(db, clock, asha, second)
    with pytest.raises(LinkNotPayable, match="already been paid"):
        open_link(db, clock, link)
    assert state(db) == before and balance(db, asha) == (4_750_00, 0)
    assert events_of(db, shop) == ["payment_link.paid"]  # no payment_request.* of its own
    with db() as session:
        data = json.loads(session.scalars(select(MerchantEvent.payload)).one())["data"]
    assert data == {"id": link, "reference": "table-4", "status": "paid", "uses_count": 1,
                    "paid_paise": 250_00, "payment_request_id": request,
                    "amount_paise": 250_00, "paid_at": data["paid_at"]}


BAD_AMOUNTS = [None, "", "abc", "0", "-5", "12.345", "9.99", "500.01", "1,00", "१००", 10 ** 13]


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_an_open_links_amount_is_read_strictly_within_its_range(db, clock, shop, amount):
    link = make_link(db, clock, shop, amount_mode="open", amount=None, min_amount="10",
                     max_amount="500")
    with pytest.raises(WalletError) as refused:
        open_link(db, clock, link, amount)
    assert "amount" in refused.value.errors
    assert counts(db) == (1, 0)


def test_an_open_multi_use_link_counts_every_payment(db, clock, shop, asha):
    link = make_link(db, clock, shop, amount_mode="open", amount=None, min_amount="10")
    for typed in ("10", "120.50", 99_00):
        pay(db, clock, asha, open_link(db, clock, link, typed))
    row = link_row(db, link)
    assert (row.status, row.uses_count, row.paid_paise) == ("active", 3, 10_00 + 120_50 + 99_00)
    assert events_of(db, shop) == ["payment_link.paid"] * 3
    with db() as session:
        service = services_at(session, clock).payment_links
        found = service.of_merchant(session.get_one(Merchant, shop), link)
        assert [p.amount_paise for p in service.payments(found)] == [99_00, 120_50, 10_00]
        page, _ = services_at(session, clock).payment_requests.page(
            session.get_one(Merchant, shop))
        assert page == []  # the link's requests are listed with the link


def test_a_cancelled_link_refuses_a_checkout_opened_before(db, clock, shop, asha):
    link = make_link(db, clock, shop)
    request = open_link(db, clock, link)
    with db() as session, session.begin():
        cancelled = services_at(session, clock).payment_links.cancel(
            session.get_one(Merchant, shop), link)
        assert cancelled.status == "cancelled"
    with db() as session, session.begin():  # again: the same answer
        assert services_at(session, clock).payment_links.cancel(
            session.get_one(Merchant, shop), link).status == "cancelled"
    before = state(db)
    with pytest.raises(RequestNotPayable, match="cancelled"):
        pay(db, clock, asha, request)
    with pytest.raises(LinkNotPayable, match="cancelled"):
        open_link(db, clock, link)
    assert state(db) == before and link_row(db, link).uses_count == 0


def test_expiry_is_read_at_once_and_swept_with_its_webhook(db, clock, shop, asha):
    link = make_link(db, clock, shop, expires_in_s=3600)
    request = open_link(db, clock, link)
    clock.advance(seconds=3600)
    with db() as session:
        view = services_at(session, clock).payment_links.view(link)
        assert (view.status, view.link.status) == ("expired", "active")
    with pytest.raises(LinkNotPayable, match="expired"):
        open_link(db, clock, link)
    with pytest.raises(RequestNotPayable, match="expired"):
        pay(db, clock, asha, request)
    with db() as session, session.begin():
        assert services_at(session, clock).payment_links.expire_due() == 1
    with db() as session, session.begin():
        assert services_at(session, clock).payment_links.expire_due() == 0
    assert link_row(db, link).status == "expired"
    assert events_of(db, shop) == ["payment_link.expired"]
    with db() as session, session.begin():
        with pytest.raises(LinkNotPayable):
            services_at(session, clock).payment_links.cancel(session.get_one(Merchant, shop),
                                                             link)


def test_a_reference_is_unique_in_its_shop_only(db, clock, shop):
    make_link(db, clock, shop, reference="inv-1")
    with pytest.raises(LinkReferenceReused):
        make_link(db, clock, shop, reference="inv-1")
    other = make_shop(db, "chai-point")
    make_link(db, clock, other, reference="inv-1")
    make_link(db, clock, shop)  # none: as many as wanted
    make_link(db, clock, shop)
    assert counts(db) == (4, 0)


def test_a_plain_payment_request_still_tells_its_own_events(db, clock, shop, asha):
    from wallet.merchants.payment_requests import NewRequest

    with db() as session, session.begin():
        request, _ = services_at(session, clock).payment_requests.create(
            session.get_one(Merchant, shop), NewRequest("order-1", 100_00))
        public_id = request.public_id
    pay(db, clock, asha, public_id)
    assert events_of(db, shop) == ["payment_request.paid"]


def test_the_new_link_type(db, clock, shop):
    """(The dataclass the apps build: amounts as typed or as paise.)"""
    link = make_link(db, clock, shop, **{**FIXED, "amount": "99.50"})
    assert link_row(db, link).amount_paise == 99_50
    assert link.startswith("plink_") and len(link) > 20
    assert NewLink("fixed", "x").expires_in_s == 30 * 86400
