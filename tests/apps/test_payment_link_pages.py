"""Payment links in the merchant app (make, list, share, cancel) and in the
user app (/l/<id>, then the checkout of payment requests): every bad input a
clear 400 with nothing written, fixed and open links paid, closed links
answered clearly."""
from __future__ import annotations

import urllib.parse

import pytest
import webtest
from sqlalchemy import func, select

from wallet.merchants.models import PaymentLink, PaymentRequest
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..link_helpers import link_row
from ..wallet_helpers import login, make_user, pin_form, state
from .test_merchant_app import make_merchant, merchant_login

ASHA = "+919876543210"


@pytest.fixture
def merchant_app(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test"})
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(app)


@pytest.fixture
def shop(db, merchant_app):
    merchant_id = make_merchant(db, "dosa-corner", "Dosa Corner", "dosa@example.com")
    assert merchant_login(merchant_app, "dosa@example.com").status_int == 303
    return merchant_id


@pytest.fixture
def asha(db):
    return make_user(db, ASHA, "Asha", deposit_paise=2_000_00)


def counts(db) -> tuple[int, int]:
    with db() as session:
        return (session.scalar(select(func.count()).select_from(PaymentLink)),
                session.scalar(select(func.count()).select_from(PaymentRequest)))


def new_link(app, **fields):
    form = app.get("/links/new").forms["link-form"]
    for name, value in {"description": "Table 4 dinner", "amount": "499", **fields}.items():
        if name == "single_use":
            form["single_use"] = value
        else:
            form[name] = value
    return form.submit(expect_errors=True)


def made(reply) -> str:
    assert reply.status_int == 303, reply.text
    return reply.location.rsplit("/", 1)[1]


BAD_FORMS = [
    ({"amount": ""}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"amount": "-10"}, "amount"),
    ({"amount": "10.001"}, "amount"),
    ({"amount": "99999999999"}, "amount"),
    ({"amount": "10", "min_amount": "5"}, "min_amount"),
    ({"amount_mode": "open", "amount": "10"}, "amount"),
    ({"amount_mode": "open", "amount": "", "min_amount": "x"}, "min_amount"),
    ({"amount_mode": "open", "amount": "", "min_amount": "50", "max_amount": "20"}, "max_amount"),
    ({"description": ""}, "description"),
    ({"reference": "two words"}, "reference"),
]


@pytest.mark.parametrize("fields, field", BAD_FORMS, ids=[f for _, f in BAD_FORMS])
def test_the_form_refuses_bad_input_and_writes_nothing(merchant_app, db, shop, fields, field):
    before = state(db)
    reply = new_link(merchant_app, **fields)
    assert reply.status_int == 400
    assert reply.html.select_one(f"#{field}-error") is not None, reply.text
    assert counts(db) == (0, 0) and state(db) == before


def test_forged_choices_are_refused_too(merchant_app, db, shop):
    page = merchant_app.get("/links/new")
    token = page.forms["link-form"]["csrf_token"].value
    key = page.forms["link-form"]["request_key"].value
    body = {"csrf_token": token, "request_key": key, "description": "x", "amount": "10",
            "amount_mode": "fixed", "valid_for": "61"}
    assert merchant_app.post("/links/new", body, status=400).html.select_one("#valid_for-error")
    body.update(valid_for="3600", amount_mode="later")
    assert merchant_app.post("/links/new", body, status=400).html.select_one(
        "#amount_mode-error")
    body.update(amount_mode="fixed", request_key="short")
    assert merchant_app.post("/links/new", body, status=400)
    assert counts(db) == (0, 0)


def test_make_share_pay_and_list_a_fixed_link(merchant_app, user_app, db, shop, asha):
    link = made(new_link(merchant_app, single_use=True, reference="table-4"))
    page = merchant_app.get(f"/links/{link}")
    url = f"http://wallet.test/l/{link}"
    assert page.html.select_one("#link-url")["href"] == url
    assert page.html.select_one("#link-status").text == "active"
    whatsapp = page.html.select_one("#whatsapp")["href"]
    assert whatsapp.startswith("https://wa.me/?text=")
    assert url in urllib.parse.unquote(whatsapp.split("=", 1)[1])
    qr = merchant_app.get(f"/links/{link}/qr.svg")
    assert qr.content_type == "image/svg+xml" and b"<svg" in qr.body

    login(user_app, ASHA)
    shown = user_app.get(f"/l/{link}")
    assert shown.html.select_one("#amount").text == "₹499.00"
    to_checkout = shown.forms["link-form"].submit(status=303)
    assert "/checkout/pr_" in to_checkout.location
    checkout = to_checkout.follow()
    assert checkout.html.select_one("#via-link") is not None
    receipt = pin_form(checkout, "checkout-form").submit(status=303)
    assert "/transactions/" in receipt.location

    row = link_row(db, link)
    assert (row.status, row.uses_count, row.paid_paise) == ("paid", 1, 499_00)
    listed = merchant_app.get("/links")
    assert listed.html.select_one(f"#link-{link} .link-status").text == "paid"
    assert listed.html.select_one(f"#link-{link} .total").text == "₹499.00"
    detail = merchant_app.get(f"/links/{link}")
    assert len(detail.html.select("#link-payments tbody tr")) == 1
    assert detail.html.select_one("#cancel-form") is None  # (paid: nothing to cancel)
    again = user_app.get(f"/l/{link}")
    assert "already been paid" in again.html.select_one("#link-status").text


def test_an_open_link_asks_the_amount_strictly(merchant_app, user_app, db, shop, asha):
    link = made(new_link(merchant_app, amount_mode="open", amount="", min_amount="10",
                         max_amount="500"))
    login(user_app, ASHA)
    page = user_app.get(f"/l/{link}")
    assert page.html.select_one("#amount-range").text == "(from ₹10.00 to ₹500.00)"
    for typed in ("", "abc", "9.99", "500.01", "1.001", "-1"):
        form = user_app.get(f"/l/{link}").forms["link-form"]
        form["amount"] = typed
        reply = form.submit(status=400)
        assert reply.html.select_one("#amount-error") is not None, typed
    assert counts(db) == (1, 0)
    form = user_app.get(f"/l/{link}").forms["link-form"]
    form["amount"] = "120.50"
    checkout = form.submit(status=303).follow()
    assert checkout.html.select_one("#amount").text == "₹120.50"
    pin_form(checkout, "checkout-form").submit(status=303)
    row = link_row(db, link)
    assert (row.status, row.uses_count, row.paid_paise) == ("active", 1, 120_50)


def test_a_cancelled_link_answers_clearly(merchant_app, user_app, db, shop, asha):
    link = made(new_link(merchant_app))
    login(user_app, ASHA)
    checkout = user_app.get(f"/l/{link}").forms["link-form"].submit(status=303).follow()
    merchant_app.get(f"/links/{link}").forms["cancel-form"].submit(status=303)
    assert merchant_app.get(f"/links/{link}").html.select_one("#link-status").text == \
        "cancelled"
    before = state(db)
    refused = pin_form(checkout, "checkout-form").submit(status=409)
    assert "cancelled this payment link" in refused.text
    page = user_app.get(f"/l/{link}")
    assert "cancelled this payment link" in page.html.select_one("#link-status").text
    assert state(db) == before


def test_unknown_links_and_signed_out_visitors(merchant_app, user_app, db, shop):
    link = made(new_link(merchant_app))
    assert "/login?next=" in user_app.get(f"/l/{link}", status=303).location
    make_user(db, ASHA, "Asha")
    login(user_app, ASHA)
    user_app.get("/l/plink_nope", status=404)
    user_app.get("/l/" + "x" * 80, status=404)
    merchant_app.get("/links/plink_nope", status=404)
    other = make_merchant(db, "chai-point", "Chai Point", "chai@example.com")
    assert other
    merchant_app.post("/logout", {"csrf_token": merchant_app.get("/links").forms[
        "logout-form"]["csrf_token"].value})
    merchant_login(merchant_app, "chai@example.com")
    merchant_app.get(f"/links/{link}", status=404)  # another shop's: not found


def test_the_test_view_makes_and_shows_test_links_only(merchant_app, user_app, db, shop,
                                                       asha):
    """The Test/Live switch (webapp.merchant.modes): in the test view a new
    link is a test link, the list and the pages show test links only (a live
    link's id is not found there, as an unknown one), and back in live mode
    the other way round; a test link's payment shows its simulated id."""
    live = made(new_link(merchant_app, description="Live dinner"))
    page = merchant_app.get("/links").forms["mode-switch"].submit("mode", value="test",
                                                                   status=303).follow()
    assert page.request.path == "/links" and page.html.select_one("#test-mode-banner")
    assert page.html.select_one(f"#link-{live}") is None
    assert "TEST MODE" in merchant_app.get("/links/new").html.select_one(
        "#test-mode-banner").text
    test = made(new_link(merchant_app, description="Test dinner", single_use=True))
    assert link_row(db, test).livemode is False and link_row(db, live).livemode is True
    listed = merchant_app.get("/links")
    assert [tr["id"] for tr in listed.html.select("#links tbody tr")] == [f"link-{test}"]
    assert listed.html.select_one("#links")["data-livemode"] == "false"
    assert merchant_app.get(f"/links/{test}").html.select_one("#test-mode-banner")
    for path in (f"/links/{live}", f"/links/{live}/qr.svg", "/links/plink_unknown0123"):
        merchant_app.get(path, status=404)
    token = listed.forms["mode-switch"]["csrf_token"].value
    merchant_app.post(f"/links/{live}/cancel", {"csrf_token": token}, status=404)
    assert link_row(db, live).status == "active"

    login(user_app, ASHA)
    to_checkout = user_app.get(f"/l/{test}").forms["link-form"].submit(status=303)
    public_id = to_checkout.location.rsplit("/", 1)[1]
    assert "/test/checkout/" in to_checkout.location
    to_checkout.follow().forms["simulate-form"].submit("outcome", value="succeed", status=303)
    detail = merchant_app.get(f"/links/{test}")
    assert detail.html.select_one("#link-status").text == "paid"
    assert f"payment-{public_id}" in {tr["id"] for tr in detail.html.select(
        "#link-payments tbody tr")}
    assert "(test tpay_" in detail.html.select_one("#link-payments").text

    back = merchant_app.get("/links").forms["mode-switch"].submit("mode", value="live",
                                                                   status=303).follow()
    assert [tr["id"] for tr in back.html.select("#links tbody tr")] == [f"link-{live}"]
    merchant_app.get(f"/links/{test}", status=404)
