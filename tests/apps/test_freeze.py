"""A frozen wallet cannot send, pay a shop, pay a checkout or withdraw -- in
the user app and the API alike, because the domain refuses it -- and still
receives; the user sees why; unfreezing lifts it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from wallet.core.models import Merchant, User
from wallet.identity.accounts import AccountService
from wallet.merchants.payment_requests import NewRequest
from wallet.operations.audit import Actor

from ..api_helpers import auth, new_key, sign_in
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    TEST_BANKS,
    PinForm,
    balance,
    login,
    make_user,
    operator_actions,
    payment_requests,
    state,
    transfers_service,
)

ASHA, RAVI = "+919876543210", "+919812345678"
REASON = "chargeback investigation 42"


@pytest.fixture
def asha(db):
    return make_user(db, ASHA, "Asha", deposit_paise=1_000_00)


@pytest.fixture
def ravi(db):
    return make_user(db, RAVI, "Ravi", deposit_paise=500_00)


@pytest.fixture
def shop(db):
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "dosa-corner", "Dosa Corner", "dosa@example.com", PASSWORD)
        merchant.return_origins = "https://shop.example"
        return merchant.id


def set_frozen(db, user_id, frozen: bool):
    with db() as session, session.begin():
        actions = operator_actions(session, TEST_BANKS, Actor.cli("test-ops"))
        result = (actions.freeze_wallet(user_id, REASON) if frozen
                  else actions.unfreeze_wallet(user_id, "cleared"))
        assert result.ok, result.message


def checkout_request(db, shop) -> str:
    new = NewRequest(order_reference="order-1", amount_paise=50_00, description="dosa",
                     return_url="https://shop.example/done")
    with db() as session, session.begin():
        request, _ = payment_requests(session, tasks=None).create(
            session.get(Merchant, shop), new)
        return request.public_id


def page_attempts(user_app, public_id):
    """Each money form of the user app, filled in and submitted."""
    send = user_app.get("/send").forms["send-form"]
    send["phone"], send["amount"] = "98123 45678", "10"
    pay = user_app.get("/pay/dosa-corner").forms["pay-form"]
    pay["amount"] = "10"
    withdraw = user_app.get("/withdraw").forms["withdraw-form"]
    withdraw["account_number"], withdraw["ifsc"], withdraw["amount"] = (
        "50100012345678", "HDFC0001234", "10")
    checkout = user_app.get(f"/checkout/{public_id}").forms["checkout-form"]
    checkout["pin"] = PIN
    return {"send": PinForm(send), "pay": PinForm(pay), "withdraw": PinForm(withdraw),
            "checkout": checkout}


def test_frozen_wallet_cannot_spend_from_the_pages(user_app, db, asha, ravi, shop):
    public_id = checkout_request(db, shop)
    assert login(user_app, ASHA).status_int == 303
    set_frozen(db, asha, True)
    dashboard = user_app.get("/dashboard")
    assert "Your wallet is frozen" in dashboard.text and REASON in dashboard.text
    before = state(db)
    for name, form in page_attempts(user_app, public_id).items():
        refused = form.submit(status=400)
        # Said once, in one wording, as a warning (not the green of success).
        assert refused.text.count("wallet is frozen") == 1, (name, refused.text)
        assert "notice bad frozen" in refused.text, name
    assert state(db) == before
    assert balance(db, asha) == (1_000_00, 0)

    # It still receives.
    with db() as session, session.begin():
        transfers_service(session).send_money(session.get(User, ravi), ASHA, 25_00,
                                          "form-key-freeze-0001", pin=PIN)
    assert balance(db, asha) == (1_025_00, 0)

    set_frozen(db, asha, False)
    assert "Your wallet is frozen" not in user_app.get("/dashboard").text
    for name, form in page_attempts(user_app, public_id).items():
        assert form.submit().status_int == 303, name
    # send, pay, checkout, and the withdrawal held
    assert balance(db, asha) == (1_025_00 - 10_00 - 10_00 - 50_00 - 10_00, 10_00)


MONEY_REQUESTS = [
    ("/v1/transfers", {"to_phone": "98123 45678", "amount_paise": 10_00, "pin": PIN}),
    ("/v1/payments", {"merchant_handle": "dosa-corner", "amount_paise": 10_00, "pin": PIN}),
    ("/v1/withdrawals", {"bank": "hdfc", "account_number": "50100012345678",
                         "ifsc": "HDFC0001234", "amount_paise": 10_00, "pin": PIN}),
]


def test_frozen_wallet_cannot_spend_through_the_api(api, db, asha, ravi, shop):
    token = sign_in(api, ASHA)
    set_frozen(db, asha, True)
    before = state(db)
    for path, body in MONEY_REQUESTS:
        reply = api.post_json(path, body, headers=auth(token, new_key()), status=409)
        assert reply.content_type == "application/problem+json"
        assert reply.json["code"] == "wallet_frozen", path
        assert REASON in reply.json["detail"]
    assert state(db) == before
    # Money in still arrives, and the balance is there to read.
    ravi_token = sign_in(api, RAVI, device="ravi's phone")
    api.post_json("/v1/transfers", {"to_phone": "98765 43210", "amount_paise": 5_00, "pin": PIN},
                  headers=auth(ravi_token, new_key()), status=201)
    set_frozen(db, asha, False)
    for path, body in MONEY_REQUESTS:
        reply = api.post_json(path, body, headers=auth(token, new_key()))
        assert reply.status_int in (200, 201, 202)
    assert balance(db, asha) == (1_005_00 - 30_00, 10_00)


def test_freezing_and_unfreezing_are_told_to_the_user(db, asha):
    from wallet.core.models import Notification
    set_frozen(db, asha, True)
    set_frozen(db, asha, True)  # already frozen: told once
    set_frozen(db, asha, False)
    with db() as session:
        told = session.scalars(select(Notification.kind).where(Notification.user_id == asha)
                               .order_by(Notification.id)).all()
    assert [kind for kind in told if kind.startswith("wallet_")] == [
        "wallet_frozen", "wallet_unfrozen"]
