"""examples/shop.py, the example shop: it imports nothing of ours, creates a
payment request through the API contract (POST /v1/payment_requests, Bearer
key, Idempotency-Key), sends the customer to the checkout URL, and believes
only webhooks that standardwebhooks verifies."""
from __future__ import annotations

import ast
import base64
import contextlib
import datetime as dt
import importlib.util
import json
import sys
import threading
import urllib.parse
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from ..live_servers import http, serving
from ..wallet_helpers import PIN, payment_requests

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop.py"
SECRET = "whsec_" + base64.b64encode(b"s" * 24).decode()
API_KEY = "sk_live_" + "k" * 32


def test_it_imports_only_the_standard_library_standardwebhooks_and_cryptography():
    tree = ast.parse(EXAMPLE.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - set(sys.stdlib_module_names) == {"standardwebhooks", "cryptography"}


class FakeApi:
    """Answers POST /v1/payment_requests as the API's contract says."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, dict]] = []

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        body = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        self.calls.append((headers, body))
        assert environ["REQUEST_METHOD"] == "POST"
        assert environ["PATH_INFO"] in ("/v1/payment_requests", "/v1/payment_links")
        answer = {"id": "pr_example00000000000000", "status": "created",
                  "checkout_url": "http://wallet.test/checkout/pr_example00000000000000"}
        if environ["PATH_INFO"] == "/v1/payment_links":
            answer = {"id": "plink_example0000000000", "status": "active",
                      "url": "http://wallet.test/l/plink_example0000000000"}
        start_response("201 Created", [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]


@contextlib.contextmanager
def example_shop(api_url: str):
    spec = importlib.util.spec_from_file_location("example_shop", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.API = api_url
    module.Shop.api_key, module.Shop.webhook_secret = API_KEY, SECRET
    server = ThreadingHTTPServer(("127.0.0.1", 0), module.Shop)
    module.Shop.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield module, module.Shop.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def signed(payload: dict, *, secret: str = SECRET, msg_id: str = "msg_example000000001",
           age: dt.timedelta = dt.timedelta()) -> tuple[bytes, dict]:
    body = json.dumps(payload, separators=(",", ":"))
    moment = dt.datetime.now(dt.timezone.utc) - age
    return body.encode(), {
        "Content-Type": "application/json", "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body)}


@pytest.fixture
def shop():
    api = FakeApi()
    with serving(api) as api_url, example_shop(api_url) as (module, shop_url):
        yield api, module, shop_url


def test_buying_creates_a_payment_request_and_goes_to_checkout(shop):
    api, module, shop_url = shop
    reply = http("POST", f"{shop_url}/buy", form={})
    assert reply.status == 303
    assert reply.headers["Location"] == "http://wallet.test/checkout/pr_example00000000000000"
    [(headers, body)] = api.calls
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["content-type"] == "application/json"
    order = body["order_reference"]
    assert headers["idempotency-key"] == module.ORDERS[order]["idempotency_key"]
    assert body == {"order_reference": order, "amount_paise": 250_00,
                    "description": "2 masala dosa", "expires_in_s": 900,
                    "return_url": f"{shop_url}/return"}
    back = http("GET", f"{shop_url}/return?" + urllib.parse.urlencode(
        {"payment_request_id": "pr_example00000000000000", "status": "paid"}))
    assert back.status == 200 and b"pr_example00000000000000: paid" in back.body
    assert module.ORDERS[order]["status"] == "awaiting payment"  # the return URL proves nothing


def test_only_verified_webhooks_change_an_order(shop):
    api, module, shop_url = shop
    http("POST", f"{shop_url}/buy", form={})
    order = api.calls[0][1]["order_reference"]
    paid = {"type": "payment_request.paid", "timestamp": "2026-11-29T10:00:00+00:00",
            "data": {"id": "pr_example00000000000000", "order_reference": order,
                     "amount_paise": 250_00, "status": "paid", "paid_at": None}}
    for body, headers in (
            signed(paid, secret="whsec_" + base64.b64encode(b"x" * 24).decode()),
            signed(paid, age=dt.timedelta(minutes=10)),  # too old: a replay
            (signed(paid)[0].replace(b"250", b"999"), signed(paid)[1]),  # altered
            (signed(paid)[0], {**signed(paid)[1], "webhook-signature": "garbage"}),
            (signed(paid)[0], {"Content-Type": "application/json"})):
        assert http("POST", f"{shop_url}/webhooks", body=body, headers=headers).status == 400
    assert module.ORDERS[order]["status"] == "awaiting payment"
    body, headers = signed(paid)
    assert http("POST", f"{shop_url}/webhooks", body=body, headers=headers).status == 204
    assert module.ORDERS[order]["status"] == "paid"
    refund = {"type": "refund.succeeded", "timestamp": "2026-11-29T11:00:00+00:00",
              "data": {"id": "rf_example", "payment_request_id": "pr_example00000000000000",
                       "amount_paise": 100_00, "refunded_paise": 100_00,
                       "payment_amount_paise": 250_00, "reason": "cold"}}
    body, headers = signed(refund, msg_id="msg_example000000002")
    assert http("POST", f"{shop_url}/webhooks", body=body, headers=headers).status == 204
    assert module.ORDERS[order]["status"] == "refunded 100.00"
    assert f"{order}: refunded 100.00".encode() in http("GET", f"{shop_url}/").body


def test_a_payment_link_made_and_shared_then_paid_by_webhook(shop):
    api, module, shop_url = shop
    reply = http("POST", f"{shop_url}/links", form={})
    assert reply.status == 201
    [(headers, body)] = api.calls
    assert headers["authorization"] == f"Bearer {API_KEY}" and len(headers["idempotency-key"]) >= 16
    assert body["amount_mode"] == "fixed" and body["amount_paise"] == 499_00
    assert body["single_use"] is True and body["reference"].startswith("table-")
    url = "http://wallet.test/l/plink_example0000000000"
    assert f"href='{url}'".encode() in reply.body
    assert b"href='https://wa.me/?text=Pay%20your%20bill" in reply.body
    assert urllib.parse.quote(url, safe="").encode() in reply.body
    paid = {"type": "payment_link.paid", "timestamp": "2026-12-12T10:00:00+00:00",
            "data": {"id": "plink_example0000000000", "reference": body["reference"],
                     "status": "paid", "uses_count": 1, "paid_paise": 499_00,
                     "payment_request_id": "pr_x", "amount_paise": 499_00, "paid_at": None}}
    body, headers = signed(paid, msg_id="msg_example000000003")
    assert http("POST", f"{shop_url}/webhooks", body=body, headers=headers).status == 204
    assert module.LINKS["plink_example0000000000"]["status"] == "paid"


def test_the_example_shop_against_the_real_api_and_webhooks(web_settings, db):
    """The same example, for real: our API app creates the request, the
    customer pays, the worker's queued task delivers the signed webhook, and
    the example shop (standardwebhooks) marks its order paid."""
    import api_app
    import huey_tasks
    from wallet.core.models import User
    from wallet.identity.accounts import AccountService
    from wallet.merchants.keys import MerchantKeys
    from wallet.merchants.webhooks import MerchantWebhooks, WebhookPolicy

    from ..wallet_helpers import PASSWORD, make_user

    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    settings = {**web_settings, "wallet.user_app_url": "http://wallet.test",
                "wallet.webhook_allow_private_urls": "true"}
    wsgi = api_app.main({}, **settings)
    huey_tasks.huey.flush()
    with serving(wsgi) as api_url, example_shop(api_url) as (module, shop_url):
        with db() as session, session.begin():
            merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
                "dosa-corner", "Dosa Corner", "dosa@example.com", PASSWORD)
            merchant.return_origins = shop_url
            module.Shop.api_key = MerchantKeys(session).issue(merchant, "example").secret
            module.Shop.webhook_secret = MerchantWebhooks(
                session, WebhookPolicy(allow_private_urls=True, require_https=False)).create(
                merchant.id, f"{shop_url}/webhooks", ["payment_request.paid"]).secret
        reply = http("POST", f"{shop_url}/buy", form={})
        assert reply.status == 303, reply.body
        public_id = reply.headers["Location"].rsplit("/", 1)[1]
        assert reply.headers["Location"] == f"http://wallet.test/checkout/{public_id}"
        [order] = module.ORDERS
        assert module.ORDERS[order]["status"] == "awaiting payment"
        with db() as session, session.begin():  # the customer pays at checkout
            payment_requests(session, tasks=wsgi.registry["task_queue"]).pay(
                session.get(User, asha), public_id, pin=PIN)
        while (task := huey_tasks.huey.dequeue()) is not None:  # the worker
            huey_tasks.huey.execute(task)
        assert module.ORDERS[order]["status"] == "paid"
    wsgi.registry["dbsession_factory"].kw["bind"].dispose()
