"""AutoPay mandates, the customer's reads and repeats in the domain (what the
phone app's API shows: api_app.views.autopay): their mandates paged with the
shops, a mandate as a customer may see it, the open debits of a page in one
query, a declined debit declined again. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from wallet.core.codes import DebitStatus
from wallet.core.models import Merchant, User
from wallet.merchants.errors import DebitNotOpen, MandateNotFound

from ..mandate_helpers import Clock, approved_mandate, create_mandate, make_shop, services
from ..wallet_helpers import make_user

DAY = 24 * 3600


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def shop(db):
    return make_shop(db, endpoint=False)


@pytest.fixture
def people(db):
    return (make_user(db, "+919876543210", "Asha", deposit_paise=50_000_00),
            make_user(db, "+919812345678", "Ravi", deposit_paise=1_000_00))


def present(db, clock, shop_id, mandate_id, amount_paise):
    with db() as session, session.begin():
        return services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop_id), mandate_id, amount_paise).public_id


def test_pages_of_the_customers_mandates_with_their_shops(db, clock, shop, people):
    asha, ravi = people
    mine = [approved_mandate(db, clock, shop, asha) for _ in range(3)]
    approved_mandate(db, clock, shop, ravi)
    create_mandate(db, clock, shop)  # a request nobody approved: nobody's
    with db() as session:
        mandates = services(session, clock).mandates
        first, cursor = mandates.customer_page(session.get_one(User, asha), limit=2)
        assert [v.mandate.public_id for v in first] == mine[:0:-1] and cursor is not None
        assert {v.merchant.handle for v in first} == {"streamflix"}
        rest, end = mandates.customer_page(session.get_one(User, asha), cursor=cursor, limit=2)
        assert [v.mandate.public_id for v in rest] == mine[:1] and end is None
        assert mandates.customer_page(session.get_one(User, asha), status="paused")[0] == []


def test_seen_by_the_customer_or_anyone_while_waiting(db, clock, shop, people):
    asha, ravi = people
    waiting = create_mandate(db, clock, shop)
    hers = approved_mandate(db, clock, shop, asha)
    with db() as session:
        mandates = services(session, clock).mandates
        for user in (asha, ravi):
            assert mandates.seen_by(session.get_one(User, user), waiting).mandate.status == \
                "created"
        assert mandates.seen_by(session.get_one(User, asha), hers).merchant.name == "Streamflix"
        with pytest.raises(MandateNotFound):
            mandates.seen_by(session.get_one(User, ravi), hers)
        with pytest.raises(MandateNotFound):
            mandates.seen_by(session.get_one(User, ravi), "md_nosuch")


def test_open_debits_of_a_page_and_a_decline_repeated(db, clock, shop, people):
    asha, _ = people
    small = approved_mandate(db, clock, shop, asha, frequency="as_presented")
    large = approved_mandate(db, clock, shop, asha, max_amount_paise=20_000_00)
    idle = approved_mandate(db, clock, shop, asha)
    for amount_paise in (100_00, 200_00):  # (both paid when due)
        present(db, clock, shop, small, amount_paise)
    waiting = present(db, clock, shop, large, 16_000_00)
    clock.advance(seconds=DAY)
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        for debit_id in debits.due():
            debits.execute(debit_id)
    third = present(db, clock, shop, small, 300_00)
    with db() as session:
        views, _ = services(session, clock).mandates.customer_page(session.get_one(User, asha))
        found = services(session, clock).mandate_debits.open_of([v.mandate for v in views])
        by_id = {v.mandate.public_id: found[v.mandate.id] for v in views}
        assert {k: [d.public_id for d in v] for k, v in by_id.items()} == {
            small: [third], large: [waiting], idle: []}
        assert services(session, clock).mandate_debits.open_of([]) == {}
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        assert debits.decline(session.get_one(User, asha), waiting).status == \
            DebitStatus.CANCELLED
    with db() as session, session.begin():  # again: the same, nothing else changes
        debit = services(session, clock).mandate_debits.decline(session.get_one(User, asha),
                                                                waiting)
        assert (debit.status, debit.failure_code) == (DebitStatus.CANCELLED, "declined")
    with db() as session, session.begin(), pytest.raises(DebitNotOpen):
        services(session, clock).mandate_debits.decline(session.get_one(User, asha), third)
