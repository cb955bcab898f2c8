"""A shop's stores (wallet.merchants.stores): a handle pays exactly one place
(across shops' and stores' handles), closing rules, refused input writes
nothing; paying a store's handle names the store on the payment."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from wallet.core.errors import WalletError
from wallet.core.models import Merchant, MerchantStore, Transaction, User
from wallet.identity.accounts import AccountService
from wallet.identity.errors import AccountError
from wallet.merchants.errors import StoreHandleTaken, StoreNotClosable, StoreNotFound
from wallet.merchants.models import PaymentRequest
from wallet.merchants.payment_requests import NewRequest
from wallet.merchants.stores import Stores
from wallet.money.errors import StoreClosed

from ..wallet_helpers import PASSWORD, PIN, make_user, payment_requests, shop_payments_service

NOW = dt.datetime(2026, 12, 12, 10, 0, tzinfo=dt.timezone.utc)


def clock() -> dt.datetime:
    return NOW


def signup(db, handle="chai-point", name="Chai Point") -> int:
    with db() as session, session.begin():
        return AccountService(session, bcrypt_rounds=4, clock=clock).signup_merchant(
            handle, name, f"{handle}@example.com", PASSWORD).id


def open_store(db, merchant_id: int, name: str, handle: str) -> int:
    with db() as session, session.begin():
        return Stores(session, clock=clock).open(session.get(Merchant, merchant_id),
                                                 name, handle).id


def store_count(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(MerchantStore))


@pytest.fixture
def shop(db):
    return signup(db)


def test_a_shop_has_its_first_store_and_opens_more(db, shop):
    airport = open_store(db, shop, "  Chai Point,   Airport ", " Chai-Point-Airport ")
    with db() as session:
        stores = Stores(session, clock=clock).of_merchant(session.get(Merchant, shop))
        assert [(s.name, s.handle) for s in stores] == [
            ("Chai Point", "chai-point"), ("Chai Point, Airport", "chai-point-airport")]
        assert stores[1].id == airport and stores[1].created_at == NOW
        assert stores[1].closed_at is None


@pytest.mark.parametrize("handle", ["chai-point", "tea-house", "tea-house-mg-road"])
def test_a_handle_pays_one_place(db, shop, handle):
    """A shop's handle, another shop's, another shop's store's: all taken."""
    other = signup(db, "tea-house", "Tea House")
    open_store(db, other, "MG Road", "tea-house-mg-road")
    before = store_count(db)
    with db() as session, session.begin(), pytest.raises(StoreHandleTaken) as refused:
        Stores(session, clock=clock).open(session.get(Merchant, shop), "New", handle)
    assert refused.value.code == "store_handle_taken" and refused.value.field == "handle"
    assert store_count(db) == before


def test_a_new_shop_cannot_take_a_stores_handle(db, shop):
    open_store(db, shop, "Airport", "chai-point-airport")
    with pytest.raises(AccountError):
        signup(db, "chai-point-airport", "Someone Else")
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Merchant)) == 1


@pytest.mark.parametrize("name, handle, fields", [
    ("", "good-handle", {"name"}),
    ("Airport", "ab", {"handle"}),
    ("Airport", "Bad Handle!", {"handle"}),
    ("Airport", "-dash-first", {"handle"}),
    ("Airport", "x" * 31, {"handle"}),
    ("A" * 81, "good-handle", {"name"}),
    ("Air\u202eport", "", {"name", "handle"}),
])
def test_bad_input_writes_nothing(db, shop, name, handle, fields):
    before = store_count(db)
    with db() as session, session.begin(), pytest.raises(WalletError) as refused:
        Stores(session, clock=clock).open(session.get(Merchant, shop), name, handle)
    assert set(refused.value.errors) == fields
    assert store_count(db) == before


def test_rename_and_close_rules(db, shop):
    airport = open_store(db, shop, "Airport", "chai-point-airport")
    with db() as session, session.begin():
        stores, merchant = Stores(session, clock=clock), session.get(Merchant, shop)
        first = stores.first_id(merchant)
        assert stores.rename(merchant, airport, " Airport T2 ").name == "Airport T2"
        with pytest.raises(WalletError):
            stores.rename(merchant, airport, "")
        with pytest.raises(StoreNotClosable) as refused:
            stores.close(merchant, first)
        assert refused.value.code == "store_not_closable"
        assert stores.close(merchant, str(airport)).closed_at == NOW
        assert stores.close(merchant, airport).closed_at == NOW  # again: no change
    with db() as session:
        assert session.get(MerchantStore, first).closed_at is None
        assert session.get(MerchantStore, airport).name == "Airport T2"


def test_another_shops_store_is_not_found(db, shop):
    other = signup(db, "tea-house", "Tea House")
    theirs = open_store(db, other, "MG Road", "tea-house-mg-road")
    with db() as session, session.begin():
        stores, merchant = Stores(session, clock=clock), session.get(Merchant, shop)
        for store_id in (theirs, "nope", "99999", None):
            with pytest.raises(StoreNotFound):
                stores.close(merchant, store_id)
            with pytest.raises(StoreNotFound):
                stores.rename(merchant, store_id, "Mine now")
    with db() as session:
        assert session.get(MerchantStore, theirs).closed_at is None


def _pay(db, user_id, handle, key):
    with db() as session, session.begin():
        return shop_payments_service(session, clock=clock).pay_merchant(
            session.get(User, user_id), handle, 100_00, key, pin=PIN).id


def test_paying_a_handle_names_its_store(db, shop):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    airport = open_store(db, shop, "Airport", "chai-point-airport")
    by_store = _pay(db, asha, "Chai-Point-Airport", "form-key-000000000001")
    by_shop = _pay(db, asha, "chai-point", "form-key-000000000002")
    assert _pay(db, asha, "chai-point-airport", "form-key-000000000001") == by_store  # replay
    with db() as session:
        first = Stores(session).first_id(session.get(Merchant, shop))
        paid = {tx.id: (tx.payee_merchant_id, tx.payee_store_id)
                for tx in session.scalars(select(Transaction).where(
                    Transaction.id.in_([by_store, by_shop])))}
    assert paid == {by_store: (shop, airport), by_shop: (shop, first)}


def test_a_closed_store_takes_no_payments(db, shop):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    airport = open_store(db, shop, "Airport", "chai-point-airport")
    with db() as session, session.begin():
        Stores(session, clock=clock).close(session.get(Merchant, shop), airport)
    with pytest.raises(StoreClosed) as refused:
        _pay(db, asha, "chai-point-airport", "form-key-000000000003")
    assert "no longer takes payments" in str(refused.value)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.payee_merchant_id == shop)) == 0


def test_a_payment_request_is_paid_at_its_store(db, shop):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    airport = open_store(db, shop, "Airport", "chai-point-airport")
    with db() as session, session.begin():
        requests, merchant = payment_requests(session, clock=clock), session.get(Merchant, shop)
        named, _ = requests.create(merchant, NewRequest("order-1", 50_00,
                                                        store_handle="chai-point-airport"))
        plain, _ = requests.create(merchant, NewRequest("order-2", 50_00))
        with pytest.raises(StoreNotFound):
            requests.create(merchant, NewRequest("order-3", 50_00, store_handle="tea-house"))
        ids = named.public_id, plain.public_id
        first = Stores(session).first_id(merchant)
        assert (named.store_id, plain.store_id) == (airport, first)
    with db() as session, session.begin():
        requests = payment_requests(session, clock=clock)
        for public_id in ids:
            requests.quote(session.get(User, asha), public_id).confirm(PIN,
                                                                      "form-key-000000000009")
    with db() as session:
        stores = [session.scalar(select(Transaction.payee_store_id).join(
            PaymentRequest, PaymentRequest.transaction_id == Transaction.id).where(
            PaymentRequest.public_id == public_id)) for public_id in ids]
    assert stores == [airport, first]
