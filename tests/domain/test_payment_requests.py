"""Payment requests and refunds in the domain: paid at most once, expiry,
cancel, order references, refunds never above what was paid, the outbox."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import ledgerlib
from wallet.core.codes import Delivery, RequestStatus
from wallet.core.errors import DuplicateRequest, WalletError
from wallet.core.models import Merchant, User
from wallet.identity.accounts import AccountService
from wallet.merchants.errors import (
    OrderReferenceReused,
    PaymentNotFound,
    RefundTooLarge,
    RequestNotFound,
    RequestNotPayable,
)
from wallet.merchants.models import MerchantDelivery, MerchantEndpoint, MerchantEvent
from wallet.merchants.payment_requests import NewRequest
from wallet.money.errors import InsufficientBalance

from ..apps.test_merchant_webhooks import Recorder
from ..wallet_helpers import (
    PIN,
    activity_service,
    balance,
    make_user,
    payment_requests,
    refunds,
    state,
)


@pytest.fixture
def shop(db):
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", "correct horse battery")
        merchant.return_origins = "https://shop.example"
        session.add(MerchantEndpoint(
            merchant_id=merchant.id, url="https://shop.example/hooks",
            events="payment_request.paid refund.succeeded", secret="whsec_" + "A" * 32,
            enabled=True, disabled_reason="", created_at=dt.datetime.now(dt.timezone.utc)))
        return merchant.id


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def requests(session, tasks=None, clock=None):
    kwargs = {"clock": clock} if clock else {}
    return payment_requests(session, tasks=tasks, **kwargs)


def create(db, shop, **fields):
    new = NewRequest(**{"order_reference": "order-1001", "amount_paise": 250_00,
                        "description": "2 masala dosa", **fields})
    with db() as session, session.begin():
        request, _ = requests(session).create(session.get(Merchant, shop), new)
        return request.public_id


def pay(db, user_id, public_id, tasks=None):
    with db() as session, session.begin():
        return requests(session, tasks).pay(session.get(User, user_id), public_id, pin=PIN).status


def test_a_request_is_paid_once_and_tells_the_shop(db, shop, asha):
    public_id = create(db, shop)
    tasks = Recorder()
    assert pay(db, asha, public_id, tasks) == RequestStatus.PAID
    assert pay(db, asha, public_id, tasks) == RequestStatus.PAID  # a double click
    assert balance(db, asha)[0] == 750_00
    with db() as session:
        assert [e.type for e in session.scalars(select(MerchantEvent))] == [
            "payment_request.paid"]
        deliveries = list(session.scalars(select(MerchantDelivery)))
        assert [d.status for d in deliveries] == [Delivery.PENDING]
        assert tasks.deliveries == [deliveries[0].id]  # after commit, once
    make_user(db, "+919812345678", "Ravi", deposit_paise=500_00)
    with db() as session:
        ravi = session.scalar(select(User.id).where(User.phone == "+919812345678"))
    with pytest.raises(RequestNotPayable, match="already been paid"):
        pay(db, ravi, public_id)


def test_an_expired_or_cancelled_request_moves_nothing(db, shop, asha):
    late = create(db, shop, order_reference="late-1", expires_in_s=60)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    with db() as session, session.begin():
        assert requests(session, clock=lambda: future).expire_due() == 1
    before = state(db)
    with pytest.raises(RequestNotPayable, match="expired"):
        pay(db, asha, late)
    cancelled = create(db, shop, order_reference="gone-1")
    with db() as session, session.begin():
        requests(session).cancel(session.get(Merchant, shop), cancelled)
    with pytest.raises(RequestNotPayable, match="cancelled"):
        pay(db, asha, cancelled)
    assert state(db)[:2] == before[:2]  # the ledger did not move


def test_order_references_are_unique_per_shop(db, shop):
    first = create(db, shop)
    assert create(db, shop) == first  # the same order again: the same request
    with pytest.raises(OrderReferenceReused):
        create(db, shop, amount_paise=999_00)


@pytest.mark.parametrize("fields, field", [
    ({"amount_paise": 0}, None), ({"amount_paise": -5}, None),
    ({"order_reference": "has space"}, "order_reference"),
    ({"expires_in_s": 5}, "expires_in_s"),
    ({"return_url": "https://evil.example/paid"}, "return_url"),
    ({"description": "x" * 141}, "description"),
])
def test_bad_requests_are_refused(db, shop, fields, field):
    before = state(db)
    with pytest.raises((WalletError, ValueError)) as error:
        create(db, shop, **fields)
    if field:
        assert getattr(error.value, "field", None) == field
    assert state(db) == before


def refund(db, shop, payment_id, amount, key="refund-key-000000001"):
    with db() as session, session.begin():
        return refunds(session).refund(session.get(Merchant, shop), payment_id, amount, key,
                                       "cold dosa").amount_paise


def test_partial_refunds_up_to_what_was_paid(db, shop, asha):
    public_id = create(db, shop)
    pay(db, asha, public_id)
    with db() as session:
        payment_id = refunds(session).payment_of_request(session.get(Merchant, shop), public_id)
    assert refund(db, shop, payment_id, 100_00, "refund-key-000000001") == 100_00
    assert refund(db, shop, payment_id, 100_00, "refund-key-000000001") == 100_00  # replay
    assert refund(db, shop, payment_id, 150_00, "refund-key-000000002") == 150_00
    with pytest.raises(RefundTooLarge):
        refund(db, shop, payment_id, 1, "refund-key-000000003")
    with pytest.raises(DuplicateRequest):
        refund(db, shop, payment_id, 99_00, "refund-key-000000001")
    assert balance(db, asha)[0] == 1_000_00
    with db() as session:
        history = activity_service(session).page(session.get(User, asha)).items
        assert [(i.transaction.kind, i.direction) for i in history[:2]] == [
            ("refund", "in"), ("refund", "in")]
        assert "Chai Point" in history[0].counterparty


def test_a_refund_needs_the_shops_money_and_its_own_payment(db, shop, asha):
    public_id = create(db, shop)
    pay(db, asha, public_id)
    with db() as session:
        payment_id = refunds(session).payment_of_request(session.get(Merchant, shop), public_id)
    with db() as session, session.begin():  # the shop settles everything first
        ledgerlib.Ledger(session).transfer("merchant:1:wallet", "user:1:wallet", 200_00)
    before = state(db)
    with pytest.raises(InsufficientBalance, match="shop's available balance"):
        refund(db, shop, payment_id, 100_00)
    with pytest.raises(PaymentNotFound):
        refund(db, shop, payment_id + 1000, 100_00)
    with pytest.raises(RequestNotFound):
        create(db, shop) and requests_of_other_shop(db, public_id)
    assert state(db) == before


def requests_of_other_shop(db, public_id):
    with db() as session, session.begin():
        other = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "other-shop", "Other", "other@example.com", "correct horse battery")
        requests(session).of_merchant(other, public_id)
