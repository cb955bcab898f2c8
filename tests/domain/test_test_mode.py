"""Test mode in the domain (wallet.merchants.modes): keys of each mode, the
query helpers finding one mode's objects only, live paths refusing test
objects and the other way round, and the database's CHECKs keeping test rows
away from money."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from wallet.core.codes import utcnow
from wallet.core.models import Merchant, Transaction, User
from wallet.merchants.errors import (
    MandateNotFound,
    OrderReferenceReused,
    RequestNotFound,
)
from wallet.merchants.keys import MerchantKeys
from wallet.merchants.models import Dispute, PaymentRequest, Refund
from wallet.merchants.modes import in_mode
from wallet.merchants.payment_requests import NewRequest

from ..mandate_helpers import Clock, make_shop, new_mandate, services
from ..wallet_helpers import PIN, make_user, payment_requests, state


@pytest.fixture
def shop(db):
    return make_shop(db, "dosa-corner", endpoint=False)


def test_keys_of_each_mode_authenticate_as_that_mode(db, shop):
    with db() as session, session.begin():
        keys = MerchantKeys(session)
        merchant = session.get_one(Merchant, shop)
        live, test = (keys.issue(merchant, "server", livemode=mode) for mode in (True, False))
        assert live.secret.startswith("sk_live_") and test.secret.startswith("sk_test_")
        assert live.record.prefix.startswith("sk_live_") and test.record.prefix.startswith(
            "sk_test_")
        assert keys.authenticate(live.secret)[0].livemode is True
        assert keys.authenticate(test.secret)[0].livemode is False
        # Each mode lists its own keys only.
        assert [k.id for k in keys.of_merchant(merchant)] == [live.record.id]
        assert [k.id for k in keys.of_merchant(merchant, livemode=False)] == [test.record.id]
        # A secret whose prefix says the other mode is not the key, whatever its hash.
        forged = "sk_live_" + test.secret[len("sk_test_"):]
        assert keys.authenticate(forged) is None


def test_the_helpers_find_one_modes_objects_only(db, shop):
    with db() as session, session.begin():
        requests = payment_requests(session)
        merchant = session.get_one(Merchant, shop)
        live, _ = requests.create(merchant, NewRequest("live-1", 100_00))
        test, _ = requests.create(merchant, NewRequest("test-1", 100_00), livemode=False)
        assert requests.of_merchant(merchant, test.public_id, livemode=False) is test
        for public_id, mode in ((live.public_id, False), (test.public_id, True)):
            with pytest.raises(RequestNotFound):
                requests.of_merchant(merchant, public_id, livemode=mode)
            with pytest.raises(RequestNotFound):
                requests.cancel(merchant, public_id, livemode=mode)
        assert [r.id for r in requests.page(merchant, livemode=False)[0]] == [test.id]
        assert [r.id for r in requests.page(merchant)[0]] == [live.id]
        # The same order reference in the other mode is another order: refused.
        with pytest.raises(OrderReferenceReused):
            requests.create(merchant, NewRequest("live-1", 100_00), livemode=False)
        # Disputes are live-only: nothing of them in test mode.
        assert session.scalars(select(Dispute).where(in_mode(Dispute, False))).all() == []


def test_live_paths_refuse_test_objects_and_test_paths_live_ones(db, shop):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    clock = Clock()
    with db() as session, session.begin():
        s = services(session, clock)
        merchant = session.get_one(Merchant, shop)
        test, _ = s.payment_requests.create(merchant, NewRequest("t", 100_00), livemode=False)
        live, _ = s.payment_requests.create(merchant, NewRequest("l", 100_00))
        mandate = s.mandates.create(merchant, new_mandate(clock), livemode=False)
        live_mandate = s.mandates.create(merchant, new_mandate(clock))
        ids = test.public_id, live.public_id, mandate.public_id, live_mandate.public_id
    before = state(db)
    with db() as session, session.begin():
        s = services(session, clock)
        user = session.get_one(User, asha)
        with pytest.raises(RequestNotFound):  # no wallet pays a test request
            s.payment_requests.pay(user, ids[0], pin=PIN)
        with pytest.raises(RequestNotFound):  # no click pays a live one
            s.payment_requests.simulate(ids[1], succeed=True)
        with pytest.raises(MandateNotFound):  # no PIN approves a test mandate
            s.mandates.approve(user, ids[2], pin=PIN)
        with pytest.raises(MandateNotFound):  # no click approves a live one
            s.mandates.simulate(ids[3], approve=True)
        with pytest.raises(MandateNotFound):  # a test key presents no debit on a live one
            s.mandate_debits.present(session.get_one(Merchant, shop), ids[3], 100,
                                     livemode=False)
    assert state(db) == before


def test_the_database_keeps_test_rows_away_from_money(db, shop):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    with db() as session, session.begin():
        requests = payment_requests(session)
        merchant = session.get_one(Merchant, shop)
        paid, _ = requests.create(merchant, NewRequest("live-paid", 100_00))
        paid = requests.pay(session.get_one(User, asha), paid.public_id, pin=PIN)
        test, _ = requests.create(merchant, NewRequest("test-1", 100_00), livemode=False)
        other_tx = session.scalar(select(Transaction.id).where(Transaction.kind == "deposit"))
        ids = paid.id, paid.transaction_id, test.id, other_tx
    now = utcnow()
    bad_rows = [
        # A test request with a real payment; a live one with a simulated one.
        lambda s: setattr(s.get_one(PaymentRequest, ids[2]), "transaction_id", ids[3]),
        lambda s: setattr(s.get_one(PaymentRequest, ids[0]), "test_payment_id", "tpay_x"),
        # A test refund naming transactions; a live refund without them.
        lambda s: s.add(Refund(public_id="rf_bad1", merchant_id=shop, livemode=False,
                               payment_request_id=ids[2], payment_transaction_id=ids[1],
                               transaction_id=None, amount_paise=1, reason="",
                               created_at=now)),
        lambda s: s.add(Refund(public_id="rf_bad2", merchant_id=shop, livemode=True,
                               payment_request_id=ids[0], payment_transaction_id=None,
                               transaction_id=None, amount_paise=1, reason="",
                               created_at=now + dt.timedelta(seconds=1))),
    ]
    for bad in bad_rows:
        with db() as session, pytest.raises(IntegrityError, match="mode_"), session.begin():
            bad(session)
            session.flush()
