"""The API for shops' servers: merchant keys (shown once, hashed, revoked at
once, never taken for a user's token nor the other way round), payment
requests (create, Idempotency-Key replay, order references, list, get,
cancel, another shop's id), refunds (partial, full, too large, replay, the
shop's balance), bad input writing nothing, and -- on PostgreSQL -- a request
paid by eight confirmations at once and refunds racing each other."""
from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

import ledgerlib
from wallet.core.codes import RequestStatus
from wallet.core.idempotency import IdempotencyKeys, KeyOwner
from wallet.core.models import IdempotencyRecord, Merchant, Transaction, User
from wallet.identity.accounts import AccountService
from wallet.merchants.errors import RefundTooLarge, RequestNotPayable
from wallet.merchants.keys import TOUCH_EVERY, MerchantKeys, key_sha256
from wallet.merchants.models import MerchantApiKey, PaymentRequest, Refund
from wallet.merchants.payment_requests import NewRequest

from ..api_helpers import auth, new_key, sign_in
from ..conftest import pin_test_app
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    balance,
    count,
    make_user,
    payment_requests,
    refunds,
    state,
)

PROBLEM = "application/problem+json"
USER_APP = "http://wallet.test"


@pytest.fixture
def api_settings(web_settings):
    return {**web_settings, "api.rate_limit_backend": "memory", "wallet.user_app_url": USER_APP}


def make_shop(db, handle="chai-point", email="chai@example.com",
              origins="https://shop.example") -> tuple[int, str]:
    """A shop with return origins and a live key: (merchant id, secret key)."""
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
            handle, handle.title(), email, PASSWORD)
        merchant.return_origins = origins
        return merchant.id, MerchantKeys(session).issue(merchant, "server").secret


@pytest.fixture
def shop(db):
    return make_shop(db)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def create(api, secret, status=201, key=None, **fields):
    body = {"order_reference": "order-1001", "amount_paise": 250_00,
            "description": "2 masala dosa", **fields}
    return api.post_json("/v1/payment_requests", body, headers=auth(secret, key or new_key()),
                         status=status)


def pay(db, user_id, public_id):
    with db() as session, session.begin():
        paid = payment_requests(session, tasks=None).pay(
            session.get(User, user_id), public_id, pin=PIN)
        return paid.status


def refund(api, secret, public_id, amount_paise, status=201, key=None, **extra):
    return api.post_json(f"/v1/payment_requests/{public_id}/refunds",
                         {"amount_paise": amount_paise, **extra},
                         headers=auth(secret, key or new_key()), status=status)


def shop_balance(db, merchant_id) -> int:
    with db() as session:
        return ledgerlib.Ledger(session).balance(f"merchant:{merchant_id}:wallet").available_paise


def written(db) -> tuple:
    """state() plus the shop-side tables: to assert a refusal wrote nothing."""
    return (state(db), count(db, PaymentRequest), count(db, Refund),
            count(db, IdempotencyRecord))


# ------------------------------------------------------------------ keys


def test_a_key_is_shown_once_stored_hashed_and_touched_at_most_once_a_minute(db, shop):
    merchant_id, _ = shop
    with db() as session, session.begin():
        issued = MerchantKeys(session).issue(session.get(Merchant, merchant_id), "  till  2 ")
        secret, key_id = issued.secret, issued.record.id
    assert secret.startswith("sk_live_") and len(secret) == 8 + 43
    with db() as session:
        stored = session.get(MerchantApiKey, key_id)
        assert stored.name == "till 2" and stored.prefix == secret[:16]
        assert stored.key_sha256 == key_sha256(secret) != secret and stored.last_used_at is None
    now = dt.datetime.now(dt.timezone.utc)
    for offset in (dt.timedelta(0), TOUCH_EVERY / 2, TOUCH_EVERY):
        with db() as session, session.begin():
            found = MerchantKeys(session, clock=lambda o=offset: now + o).authenticate(secret)
            assert found is not None and found[1].id == merchant_id
        with db() as session:
            touched = session.get(MerchantApiKey, key_id).last_used_at
        assert touched == now + (TOUCH_EVERY if offset == TOUCH_EVERY else dt.timedelta(0))
    with db() as session:
        keys = MerchantKeys(session)
        assert keys.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
        assert keys.authenticate("sk_live_short") is None and keys.authenticate(None) is None


def test_a_revoked_key_is_refused_at_once_and_other_keys_keep_working(api, db, shop):
    merchant_id, secret = shop
    with db() as session, session.begin():
        keys = MerchantKeys(session)
        second = keys.issue(session.get(Merchant, merchant_id), "second").secret
    api.get("/v1/payment_requests", headers=auth(secret), status=200)
    with db() as session, session.begin():
        keys = MerchantKeys(session)
        merchant = session.get(Merchant, merchant_id)
        first_id = session.scalar(select(MerchantApiKey.id).where(
            MerchantApiKey.key_sha256 == key_sha256(secret)))
        assert keys.revoke(merchant, first_id) and not keys.revoke(merchant, first_id)
        assert [k.name for k in keys.of_merchant(merchant)] == ["second"]
    reply = api.get("/v1/payment_requests", headers=auth(secret), status=401)
    assert reply.content_type == PROBLEM and reply.json["code"] == "unauthorized"
    assert "Bearer" in reply.headers["WWW-Authenticate"]
    api.get("/v1/payment_requests", headers=auth(second), status=200)


def test_a_disabled_shops_keys_are_refused(api, db, shop):
    merchant_id, secret = shop
    with db() as session, session.begin():
        session.get(Merchant, merchant_id).is_active = False
    api.get("/v1/payment_requests", headers=auth(secret), status=401)


def test_merchant_endpoints_refuse_user_tokens_and_user_endpoints_refuse_keys(api, db, shop,
                                                                              asha):
    _, secret = shop
    token = sign_in(api)
    before = written(db)
    for method, path, body in (
            ("get", "/v1/payment_requests", None),
            ("post", "/v1/payment_requests", {"order_reference": "x", "amount_paise": 100}),
            ("get", "/v1/payment_requests/pr_abcdefghijklmnop", None),
            ("post", "/v1/payment_requests/pr_abcdefghijklmnop/refunds",
             {"amount_paise": 100})):
        call = getattr(api, f"{method}_json" if body else method)
        args = (body,) if body else ()
        reply = call(path, *args, headers=auth(token, new_key()), status=401)
        assert reply.content_type == PROBLEM and reply.json["code"] == "wrong_credential_type"
        assert "shop's API key" in reply.json["detail"]
    for method, path, body in (
            ("get", "/v1/me", None), ("get", "/v1/tokens", None),
            ("get", "/v1/transactions", None),
            ("post", "/v1/transfers", {"to_phone": "98765 43210", "amount_paise": 100}),
            ("post", "/v1/payments", {"merchant_handle": "chai-point", "amount_paise": 100})):
        call = getattr(api, f"{method}_json" if body else method)
        args = (body,) if body else ()
        reply = call(path, *args, headers=auth(secret, new_key()), status=401)
        assert reply.json["code"] == "wrong_credential_type"
        assert "user's token" in reply.json["detail"]
    assert written(db) == before
    # Unknown credentials of either shape are plain 401s.
    for bogus in ("sk_live_" + "A" * 43, "wlt_" + "A" * 43, "sk_live_nope"):
        reply = api.get("/v1/payment_requests", headers=auth(bogus), status=401)
        assert reply.json["code"] == "unauthorized"
    api.get("/v1/payment_requests", status=401)


# -------------------------------------------------------- payment requests


def test_create_returns_the_request_and_its_checkout_url(api, db, shop):
    _, secret = shop
    made = create(api, secret, return_url="https://shop.example/orders/1001/paid",
                  expires_in_s=600).json
    assert made["id"].startswith("pr_") and made["status"] == "created"
    assert made["checkout_url"] == f"{USER_APP}/checkout/{made['id']}"
    assert made["amount"] == {"amount_paise": 250_00, "display": "₹250.00"}
    assert (made["order_reference"], made["description"]) == ("order-1001", "2 masala dosa")
    assert made["return_url"] == "https://shop.example/orders/1001/paid"
    assert made["paid_at"] is None and made["refunded_paise"] == 0
    expires = dt.datetime.fromisoformat(made["expires_at"])
    created = dt.datetime.fromisoformat(made["created_at"])
    assert expires - created == dt.timedelta(seconds=600)
    fetched = api.get(f"/v1/payment_requests/{made['id']}", headers=auth(secret)).json
    assert fetched == made


def test_the_same_key_replays_and_the_same_order_returns_the_first_request(api, db, shop):
    _, secret = shop
    key = new_key()
    first = create(api, secret, key=key)
    again = create(api, secret, key=key)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    same_order = create(api, secret, status=200)  # a new key, the same order and details
    assert same_order.json["id"] == first.json["id"]
    assert "Idempotent-Replayed" not in same_order.headers
    before = written(db)
    reply = create(api, secret, key=key, status=409, amount_paise=300_00)
    assert reply.json["code"] == "idempotency_key_reused"
    reply = create(api, secret, status=409, amount_paise=300_00)  # a new key, other details
    assert reply.content_type == PROBLEM and reply.json["code"] == "order_reference_reused"
    assert [e["field"] for e in reply.json["errors"]] == ["order_reference"]
    assert written(db) == before
    assert count(db, PaymentRequest) == 1


def test_idempotency_keys_belong_to_their_shop(api, db, shop, asha):
    _, secret = shop
    _, other_secret = make_shop(db, "dosa-hut", "dosa@example.com")
    key = new_key()
    mine = create(api, secret, key=key).json
    theirs = create(api, other_secret, key=key)  # the same key, another shop: a new request
    assert "Idempotent-Replayed" not in theirs.headers and theirs.json["id"] != mine["id"]
    token = sign_in(api)  # and a user's key of the same value is the user's own
    api.post_json("/v1/payments", {"merchant_handle": "chai-point", "amount_paise": 100},
                  headers=auth(token, key), status=201)
    with db() as session:
        owners = session.execute(select(IdempotencyRecord.user_id, IdempotencyRecord.merchant_id)
                                 .where(IdempotencyRecord.key == key)).all()
        assert sorted(owners, key=str) == sorted([(None, 1), (None, 2), (1, None)], key=str)
        # Each owner's record is its own: another shop's fingerprint is not compared.
        assert IdempotencyKeys(session).replay(KeyOwner.merchant(3), key, "x" * 64) is None
    with pytest.raises(ValueError):
        KeyOwner(user_id=1, merchant_id=1)


@pytest.mark.parametrize("fields, code, field", [
    ({"amount_paise": 0}, "validation_error", "amount_paise"),
    ({"amount_paise": -5}, "validation_error", "amount_paise"),
    ({"amount_paise": 100.0}, "validation_error", "amount_paise"),
    ({"amount_paise": "100"}, "validation_error", "amount_paise"),
    ({"amount_paise": True}, "validation_error", "amount_paise"),
    ({"amount_paise": 1_00_000_01}, "limit_exceeded", "amount_paise"),
    ({"amount_paise": 10**13}, "validation_error", "amount_paise"),
    ({"order_reference": ""}, "validation_error", "order_reference"),
    ({"order_reference": "has space"}, "validation_error", "order_reference"),
    ({"order_reference": "x" * 65}, "validation_error", "order_reference"),
    ({"description": "x" * 141}, "validation_error", "description"),
    ({"description": "bell\x07"}, "validation_error", "description"),
    ({"expires_in_s": 5}, "validation_error", "expires_in_s"),
    ({"expires_in_s": 8 * 24 * 3600}, "validation_error", "expires_in_s"),
    ({"expires_in_s": 600.0}, "validation_error", "expires_in_s"),
    ({"return_url": "https://evil.example/paid"}, "validation_error", "return_url"),
    ({"return_url": "javascript:alert(1)"}, "validation_error", "return_url"),
    ({"return_url": "https://shop.example/a b"}, "validation_error", "return_url"),
    ({"extra": 1}, "validation_error", "body"),
])
def test_bad_payment_requests_are_problems_and_write_nothing(api, db, shop, fields, code,
                                                             field):
    _, secret = shop
    before = written(db)
    reply = create(api, secret, status=422, **fields)
    assert reply.content_type == PROBLEM and reply.json["code"] == code
    fields_named = [error["field"] for error in reply.json.get("errors", [])]
    assert field in fields_named or field == "body", reply.json
    assert written(db) == before


def test_a_missing_order_reference_or_key_is_refused(api, db, shop):
    _, secret = shop
    before = written(db)
    reply = api.post_json("/v1/payment_requests", {"amount_paise": 100},
                          headers=auth(secret, new_key()), status=422)
    assert "order_reference" in [e["field"] for e in reply.json["errors"]]
    reply = api.post_json("/v1/payment_requests", {"order_reference": "o-1",
                                                   "amount_paise": 100},
                          headers=auth(secret), status=400)
    assert reply.json["code"] == "idempotency_key_missing"
    assert written(db) == before


def test_list_pages_filters_and_shows_only_the_shops_own(api, db, shop, asha):
    _, secret = shop
    _, other_secret = make_shop(db, "dosa-hut", "dosa@example.com")
    create(api, other_secret, order_reference="theirs-1")
    ids = [create(api, secret, order_reference=f"order-{n}", amount_paise=100 + n).json["id"]
           for n in range(5)]
    pay(db, asha, ids[1])
    page = api.get("/v1/payment_requests?limit=2", headers=auth(secret)).json
    assert [r["id"] for r in page["items"]] == [ids[4], ids[3]]
    seen = [r["id"] for r in page["items"]]
    while page["next_cursor"]:
        page = api.get(f"/v1/payment_requests?limit=2&cursor={page['next_cursor']}",
                       headers=auth(secret)).json
        seen += [r["id"] for r in page["items"]]
    assert seen == ids[::-1]
    paid = api.get("/v1/payment_requests?status=paid", headers=auth(secret)).json["items"]
    assert [(r["id"], r["status"]) for r in paid] == [(ids[1], "paid")]
    assert paid[0]["paid_at"] is not None
    for query in ("limit=0", "limit=101", "status=gone", "cursor=abc"):
        reply = api.get(f"/v1/payment_requests?{query}", headers=auth(secret), status=400)
        assert reply.content_type == PROBLEM


def test_another_shops_request_is_not_found(api, db, shop, asha):
    _, secret = shop
    _, other_secret = make_shop(db, "dosa-hut", "dosa@example.com")
    theirs = create(api, other_secret).json["id"]
    pay(db, asha, theirs)
    before = written(db)
    for method, path in (("get", f"/v1/payment_requests/{theirs}"),
                         ("post", f"/v1/payment_requests/{theirs}/cancel"),
                         ("get", f"/v1/payment_requests/{theirs}/refunds"),
                         ("get", "/v1/payment_requests/pr_nosuchrequest"),
                         ("get", "/v1/payment_requests/not-an-id")):
        reply = getattr(api, method)(path, headers=auth(secret), status=404)
        assert reply.content_type == PROBLEM and reply.json["code"] == "not_found"
    reply = refund(api, secret, theirs, 100, status=404)
    assert reply.json["code"] == "not_found"
    assert written(db) == before


def test_cancel_an_unpaid_request_but_not_a_paid_one(api, db, shop, asha):
    _, secret = shop
    open_one = create(api, secret, order_reference="o-open").json["id"]
    cancelled = api.post(f"/v1/payment_requests/{open_one}/cancel", headers=auth(secret)).json
    assert cancelled["status"] == "cancelled"
    again = api.post(f"/v1/payment_requests/{open_one}/cancel", headers=auth(secret)).json
    assert again == cancelled  # cancelling twice changes nothing
    with pytest.raises(RequestNotPayable):
        pay(db, asha, open_one)
    paid = create(api, secret, order_reference="o-paid").json["id"]
    assert pay(db, asha, paid) == RequestStatus.PAID
    before = written(db)
    reply = api.post(f"/v1/payment_requests/{paid}/cancel", headers=auth(secret), status=409)
    assert reply.json["code"] == "not_payable" and "paid" in reply.json["detail"]
    assert written(db) == before
    assert api.get(f"/v1/payment_requests/{paid}", headers=auth(secret)).json["status"] == "paid"


def test_an_expired_request_cannot_be_cancelled(api, db, shop):
    _, secret = shop
    made = create(api, secret, expires_in_s=60).json["id"]
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    with db() as session, session.begin():
        payment_requests(session, tasks=None,
                        clock=lambda: later).expire_due()
    reply = api.post(f"/v1/payment_requests/{made}/cancel", headers=auth(secret), status=409)
    assert reply.json["code"] == "not_payable"
    assert api.get(f"/v1/payment_requests/{made}", headers=auth(secret)).json[
        "status"] == "expired"


# ------------------------------------------------------------------ refunds


@pytest.fixture
def paid_request(api, db, shop, asha):
    """A 250.00 request of the shop, paid by Asha: its public id."""
    public_id = create(api, shop[1]).json["id"]
    pay(db, asha, public_id)
    return public_id


def test_partial_then_full_refunds_up_to_what_was_paid(api, db, shop, asha, paid_request):
    merchant_id, secret = shop
    first = refund(api, secret, paid_request, 100_00, reason="cold dosa").json
    assert first["id"].startswith("rf_") and first["payment_request_id"] == paid_request
    assert first["amount"] == {"amount_paise": 100_00, "display": "₹100.00"}
    assert first["reason"] == "cold dosa"
    assert balance(db, asha)[0] == 750_00 + 100_00 and shop_balance(db, merchant_id) == 150_00
    second = refund(api, secret, paid_request, 150_00).json  # the rest: fully refunded
    shown = api.get(f"/v1/payment_requests/{paid_request}", headers=auth(secret)).json
    assert shown["refunded_paise"] == 250_00 and shown["status"] == "paid"
    listed = api.get(f"/v1/payment_requests/{paid_request}/refunds", headers=auth(secret)).json
    assert listed["items"] == [first, second]
    before = written(db)
    reply = refund(api, secret, paid_request, 1, status=422)
    assert reply.json["code"] == "refund_too_large"
    assert [e["field"] for e in reply.json["errors"]] == ["amount_paise"]
    assert written(db) == before
    assert balance(db, asha)[0] == 1_000_00 and shop_balance(db, merchant_id) == 0


def test_a_refund_above_what_is_left_writes_nothing(api, db, shop, paid_request):
    _, secret = shop
    refund(api, secret, paid_request, 200_00)
    before = written(db)
    reply = refund(api, secret, paid_request, 50_01, status=422)
    assert reply.json["code"] == "refund_too_large" and "₹50.00" in reply.json["detail"]
    assert written(db) == before


def test_a_refund_replays_by_its_key_and_moves_money_once(api, db, shop, asha, paid_request):
    _, secret = shop
    key = new_key()
    first = refund(api, secret, paid_request, 100_00, key=key)
    again = refund(api, secret, paid_request, 100_00, key=key)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert balance(db, asha)[0] == 850_00 and count(db, Refund) == 1
    before = written(db)
    reply = refund(api, secret, paid_request, 50_00, key=key, status=409)
    assert reply.json["code"] == "idempotency_key_reused"
    assert written(db) == before


def test_a_refund_needs_the_shops_money(api, db, shop, asha, paid_request):
    merchant_id, secret = shop
    with db() as session, session.begin():  # the shop has settled most of it since
        ledgerlib.Ledger(session).transfer(f"merchant:{merchant_id}:wallet",
                                               f"user:{asha}:wallet", 200_00)
    before = written(db)
    reply = refund(api, secret, paid_request, 100_00, status=422)
    assert reply.content_type == PROBLEM and reply.json["code"] == "insufficient_funds"
    assert "shop's available balance is ₹50.00" in reply.json["detail"]
    assert written(db) == before
    refund(api, secret, paid_request, 50_00)  # what it has: fine


@pytest.mark.parametrize("body", [
    {"amount_paise": 0}, {"amount_paise": -100}, {"amount_paise": 10.5},
    {"amount_paise": "100"}, {}, {"amount_paise": 100, "reason": "x" * 141},
    {"amount_paise": 100, "reason": "tab\x01"}, {"amount_paise": 100, "extra": True},
])
def test_bad_refunds_are_problems_and_write_nothing(api, db, shop, paid_request, body):
    _, secret = shop
    before = written(db)
    reply = api.post_json(f"/v1/payment_requests/{paid_request}/refunds", body,
                          headers=auth(secret, new_key()), status=422)
    assert reply.content_type == PROBLEM and reply.json["code"] == "validation_error"
    assert written(db) == before


def test_an_unpaid_request_cannot_be_refunded(api, db, shop):
    _, secret = shop
    made = create(api, secret).json["id"]
    before = written(db)
    reply = refund(api, secret, made, 100, status=409)
    assert reply.json["code"] == "not_refundable" and "created" in reply.json["detail"]
    assert api.get(f"/v1/payment_requests/{made}/refunds", headers=auth(secret)).json == {
        "items": []}
    assert written(db) == before


def test_shop_money_requests_are_rate_limited_per_shop(api_settings, db, shop):

    import api_app

    merchant_id, secret = shop
    with db() as session, session.begin():
        second = MerchantKeys(session).issue(session.get(Merchant, merchant_id), "b").secret
    wsgi = api_app.main({}, **{**api_settings,
                               "api.money_requests_per_minute_per_merchant": "3"})
    try:
        api = pin_test_app(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.8"})
        for n, key in enumerate((secret, second, secret)):
            create(api, key, order_reference=f"o-{n}")
        reply = create(api, second, order_reference="o-9", status=429)  # all keys, one budget
        assert reply.json["code"] == "rate_limited" and int(reply.headers["Retry-After"]) >= 1
        api.get("/v1/payment_requests", headers=auth(second), status=200)  # reading is not
    finally:
        wsgi.registry["dbsession_factory"].kw["bind"].dispose()


def test_the_document_lists_the_merchant_endpoints_under_their_own_scheme(api):
    document = api.get("/v1/openapi.json").json
    assert "merchantKey" in document["components"]["securitySchemes"]
    for path in ("/v1/payment_requests", "/v1/payment_requests/{payment_request_id}",
                 "/v1/payment_requests/{payment_request_id}/cancel",
                 "/v1/payment_requests/{payment_request_id}/refunds"):
        for operation in document["paths"][path].values():
            if isinstance(operation, dict) and "responses" in operation:
                assert operation["security"] == [{"merchantKey": []}]
                assert "401" in operation["responses"]


# ---------------------------------------------------- PostgreSQL: real races


def _race(count_: int, fn):
    """Run fn(i) in ``count_`` threads released together; results or exceptions."""
    barrier = threading.Barrier(count_)

    def run(i):
        barrier.wait(timeout=30)
        try:
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - the test sorts them
            return exc

    with ThreadPoolExecutor(count_) as pool:
        return list(pool.map(run, range(count_)))


def _shop_holds_more(db, merchant_id) -> None:
    """Money of other sales in the shop's wallet, so that only the refund rule
    (never above what was paid) can stop a refund, not the shop's balance."""
    rich = make_user(db, "+919899999999", "Other customer", deposit_paise=1_000_00)
    with db() as session, session.begin():
        ledgerlib.Ledger(session).transfer(f"user:{rich}:wallet",
                                               f"merchant:{merchant_id}:wallet", 1_000_00)


def _public_id(db, merchant_id, amount_paise=500_00) -> str:
    with db() as session, session.begin():
        made, _ = payment_requests(session, tasks=None).create(
            session.get(Merchant, merchant_id),
            NewRequest(order_reference="race-1", amount_paise=amount_paise))
        return made.public_id


@pytest.mark.postgres
def test_eight_confirmations_at_once_pay_a_request_once(db, shop):
    merchant_id, _ = shop
    payers = [make_user(db, f"+9198000000{n:02d}", f"Payer {n}", deposit_paise=1_000_00)
              for n in range(8)]
    public_id = _public_id(db, merchant_id)
    outcomes = _race(8, lambda i: pay(db, payers[i], public_id))
    assert outcomes.count(RequestStatus.PAID) == 1, outcomes
    assert all(isinstance(o, RequestNotPayable) for o in outcomes if o != RequestStatus.PAID)
    assert shop_balance(db, merchant_id) == 500_00
    assert sorted(balance(db, p)[0] for p in payers) == [500_00] + [1_000_00] * 7
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.kind == "payment")) == 1
        request = session.scalar(select(PaymentRequest))
        assert request.status == "paid" and request.payer_user_id in payers


@pytest.mark.postgres
def test_eight_confirmations_by_one_payer_at_once_pay_once(db, shop, asha):
    merchant_id, _ = shop
    public_id = _public_id(db, merchant_id)
    outcomes = _race(8, lambda i: pay(db, asha, public_id))
    assert outcomes == [RequestStatus.PAID] * 8
    assert balance(db, asha)[0] == 500_00 and shop_balance(db, merchant_id) == 500_00


@pytest.mark.postgres
def test_refunds_racing_each_other_never_exceed_what_was_paid(db, shop, asha):
    merchant_id, _ = shop
    public_id = _public_id(db, merchant_id)
    pay(db, asha, public_id)
    _shop_holds_more(db, merchant_id)
    with db() as session:
        payment_id = refunds(session).payment_of_request(session.get(Merchant, merchant_id),
                                                          public_id)

    def one_refund(i):
        with db() as session, session.begin():
            return refunds(session).refund(session.get(Merchant, merchant_id), payment_id,
                                           100_00, f"race-refund-key-{i:04d}").amount_paise

    outcomes = _race(8, one_refund)
    assert outcomes.count(100_00) == 5, outcomes
    assert sum(isinstance(o, RefundTooLarge) for o in outcomes) == 3, outcomes
    with db() as session:
        assert refunds(session).refunded_paise(payment_id) == 500_00
    assert balance(db, asha)[0] == 1_000_00 and shop_balance(db, merchant_id) == 1_000_00


@pytest.mark.postgres
def test_refunds_racing_through_the_api_never_exceed_what_was_paid(api, api_wsgi, db, shop,
                                                                   asha):
    import json

    from ..live_servers import http, serving

    merchant_id, secret = shop
    public_id = _public_id(db, merchant_id)
    pay(db, asha, public_id)
    _shop_holds_more(db, merchant_id)
    api.get("/v1/payment_requests", headers=auth(secret))  # (the key's last use: written now)
    body = json.dumps({"amount_paise": 100_00})
    with serving(api_wsgi, threads=8) as base:
        replies = _race(8, lambda i: http(
            "POST", f"{base}/v1/payment_requests/{public_id}/refunds", body=body,
            headers={"Content-Type": "application/json", **auth(secret, new_key())}))
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [201] * 5 + [422] * 3, [r.body for r in replies]
    assert {reply.json()["code"] for reply in replies if reply.status == 422} == {
        "refund_too_large"}
    with db() as session:
        assert session.scalar(select(func.sum(Refund.amount_paise))) == 500_00
    assert balance(db, asha)[0] == 1_000_00

