"""In headless Chromium: a shop's payment request (made through the domain) is
paid at our checkout, the customer lands back on the shop's own site, the shop
refunds part of it in the merchant app, and the customer's history shows it."""
from __future__ import annotations

import datetime as dt
import html
import re
import urllib.parse

import pytest
import webtest
from sqlalchemy import select

from wallet.core.models import Merchant
from wallet.identity.accounts import AccountService
from wallet.merchants.models import PaymentRequest
from wallet.merchants.payment_requests import NewRequest
from wallet.operations.bank_calls import verify_all
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import BrowserThread, confirm_in_browser, serving
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    balance,
    make_user,
    payment_requests,
)
from .test_checkout import merchant_balance

pytestmark = pytest.mark.browser


class TinyShop:
    """The shop's own site: its return page shows, and remembers, what we
    appended to its URL."""

    def __init__(self) -> None:
        self.returns: list[list[tuple[str, str]]] = []

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path.startswith("/orders/") and path.endswith("/done"):
            query = urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""))
            self.returns.append(query)
            params = dict(query)
            body = (f"<!doctype html><title>Dosa Corner</title><h1>Thank you</h1>"
                    f"<p id='order'>{html.escape(path.split('/')[2])}</p>"
                    f"<p id='status'>{html.escape(params.get('status', ''))}</p>")
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [body.encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]


@pytest.fixture(scope="module")
def browser():
    browser = BrowserThread()
    yield browser
    browser.close()


@pytest.fixture
def merchant_wsgi(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test"})
    yield app
    dispose_app_engine(app)


def test_checkout_return_to_the_shop_then_a_refund_in_the_history(browser, user_wsgi,
                                                                    merchant_wsgi, db, tmp_path):
    asha = make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)
    shop = TinyShop()
    with serving(shop) as shop_url, serving(user_wsgi) as user_url:
        with db() as session, session.begin():
            merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
                "dosa-corner", "Dosa Corner", "dosa@example.com", PASSWORD)
            merchant.return_origins = shop_url
            request, _ = payment_requests(session, tasks=None).create(merchant, NewRequest(
                order_reference="order-1001", amount_paise=250_00,
                description="2 masala dosa", expires_in_s=900,
                return_url=f"{shop_url}/orders/order-1001/done?lang=en"))
            public_id, merchant_id = request.public_id, merchant.id

        def refund_in_the_merchant_app() -> None:
            app = webtest.TestApp(merchant_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
            form = app.get("/login").forms["login-form"]
            form["email"], form["password"] = "dosa@example.com", PASSWORD
            form.submit(status=303)
            payment = app.get("/payments").click(href=r"/payments/\d+$")
            form = payment.forms["refund-form"]
            form["amount"], form["reason"] = "100", "one dosa was cold"
            confirm = form.submit(status=200).forms["refund-confirm-form"]  # "Refund ₹100.00 to …?"
            assert "Refunded ₹100.00" in confirm.submit(status=303).follow().text

        def customer(page) -> None:
            from playwright.sync_api import expect

            page.goto(f"/checkout/{public_id}")
            expect(page).to_have_url(re.compile(r"/login\?next=%2Fcheckout%2Fpr_"))
            page.fill("#phone", "98765 43210")
            page.fill("#password", PASSWORD)
            page.click("#login-form button")
            expect(page).to_have_url(f"{user_url}/checkout/{public_id}")
            expect(page.locator("#shop-name")).to_have_text("Dosa Corner")
            expect(page.locator("#description")).to_have_text("2 masala dosa")
            expect(page.locator("#amount")).to_have_text("₹250.00")
            expect(page.locator("#available")).to_have_text("₹1,000.00")
            page.screenshot(path=tmp_path / "checkout.png", full_page=True)
            confirm_in_browser(page, PIN, "Confirm and pay ₹250.00")

            expect(page).to_have_url(f"{shop_url}/orders/order-1001/done?lang=en&"
                                     f"payment_request_id={public_id}&status=paid")
            expect(page.locator("h1")).to_have_text("Thank you")
            expect(page.locator("#status")).to_have_text("paid")

            refund_in_the_merchant_app()

            page.goto("/transactions")
            refund = page.locator(".activity.kind-refund")
            expect(refund).to_have_count(1)
            expect(refund.locator(".who strong")).to_have_text("Dosa Corner (@dosa-corner)")
            expect(refund.locator(".who small").first).to_contain_text("Refund from shop")
            expect(refund.locator(".note")).to_have_text("Refund: one dosa was cold")
            expect(refund.locator(".amount")).to_contain_text("+₹100.00")
            payment = page.locator(".activity.kind-payment")
            expect(payment.locator(".amount")).to_contain_text("−₹250.00")
            page.get_by_role("link", name="Home").click()
            expect(page.locator("#available")).to_have_text("₹850.00")
            page.locator(".activity.kind-refund a").click()
            expect(page.locator("#kind")).to_have_text("Refund from shop")
            expect(page.locator("#counterparty")).to_have_text("Dosa Corner (@dosa-corner)")

        browser.run(user_url, customer)

    assert shop.returns == [[("lang", "en"), ("payment_request_id", public_id),
                             ("status", "paid")]]
    assert balance(db, asha) == (850_00, 0) and merchant_balance(db, merchant_id) == 150_00
    with db() as session:
        row = session.scalar(select(PaymentRequest).where(PaymentRequest.public_id == public_id))
        assert row.status == "paid" and row.payer_user_id == asha
        assert row.paid_at > dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
        assert session.get(Merchant, merchant_id).return_origins == shop_url
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)
