"""Test mode's pages: the test checkout (/test/checkout/<pr_…>: no sign-in,
"Simulate success" / "Simulate failure"), the test mandate page, and the
merchant app's Test/Live switch. Test objects never touch money: the ledger,
every balance, the transactions and the shop's dashboard are the same before
and after; their webhooks say ``"livemode": false``."""
from __future__ import annotations

import json
import re

import pytest
import webtest
from sqlalchemy import select

from wallet.core.models import Merchant, User
from wallet.merchants.errors import RequestNotFound
from wallet.merchants.models import MerchantDelivery, MerchantEvent, PaymentRequest
from wallet.merchants.payment_requests import NewRequest
from wallet.merchants.reports import MerchantReports
from wallet.operations.bank_calls import verify_all
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..link_helpers import link_row, make_link
from ..mandate_helpers import Clock, make_shop, new_mandate, services
from ..wallet_helpers import PASSWORD, PIN, login, make_user, payment_requests, state

RETURN_URL = "https://shop.example/orders/7/done"


@pytest.fixture
def shop(db):
    shop_id = make_shop(db, "dosa-corner")  # (with an endpoint for every event)
    with db() as session, session.begin():
        session.get_one(Merchant, shop_id).return_origins = "https://shop.example"
    return shop_id


def create(db, shop, *, livemode: bool, reference="order-7") -> str:
    with db() as session, session.begin():
        made, _ = payment_requests(session).create(
            session.get_one(Merchant, shop),
            NewRequest(reference, 250_00, "2 masala dosa", return_url=RETURN_URL),
            livemode=livemode)
        return made.public_id


def row(db, public_id) -> PaymentRequest:
    with db() as session:
        return session.scalar(select(PaymentRequest).where(PaymentRequest.public_id == public_id))


def events(db) -> list[tuple[str, bool, dict]]:
    with db() as session:
        return [(e.type, e.livemode, json.loads(e.payload))
                for e in session.scalars(select(MerchantEvent).order_by(MerchantEvent.id))]


def money_and_figures(db, shop) -> tuple:
    """The ledger (entries, postings, holds, every account's balance), the
    transactions, and what the shop's dashboard shows."""
    with db() as session:
        board = MerchantReports(session).dashboard(session.get_one(Merchant, shop),
                                                   Clock().today)
        figures = (board.today, board.month, tuple(board.days), tuple(board.months))
    return state(db), figures


def books_clean(db):
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger.problems, result.records)


def simulate(user_app, public_id, outcome, status=303):
    page = user_app.get(f"/test/checkout/{public_id}")
    form = page.forms["simulate-form"]
    return form.submit("outcome", value=outcome, status=status)


def test_success_pays_the_test_request_without_money_and_tells_the_shop(user_app, db, shop):
    make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)  # (money in the books)
    public_id = create(db, shop, livemode=False)
    before = money_and_figures(db, shop)
    page = user_app.get(f"/test/checkout/{public_id}")  # nobody signed in
    assert page.status_code == 200 and "TEST MODE" in page.html.find(id="test-banner").text
    assert page.html.find(id="simulate-success") and page.html.find(id="simulate-failure")
    assert page.html.find(id="pin") is None  # no wallet's pay step
    reply = simulate(user_app, public_id, "succeed")
    assert reply.location.startswith(RETURN_URL + "?")
    assert f"payment_request_id={public_id}" in reply.location and "status=paid" in reply.location
    paid = row(db, public_id)
    assert paid.status == "paid" and paid.transaction_id is None and paid.payer_user_id is None
    assert re.fullmatch(r"tpay_[A-Za-z0-9_-]{22}", paid.test_payment_id)
    [(kind, livemode, payload)] = events(db)
    assert (kind, livemode, payload["livemode"]) == ("payment_request.paid", False, False)
    assert payload["data"]["id"] == public_id
    with db() as session:
        assert len(session.scalars(select(MerchantDelivery)).all()) == 1  # to the endpoint
    assert money_and_figures(db, shop) == before  # no ledger posting, no figure
    books_clean(db)
    # Again: paid once, nothing more sent.
    assert simulate_direct(user_app, public_id, "succeed").status_code == 303
    assert len(events(db)) == 1
    shown = user_app.get(f"/test/checkout/{public_id}")
    assert paid.test_payment_id in shown.html.find(id="test-payment-id").text


def simulate_direct(user_app, public_id, outcome, status=303):
    """A POST without the page's buttons (a page read for its CSRF token)."""
    page = user_app.get(f"/test/checkout/{public_id}")
    token = page.html.find("input", {"name": "csrf_token"})
    token = token["value"] if token else user_app.get("/login").forms["login-form"][
        "csrf_token"].value
    return user_app.post(f"/test/checkout/{public_id}", {"csrf_token": token,
                                                         "outcome": outcome}, status=status)


def test_failure_pays_nothing_and_the_request_stays_open(user_app, db, shop):
    public_id = create(db, shop, livemode=False)
    before = money_and_figures(db, shop)
    page = simulate(user_app, public_id, "fail", status=200)
    assert "Simulated failure" in page.html.find(id="checkout-message").text
    assert row(db, public_id).status == "created" and events(db) == []
    assert money_and_figures(db, shop) == before
    simulate(user_app, public_id, "succeed")
    assert row(db, public_id).status == "paid"
    assert [(kind, livemode) for kind, livemode, _ in events(db)] == [
        ("payment_request.paid", False)]


def test_bad_input_and_the_other_mode_write_nothing(user_app, db, shop):
    make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    test_id, live_id = create(db, shop, livemode=False), create(db, shop, livemode=True,
                                                                 reference="order-8")
    before = money_and_figures(db, shop), events(db)
    reply = simulate_direct(user_app, test_id, "maybe", status=400)
    assert "Choose success or failure" in reply.html.find(id="form-error").text
    # A live request has no test checkout: not found, as an unknown one.
    user_app.get(f"/test/checkout/{live_id}", status=404)
    user_app.post(f"/test/checkout/{live_id}", {"outcome": "succeed"}, status=(400, 404))
    user_app.get("/test/checkout/pr_unknown", status=404)
    user_app.get(f"/test/checkout/{'x' * 60}", status=404)
    assert (money_and_figures(db, shop), events(db)) == before
    assert row(db, live_id).status == row(db, test_id).status == "created"
    # A signed-in customer at the real checkout of a test request is sent to
    # the test checkout: no wallet pays a test request.
    login(user_app, "+919876543210").follow()
    reply = user_app.get(f"/checkout/{test_id}", status=303)
    assert reply.location.endswith(f"/test/checkout/{test_id}")
    with db() as session, session.begin(), pytest.raises(RequestNotFound):
        payment_requests(session).pay(session.scalar(select(User)), test_id, pin=PIN)
    assert (money_and_figures(db, shop), events(db)) == before


def test_an_expired_test_request_cannot_be_simulated(user_app, db, shop):
    public_id = create(db, shop, livemode=False)
    with db() as session, session.begin():
        session.scalar(select(PaymentRequest).where(PaymentRequest.public_id == public_id)
                       ).expires_at = Clock().now.replace(year=2020)
    page = user_app.get(f"/test/checkout/{public_id}")
    assert page.html.find(id="simulate-form") is None
    assert "expired" in page.html.find(id="checkout-status").text


def test_a_test_mandate_is_approved_at_its_test_page(user_app, db, shop):
    clock = Clock()
    with db() as session, session.begin():
        mandates = services(session, clock).mandates
        test_id = mandates.create(session.get_one(Merchant, shop), new_mandate(clock),
                                  livemode=False).public_id
        live_id = mandates.create(session.get_one(Merchant, shop), new_mandate(clock)).public_id
    before = state(db)
    page = user_app.get(f"/test/mandates/{test_id}")
    assert "TEST MODE" in page.html.find(id="test-banner").text
    page.forms["simulate-form"].submit("action", value="approve", status=303)
    page = user_app.get(f"/test/mandates/{test_id}")
    assert page.html.find(id="mandate")["data-status"] == "active"
    page.forms["simulate-form"].submit("action", value="revoke", status=303)
    assert [(kind, livemode) for kind, livemode, _ in events(db)] == [
        ("mandate.approved", False), ("mandate.revoked", False)]
    user_app.get(f"/test/mandates/{live_id}", status=404)
    assert state(db) == before


# ------------------------------------------------------------ the merchant app


@pytest.fixture
def merchant_app(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test"})
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(app)


def switch(app, page_path, mode):
    page = app.get(page_path)
    return page.forms["mode-switch"].submit("mode", value=mode, status=303).follow()


def test_the_switch_shows_one_mode_with_a_banner_and_makes_test_keys(merchant_app, db, shop):
    form = merchant_app.get("/login").forms["login-form"]
    form["email"], form["password"] = "dosa-corner@example.com", PASSWORD
    form.submit(status=303)
    live_request = create(db, shop, livemode=True, reference="live-1")
    test_request = create(db, shop, livemode=False, reference="test-1")
    page = merchant_app.get("/api-keys")
    assert page.html.find(id="test-mode-banner") is None
    form = page.forms["new-key-form"]
    form["name"] = "live server"
    live_secret = form.submit().html.find(id="new-key-secret").text
    assert live_secret.startswith("sk_live_")

    page = switch(merchant_app, "/api-keys", "test")
    assert "TEST MODE" in page.html.find(id="test-mode-banner").text
    assert "live server" not in page.text  # the live key is not listed in test mode
    form = page.forms["new-key-form"]
    form["name"] = "test server"
    test_secret = form.submit().html.find(id="new-key-secret").text
    assert test_secret.startswith("sk_test_")

    listed = merchant_app.get("/payment-requests")  # remembered in the session
    assert listed.html.find(id="test-mode-banner")
    assert listed.html.find(id=f"request-{test_request}")
    assert not listed.html.find(id=f"request-{live_request}")
    # The payments and dashboard pages are live-only, and say so loudly in test mode.
    for path in ("/payments", "/dashboard"):
        note = merchant_app.get(path).html.find(id="live-only-note")
        assert "Live data only" in note.text

    page = switch(merchant_app, "/payment-requests", "live")
    assert page.html.find(id="test-mode-banner") is None
    assert page.html.find(id=f"request-{live_request}")
    assert not page.html.find(id=f"request-{test_request}")
    assert "test server" not in merchant_app.get("/api-keys").text
    # A mode that is neither: nothing changes.
    page = merchant_app.get("/api-keys")
    token = page.forms["mode-switch"]["csrf_token"].value
    merchant_app.post("/mode", {"csrf_token": token, "mode": "both", "next": "/evil"},
                      status=303)
    assert merchant_app.get("/api-keys").html.find(id="test-mode-banner") is None


def test_the_delivery_log_shows_the_switchs_mode(merchant_app, db, shop):
    form = merchant_app.get("/login").forms["login-form"]
    form["email"], form["password"] = "dosa-corner@example.com", PASSWORD
    form.submit(status=303)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    live_id = create(db, shop, livemode=True, reference="live-1")
    test_id = create(db, shop, livemode=False, reference="test-1")
    with db() as session, session.begin():
        requests = payment_requests(session)
        requests.pay(session.get_one(User, asha), live_id, pin=PIN)
        requests.simulate(test_id, succeed=True)
    with db() as session:
        pairs = session.execute(select(MerchantDelivery.id, MerchantEvent.livemode,
                                       MerchantDelivery.endpoint_id, MerchantEvent.public_id)
                                .join(MerchantEvent)).all()
    [(live_delivery, _, endpoint, live_msg)] = [p for p in pairs if p[1]]
    [(test_delivery, _, _, test_msg)] = [p for p in pairs if not p[1]]
    page = merchant_app.get(f"/webhooks/{endpoint}")
    assert live_msg in page.text and test_msg not in page.text
    merchant_app.get(f"/webhooks/{endpoint}/deliveries/{test_delivery}", status=404)
    switch(merchant_app, "/webhooks", "test")
    page = merchant_app.get(f"/webhooks/{endpoint}")
    assert test_msg in page.text and live_msg not in page.text
    assert page.html.find(id="test-mode-banner")
    detail = merchant_app.get(f"/webhooks/{endpoint}/deliveries/{test_delivery}")
    assert '"livemode": false' in detail.html.find("pre").text
    merchant_app.get(f"/webhooks/{endpoint}/deliveries/{live_delivery}", status=404)


def test_a_test_link_is_paid_at_the_test_checkout_with_nothing_moving(user_app, db, shop):
    """/l/<test link> makes a test payment request and goes to the test
    checkout; its simulated success counts on the link and tells the shop
    ``payment_link.paid`` with ``livemode: false``: no money, no figure."""
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    link = make_link(db, Clock(), shop, livemode=False, single_use=True)
    before = money_and_figures(db, shop)
    assert login(user_app, "+919876543210").status_int == 303
    page = user_app.get(f"/l/{link}")
    assert "TEST MODE" in page.html.find(id="test-banner").text
    assert page.html.find(id="payment-link")["data-livemode"] == "false"
    reply = page.forms["link-form"].submit(status=303)
    assert reply.location.startswith("http://localhost/test/checkout/pr_")
    public_id = reply.location.rsplit("/", 1)[1]
    made = row(db, public_id)
    assert made.livemode is False and made.status == "created"
    simulate(user_app, public_id, "succeed")
    paid = row(db, public_id)
    assert paid.status == "paid" and paid.transaction_id is None and paid.payer_user_id is None
    shown = link_row(db, link)
    assert (shown.status, shown.uses_count, shown.paid_paise) == ("paid", 1, 250_00)
    [(kind, livemode, payload)] = events(db)
    assert (kind, livemode, payload["livemode"]) == ("payment_link.paid", False, False)
    assert payload["data"]["id"] == link and payload["data"]["payment_request_id"] == public_id
    assert money_and_figures(db, shop) == before  # no ledger posting, no balance, no figure
    books_clean(db)
    assert user_app.get(f"/l/{link}").html.find(id="payment-link")["data-status"] == "paid"
    with db() as session, session.begin(), pytest.raises(RequestNotFound):
        services(session, Clock()).payment_requests.pay(  # never at the real checkout
            session.get_one(User, asha), public_id, pin=PIN)


def test_a_used_test_link_refuses_another_simulated_payment(user_app, db, shop):
    link = make_link(db, Clock(), shop, livemode=False, single_use=True)
    with db() as session, session.begin():
        s = services(session, Clock())
        first, second = (s.payment_links.open(link).public_id for _ in range(2))
    simulate(user_app, first, "succeed")
    page = simulate(user_app, second, "succeed", status=409)
    assert "already been paid" in page.html.find(id="form-error").text
    assert row(db, second).status == "created" and len(events(db)) == 1
