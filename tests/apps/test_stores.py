"""A shop's stores through the apps: the merchant app's /stores pages (list
with QR and pay link, open, rename, close), paying a store's handle in the
user app (the payment names the store; a closed store answers so), and the
merchant API (GET /v1/stores, a payment request at a store, the store on
payment requests, refunds, disputes and webhook payloads)."""
from __future__ import annotations

import json

import pytest
import webtest
from sqlalchemy import select

from wallet.core.models import Merchant, MerchantStore, Transaction, User
from wallet.merchants.models import MerchantEvent, PaymentRequest
from wallet.merchants.stores import Stores
from webapp.merchant import main as merchant_main

from ..api_helpers import auth, new_key
from ..conftest import dispose_app_engine
from ..mandate_helpers import Clock, services
from ..wallet_helpers import PIN, count, login, make_user, state
from .test_api_merchant import create, make_shop, pay, refund
from .test_merchant_app import make_merchant, merchant_login
from .test_merchant_app import pay as pay_form

USER_APP = "http://wallet.test"


@pytest.fixture
def merchant_wsgi(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": USER_APP})
    yield app
    dispose_app_engine(app)


@pytest.fixture
def merchant_app(merchant_wsgi):
    return webtest.TestApp(merchant_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})


@pytest.fixture
def api_settings(web_settings):
    return {**web_settings, "api.rate_limit_backend": "memory", "wallet.user_app_url": USER_APP}


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def open_store(db, merchant_id, name="Airport", handle="chai-point-airport") -> int:
    with db() as session, session.begin():
        return Stores(session).open(session.get(Merchant, merchant_id), name, handle).id


def close_store(db, merchant_id, store_id) -> None:
    with db() as session, session.begin():
        Stores(session).close(session.get(Merchant, merchant_id), store_id)


def stores_of(db, merchant_id) -> list[tuple[str, str, bool]]:
    with db() as session:
        return [(s.name, s.handle, s.closed_at is None) for s in session.scalars(
            select(MerchantStore).where(MerchantStore.merchant_id == merchant_id)
            .order_by(MerchantStore.id))]


# ------------------------------------------------------------- the merchant app


def test_stores_page_opens_renames_and_closes(merchant_app, db):
    shop = make_merchant(db)
    merchant_login(merchant_app)
    page = merchant_app.get("/stores")
    assert "@chai-point" in page.text and f"{USER_APP}/pay/chai-point" in page.text
    assert 'href="http://localhost/stores"' in merchant_app.get("/dashboard").text  # nav
    form = page.forms["store-form"]
    form["name"], form["handle"] = "Chai Point, Airport", "Chai-Point-Airport"
    listed = form.submit(status=303).follow()
    store_id = open_id(db, "chai-point-airport")
    row = listed.html.find(id=f"store-{store_id}")
    assert row.find(class_="store-pay-url").text == f"{USER_APP}/pay/chai-point-airport"
    assert row.find(class_="store-status").text.strip() == "open"
    qr_src = row.find("img", class_="store-qr")["src"]
    qr = merchant_app.get(qr_src)
    assert qr.content_type == "image/svg+xml" and qr.body.startswith(b"<?xml")
    first_row = listed.html.find(id=f"store-{open_id(db, 'chai-point')}")
    assert first_row.find("form", class_="store-close") is None  # the first is never closed

    rename = form_to(listed, f"/stores/{store_id}/rename")
    rename["name"] = "Airport T2"
    rename.submit(status=303)
    close = form_to(listed, f"/stores/{store_id}/close")
    closed = close.submit(status=303).follow()
    assert "takes no payments" in closed.text
    assert stores_of(db, shop) == [("Chai Point", "chai-point", True),
                                   ("Airport T2", "chai-point-airport", False)]


def form_to(page, path: str):
    """The page's form that posts to ``path``."""
    return next(form for form in page.forms.values() if form.action.endswith(path))


def open_id(db, handle) -> int:
    with db() as session:
        return session.scalar(select(MerchantStore.id).where(MerchantStore.handle == handle))


@pytest.mark.parametrize("name, handle, status, message", [
    ("Airport", "x!", 400, "lowercase letters"),
    ("", "good-handle", 400, "Name the store"),
    ("Airport", "chai-point", 400, "already pays a shop or a store"),
    ("Airport", "tea-house", 400, "already pays a shop or a store"),
])
def test_bad_store_forms_write_nothing(merchant_app, db, name, handle, status, message):
    shop = make_merchant(db)
    make_merchant(db, "tea-house", "Tea House", "tea@example.com")
    merchant_login(merchant_app)
    form = merchant_app.get("/stores").forms["store-form"]
    form["name"], form["handle"] = name, handle
    before = state(db), count(db, MerchantStore)
    page = form.submit(status=status)
    assert message in page.text
    assert (state(db), count(db, MerchantStore)) == before
    assert stores_of(db, shop) == [("Chai Point", "chai-point", True)]


def test_the_first_store_cannot_be_closed_and_others_are_not_found(merchant_app, db):
    shop = make_merchant(db)
    other = make_merchant(db, "tea-house", "Tea House", "tea@example.com")
    theirs = open_store(db, other, "MG Road", "tea-house-mg-road")
    merchant_login(merchant_app)
    token = merchant_app.get("/stores").forms["store-form"]["csrf_token"].value
    first = open_id(db, "chai-point")
    page = merchant_app.post(f"/stores/{first}/close", {"csrf_token": token}, status=409)
    assert "cannot be closed" in page.text
    merchant_app.post(f"/stores/{theirs}/close", {"csrf_token": token}, status=404)
    merchant_app.post(f"/stores/{theirs}/rename", {"csrf_token": token, "name": "x"},
                      status=404)
    merchant_app.get(f"/stores/{theirs}/qr.svg", status=404)
    page = merchant_app.post(f"/stores/{first}/rename", {"csrf_token": token, "name": ""},
                             status=400)
    assert "Name the store" in page.text
    assert stores_of(db, shop)[0] == ("Chai Point", "chai-point", True)
    assert stores_of(db, other)[1] == ("MG Road", "tea-house-mg-road", True)


def test_stores_pages_need_a_login(merchant_app, db):
    make_merchant(db)
    assert merchant_app.get("/stores").status_int in (302, 303, 403)
    assert count(db, MerchantStore) == 1


# ------------------------------------------------------------------ the user app


def test_paying_a_stores_handle_names_the_store(user_app, db, asha):
    shop = make_merchant(db)
    airport = open_store(db, shop)
    login(user_app, "+919876543210")
    page = user_app.get("/pay/chai-point-airport")
    assert page.html.find(id="store-name").text == "Airport" and "@chai-point-airport" in page.text
    confirm = pay_form(user_app, "chai-point-airport").form.submit()
    assert "Chai Point (Airport) (@chai-point-airport)" in confirm.text
    pay_form(user_app, "chai-point-airport").submit(status=303)
    pay_form(user_app, "chai-point").submit(status=303)
    with db() as session:
        paid = [tx.payee_store_id for tx in session.scalars(
            select(Transaction).where(Transaction.payee_merchant_id == shop)
            .order_by(Transaction.id))]
    assert paid == [airport, open_id(db, "chai-point")]


def test_a_closed_stores_handle_says_so(user_app, db, asha):
    shop = make_merchant(db)
    airport = open_store(db, shop)
    login(user_app, "+919876543210")
    form = pay_form(user_app, "chai-point-airport")  # open when the form was shown
    close_store(db, shop, airport)
    before = state(db)
    page = user_app.get("/pay/chai-point-airport", status=410)
    assert "This store no longer takes payments" in page.text and "pay-form" not in page.forms
    assert "no longer takes payments" in user_app.get("/pay?handle=chai-point-airport",
                                                      status=410).text
    assert "no longer takes payments" in form.form.submit(status=410).text
    assert state(db) == before


# ---------------------------------------------------------------------- the API


def test_api_lists_stores_and_requests_name_theirs(api, db, asha):
    shop, secret = make_shop(db)
    airport = open_store(db, shop)
    first = open_id(db, "chai-point")
    listed = api.get("/v1/stores", headers=auth(secret)).json["items"]
    assert [(s["id"], s["handle"], s["status"], s["pay_url"]) for s in listed] == [
        (first, "chai-point", "open", f"{USER_APP}/pay/chai-point"),
        (airport, "chai-point-airport", "open", f"{USER_APP}/pay/chai-point-airport")]

    at_airport = create(api, secret, store="chai-point-airport").json
    assert at_airport["store"] == {"id": airport, "name": "Airport",
                                   "handle": "chai-point-airport"}
    by_id = create(api, secret, order_reference="order-2", store_id=airport).json
    plain = create(api, secret, order_reference="order-3").json
    assert by_id["store"]["id"] == airport and plain["store"]["id"] == first
    assert pay(db, asha, at_airport["id"]) == "paid"
    got = api.get(f"/v1/payment_requests/{at_airport['id']}", headers=auth(secret)).json
    assert got["store"]["id"] == airport
    listed = api.get("/v1/payment_requests", headers=auth(secret)).json["items"]
    assert [r["store"]["id"] for r in listed] == [first, airport, airport]
    refunded = refund(api, secret, at_airport["id"], 50_00).json
    assert refunded["store"]["handle"] == "chai-point-airport"
    refunds = api.get(f"/v1/payment_requests/{at_airport['id']}/refunds",
                      headers=auth(secret)).json["items"]
    assert [r["store"]["id"] for r in refunds] == [airport]
    with db() as session:
        payloads = {event.type: json.loads(event.payload)["data"] for event in session.scalars(
            select(MerchantEvent).where(MerchantEvent.merchant_id == shop))}
        assert session.scalar(select(Transaction.payee_store_id).where(
            Transaction.payee_merchant_id == shop)) == airport
    assert payloads["payment_request.paid"]["store"]["id"] == airport
    assert payloads["refund.succeeded"]["store"]["id"] == airport


@pytest.mark.parametrize("fields, status, code", [
    ({"store": "tea-house"}, 422, "store_not_found"),
    ({"store_id": 999999}, 422, "store_not_found"),
    ({"store": "chai-point-airport", "store_id": 1}, 422, "validation_error"),
    ({"store": "Not A Handle"}, 422, "validation_error"),
    ({"store_id": "1"}, 422, "validation_error"),
    ({"store": "chai-point-airport"}, 409, "store_closed"),
])
def test_api_bad_stores_write_nothing(api, db, fields, status, code):
    shop, secret = make_shop(db)
    make_shop(db, "tea-house", "tea@example.com")
    close_store(db, shop, open_store(db, shop))
    before = state(db), count(db, MerchantEvent), count(db, PaymentRequest)
    answer = create(api, secret, status=status, **fields).json
    assert answer["code"] == code
    assert (state(db), count(db, MerchantEvent), count(db, PaymentRequest)) == before


def test_api_disputes_name_the_store(api, db, asha):
    shop, secret = make_shop(db)
    airport = open_store(db, shop)
    clock = Clock()
    api.app.registry["clock"] = clock
    with db() as session, session.begin():
        s = services(session, clock)
        payment = s.shop_payments.pay_merchant(
            session.get_one(User, asha), "chai-point-airport", 250_00,
            "pay-key-000000000001", pin=PIN)
        public_id = s.disputes.open(asha, payment.id, "not_delivered", "never came").public_id
    got = api.get(f"/v1/disputes/{public_id}", headers=auth(secret)).json
    assert got["store"] == {"id": airport, "name": "Airport", "handle": "chai-point-airport"}
    accepted = api.post_json(f"/v1/disputes/{public_id}/accept", {},
                             headers=auth(secret, new_key())).json
    assert accepted["store"]["id"] == airport
    with db() as session:
        opened = [json.loads(e.payload)["data"] for e in session.scalars(
            select(MerchantEvent).where(MerchantEvent.type == "dispute.opened"))]
    assert opened[0]["store"]["id"] == airport


def test_api_key_sees_only_its_shops_stores(api, db):
    _, secret = make_shop(db)
    other, _ = make_shop(db, "tea-house", "tea@example.com")
    open_store(db, other, "MG Road", "tea-house-mg-road")
    assert [s["handle"] for s in api.get("/v1/stores", headers=auth(secret)).json["items"]] \
        == ["chai-point"]
    api.get("/v1/stores", status=401)
