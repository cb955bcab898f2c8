"""In headless Chromium: a shop's test payment request (made through the API
with an ``sk_test_`` key) is paid at the test checkout by "Simulate success",
nobody signed in; the browser lands back on the shop's own site, the shop's
webhook says ``"livemode": false``, and the ledger is exactly as before."""
from __future__ import annotations

import json
import re

import pytest
import webtest
from sqlalchemy import select

from wallet.core.models import Merchant
from wallet.merchants.keys import MerchantKeys
from wallet.merchants.models import MerchantEvent, PaymentRequest

from ..api_helpers import auth, new_key
from ..live_servers import BrowserThread, serving
from ..mandate_helpers import make_shop
from ..wallet_helpers import make_user, state
from .test_checkout_browser import TinyShop

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    browser = BrowserThread()
    yield browser
    browser.close()


def test_a_test_checkout_succeeds_in_a_browser(browser, user_wsgi, api_wsgi, db, tmp_path):
    make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)  # (live money around)
    shop_id = make_shop(db, "dosa-corner")
    tiny = TinyShop()
    with serving(tiny) as shop_url, serving(user_wsgi) as user_url:
        with db() as session, session.begin():
            merchant = session.get_one(Merchant, shop_id)
            merchant.return_origins = shop_url
            secret = MerchantKeys(session).issue(merchant, "test server", livemode=False).secret
        api = webtest.TestApp(api_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.5"})
        made = api.post_json("/v1/payment_requests", {
            "order_reference": "order-42", "amount_paise": 250_00,
            "description": "2 masala dosa",
            "return_url": f"{shop_url}/orders/order-42/done"},
            headers=auth(secret, new_key()), status=201).json
        public_id = made["id"]
        assert made["livemode"] is False and "/test/checkout/" in made["checkout_url"]
        before = state(db)

        def customer(page) -> None:
            from playwright.sync_api import expect

            page.goto(f"/test/checkout/{public_id}")  # nobody signed in
            expect(page.locator("#test-banner")).to_contain_text("TEST MODE")
            expect(page.locator("#shop-name")).to_have_text("Dosa-Corner")
            expect(page.locator("#amount")).to_have_text("₹250.00")
            expect(page.locator("#pin")).to_have_count(0)  # no wallet's pay step
            expect(page.locator("#simulate-failure")).to_have_text("Simulate failure")
            page.screenshot(path=tmp_path / "test-checkout.png", full_page=True)
            page.get_by_role("button", name="Simulate success").click()
            expect(page).to_have_url(re.compile(
                re.escape(f"{shop_url}/orders/order-42/done?payment_request_id={public_id}")
                + r"&status=paid$"))
            expect(page.locator("#status")).to_have_text("paid")

        browser.run(user_url, customer)

    assert tiny.returns == [[("payment_request_id", public_id), ("status", "paid")]]
    with db() as session:
        paid = session.scalar(select(PaymentRequest).where(
            PaymentRequest.public_id == public_id))
        assert paid.status == "paid" and paid.transaction_id is None
        [event] = session.scalars(select(MerchantEvent)).all()
        payload = json.loads(event.payload)
        assert (event.type, event.livemode, payload["livemode"]) == (
            "payment_request.paid", False, False)
    assert state(db) == before  # no ledger posting, no balance moved
