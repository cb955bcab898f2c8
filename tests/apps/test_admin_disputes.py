"""The operators' console decides contested disputes: the page lists them
with the shop's evidence, each decision asks for a reason and is audited; a
viewer may not decide; a decided dispute is not decided again."""
from __future__ import annotations

from wallet.core.models import Merchant, User
from wallet.operations.bank_calls import verify_all

from ..mandate_helpers import Clock, event_types, make_shop, services
from ..wallet_helpers import PIN, balance, make_user, state
from .test_admin_console import (  # noqa: F401  (fixtures)
    add_operator,
    admin_settings,
    admin_wsgi,
    audit_rows,
    console,
    csrf,
    operator,
    sign_in,
)


def contested(db, shop_id, user_id, key):
    clock = Clock()
    with db() as session, session.begin():
        s = services(session, clock)
        merchant = session.get_one(Merchant, shop_id)
        payment = s.shop_payments.pay_shop(session.get_one(User, user_id), merchant, 200_00,
                                           f"payment:{user_id}:{key}", pin=PIN)
        dispute = s.disputes.open(user_id, payment.id, "not_authorised", "not me")
        s.disputes.contest(merchant, dispute.public_id, "Paid from the customer's own phone.")
        return dispute.id


def test_the_operator_decides_both_ways(db, operator):  # noqa: F811
    shop = make_shop(db, "dosa-corner")
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    first = contested(db, shop, asha, "pay-key-000000000001")
    second = contested(db, shop, asha, "pay-key-000000000002")
    page = operator.get("/disputes")
    assert f'id="dispute-{first}"' in page.text and "own phone" in page.text
    token = csrf(operator, "/disputes")
    before = state(db)
    refused = operator.post(f"/disputes/{first}/decide",
                            {"for": "customer", "reason": "", "csrf_token": token}, status=400)
    assert "Give a reason" in refused.text and state(db) == before
    operator.post(f"/disputes/{first}/decide",
                  {"for": "maybe", "reason": "x", "csrf_token": token}, status=400)
    operator.post(f"/disputes/{first}/decide", {"for": "customer", "reason": "no OTP trail",
                                                "csrf_token": token}, status=303)
    operator.post(f"/disputes/{second}/decide", {"for": "shop", "reason": "device matches",
                                                 "csrf_token": token}, status=303)
    assert balance(db, asha) == (800_00, 0)  # 400 paid, 200 back
    assert event_types(db, shop)[-2:] == ["dispute.lost", "dispute.won"]
    again = operator.post(f"/disputes/{first}/decide",
                          {"for": "shop", "reason": "second thoughts", "csrf_token": token},
                          status=409)
    assert "not contested" in again.text
    assert [(r.action, r.object_id, r.outcome) for r in audit_rows(db)][-3:] == [
        ("decide_for_customer", str(first), "done"), ("decide_for_shop", str(second), "done"),
        ("decide_for_shop", str(first), "refused")]
    assert "None." in operator.get("/disputes").text
    with db() as session:
        assert verify_all(session).ok


def test_a_viewer_may_not_decide(db, console):  # noqa: F811
    shop = make_shop(db, "dosa-corner")
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    dispute = contested(db, shop, asha, "pay-key-000000000001")
    totp = add_operator(db, "vic", "viewer")
    assert sign_in(console, "vic", totp.now()).status_int == 303
    before = state(db)
    console.post(f"/disputes/{dispute}/decide", {"for": "customer", "reason": "hm",
                                                 "csrf_token": csrf(console, "/disputes")},
                 status=403)
    assert state(db) == before
