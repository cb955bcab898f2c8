"""A shop integrates, over real HTTP from end to end: its server creates a
payment request with its secret key, the customer pays at our checkout in
headless Chromium and lands back on the shop's site, the shop's server gets
``payment_request.paid`` (checked with the ``standardwebhooks`` package, no
code of ours), refunds part of it through the API and gets
``refund.succeeded``; balances are exact and the books verify."""
from __future__ import annotations

import json
import re
import secrets
import threading
import urllib.parse

import pytest
from standardwebhooks.webhooks import Webhook

from wallet.identity.accounts import AccountService
from wallet.merchants.keys import MerchantKeys
from wallet.merchants.webhooks import MerchantWebhooks, WebhookPolicy
from wallet.operations.bank_calls import verify_all

from ..live_servers import BrowserThread, confirm_in_browser, free_ports, http, serving
from ..wallet_helpers import PASSWORD, PIN, balance, make_user
from .test_checkout import merchant_balance

pytestmark = pytest.mark.browser
POLICY = WebhookPolicy(timeout_s=2.0, backoff_base_s=1.0, allow_private_urls=True,
                       require_https=False)


class ShopServer:
    """The shop's own server: its return page, and its webhook receiver."""

    def __init__(self) -> None:
        self.returns: list[str] = []
        self.webhooks: list[tuple[bytes, dict[str, str]]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/hooks" and environ["REQUEST_METHOD"] == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            headers = {name[5:].replace("_", "-").lower(): value
                       for name, value in environ.items() if name.startswith("HTTP_")}
            with self.lock:
                self.webhooks.append((body, headers))
            start_response("204 No Content", [])
            return [b""]
        if path.startswith("/orders/"):
            self.returns.append(environ.get("QUERY_STRING", ""))
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [b"<!doctype html><title>Dosa Corner</title><h1>Thank you</h1>"]
        start_response("200 OK" if path == "/healthz" else "404 Not Found",
                       [("Content-Type", "text/plain")])
        return [b"ok"]

    def verified(self, secret: str) -> list[dict]:
        with self.lock:
            return [Webhook(secret).verify(body, headers) for body, headers in self.webhooks]


@pytest.fixture(scope="module")
def browser():
    browser = BrowserThread()
    yield browser
    browser.close()


def call(base: str, method: str, path: str, key: str, body: dict | None = None,
         idempotency_key: str | None = None):
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return http(method, f"{base}{path}", headers=headers,
                body=None if body is None else json.dumps(body))


def run_queued_tasks() -> int:
    """What a worker does: run the tasks queued after commit (in queue order)."""
    import huey_tasks

    ran = 0
    while (task := huey_tasks.huey.dequeue()) is not None:
        huey_tasks.huey.execute(task)
        ran += 1
    return ran


def test_a_shop_is_paid_at_checkout_told_by_webhook_and_refunds(browser, web_settings, db,
                                                                  tmp_path):
    import api_app
    import webapp

    asha = make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)
    user_port, api_port = free_ports(2)
    user_url = f"http://127.0.0.1:{user_port}"
    settings = {**web_settings, "wallet.user_app_url": user_url,
                # the shop's server is on loopback here: development's rule
                "wallet.webhook_allow_private_urls": "true", "wallet.webhook_timeout_s": "2"}
    shop = ShopServer()
    user_wsgi, api_wsgi = webapp.main({}, **settings), api_app.main({}, **settings)
    import huey_tasks

    huey_tasks.huey.flush()
    with serving(shop) as shop_url, serving(user_wsgi, port=user_port), \
            serving(api_wsgi, port=api_port) as api_url:
        with db() as session, session.begin():  # the shop signs up and configures itself
            merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
                "dosa-corner", "Dosa Corner", "dosa@example.com", PASSWORD)
            merchant.return_origins = shop_url
            key = MerchantKeys(session).issue(merchant, "web shop").secret
            secret = MerchantWebhooks(session, POLICY).create(
                merchant.id, f"{shop_url}/hooks",
                ["payment_request.paid", "refund.succeeded"]).secret
            merchant_id = merchant.id

        created = call(api_url, "POST", "/v1/payment_requests", key, {
            "order_reference": "order-1001", "amount_paise": 250_00,
            "description": "2 masala dosa", "expires_in_s": 900,
            "return_url": f"{shop_url}/orders/order-1001/done"}, secrets.token_urlsafe(16))
        assert created.status == 201, created.body
        request = created.json()
        assert request["status"] == "created"
        assert request["checkout_url"] == f"{user_url}/checkout/{request['id']}"

        def customer(page) -> None:
            from playwright.sync_api import expect

            page.goto(request["checkout_url"])
            page.fill("#phone", "98765 43210")
            page.fill("#password", PASSWORD)
            page.click("#login-form button")
            expect(page.locator("#shop-name")).to_have_text("Dosa Corner")
            expect(page.locator("#amount")).to_have_text("₹250.00")
            page.screenshot(path=tmp_path / "checkout.png", full_page=True)
            confirm_in_browser(page, PIN, "Confirm and pay ₹250.00")
            expect(page).to_have_url(re.compile(re.escape(f"{shop_url}/orders/order-1001/done")))
            expect(page.locator("h1")).to_have_text("Thank you")

        browser.run(user_url, customer)
        assert urllib.parse.parse_qs(shop.returns[0]) == {
            "payment_request_id": [request["id"]], "status": ["paid"]}

        assert run_queued_tasks() == 1  # the webhook, queued when the payment committed
        paid = shop.verified(secret)
        assert [m["type"] for m in paid] == ["payment_request.paid"]
        assert paid[0]["data"]["id"] == request["id"]
        assert paid[0]["data"]["amount_paise"] == 250_00
        fetched = call(api_url, "GET", f"/v1/payment_requests/{request['id']}", key).json()
        assert fetched["status"] == "paid"

        refund_key = secrets.token_urlsafe(16)
        for _ in range(2):  # the shop's retry moves nothing more
            refunded = call(api_url, "POST", f"/v1/payment_requests/{request['id']}/refunds",
                            key, {"amount_paise": 100_00, "reason": "one dosa was cold"},
                            refund_key)
            assert refunded.status == 201, refunded.body
        too_much = call(api_url, "POST", f"/v1/payment_requests/{request['id']}/refunds", key,
                        {"amount_paise": 150_01, "reason": "more"}, secrets.token_urlsafe(16))
        assert too_much.status == 422 and too_much.json()["code"] == "refund_too_large"

        assert run_queued_tasks() == 1
        messages = shop.verified(secret)
        assert [m["type"] for m in messages] == ["payment_request.paid", "refund.succeeded"]
        assert messages[1]["data"]["amount_paise"] == 100_00
        assert run_queued_tasks() == 0  # each message once
        assert len(shop.webhooks) == 2
    for app in (user_wsgi, api_wsgi):
        app.registry["dbsession_factory"].kw["bind"].dispose()

    assert balance(db, asha) == (850_00, 0) and merchant_balance(db, merchant_id) == 150_00
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger.summary(), result.records)
