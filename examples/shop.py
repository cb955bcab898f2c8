"""A tiny shop taking wallet payments: the standard library,
``standardwebhooks`` (pip install standardwebhooks) and, to check customers'
payment receipts, ``cryptography``; none of the wallet's code, as any shop's
server would be written.

    WALLET_API_KEY=sk_live_… WALLET_WEBHOOK_SECRET=whsec_… python examples/shop.py [PORT]

(WALLET_API defaults to http://127.0.0.1:6547, SHOP_URL to http://127.0.0.1:PORT;
the merchant app lists SHOP_URL among the shop's return origins and
SHOP_URL/webhooks as a webhook endpoint.)

POST /buy       creates a payment request through the API and sends the customer to
                its checkout_url; the same order retried reuses its Idempotency-Key
GET  /return    where checkout sends the customer back (?payment_request_id=…&status=…):
                a hint only, anyone can type that URL
POST /webhooks  the wallet's signed events: only a verified one marks an order paid
GET  /receipt   ?code=WR1.…: is a customer's payment receipt genuine? (verify_receipt,
                with the wallet's published keys: docs/receipts.md)
POST /links     makes a payment link (POST /v1/payment_links) for a table's bill and shows
                its URL to share, with a WhatsApp share link (the merchant app shows its QR)
POST /webhooks  the wallet's signed events: only a verified one marks an order (or a
                link: payment_link.paid) paid
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
import re
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook

API = os.environ.get("WALLET_API", "http://127.0.0.1:6547")
ORDERS: dict[str, dict[str, str]] = {}  # order reference -> its status and keys
LINKS: dict[str, dict[str, str]] = {}  # payment link id -> its url and status


def create_payment_request(api_key: str, order: str, return_url: str) -> dict[str, str]:
    """POST /v1/payment_requests; the answer holds ``id`` and ``checkout_url``."""
    body = {"order_reference": order, "amount_paise": 250_00, "description": "2 masala dosa",
            "expires_in_s": 900, "return_url": return_url}
    request = urllib.request.Request(
        f"{API}/v1/payment_requests", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                 "Idempotency-Key": ORDERS[order]["idempotency_key"]})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, str] = json.load(response)
        return answer


def _b64url(text: str) -> bytes:
    """Strict base64url without padding: any other spelling of the bytes is refused."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != text:
        raise ValueError("not canonical")
    return data


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def verify_receipt(code: str, jwks: dict, now: dt.datetime) -> dict:
    """Whether ``code`` (a receipt, ``WR1.…``) is genuine, with the wallet's
    published keys ``jwks`` (GET /.well-known/wallet-receipt-keys.json) and the
    time ``now`` (aware): ``{"genuine": True, "amount_paise": …, "payee_name": …}``
    or ``{"genuine": False, "reason": …}``. The format: docs/receipts.md."""
    code = code.strip()
    try:
        if not code.startswith("WR1.") or len(code) > 2000:
            raise ValueError("malformed")
        data = _b64url(code[4:])
        payload, signature = data[:-64], data[-64:]
        if len(signature) != 64 or not payload or payload[0] != 1:
            raise ValueError("malformed")
        fields, at = [], 1
        for shape in ("s", "s", "Q", "Q", "q", "s", "s", "s"):  # see docs/receipts.md
            if shape == "s":
                size = payload[at]
                fields.append(payload[at + 1:at + 1 + size].decode())
                at += 1 + size
            else:
                fields.append(struct.unpack_from(">" + shape, payload, at)[0])
                at += 8
            if at > len(payload):
                raise ValueError("malformed")
        if at != len(payload) or fields[1] not in ("payment", "transfer") or fields[3] <= 0:
            raise ValueError("malformed")
        at_time = dt.datetime.fromtimestamp(fields[4], dt.timezone.utc)
    except (ValueError, IndexError, struct.error, OverflowError, OSError):
        return {"genuine": False, "reason": "malformed"}
    kid, kind, txn, amount_paise, _, payee_name, payee_ref, payer = fields
    key = next((k for k in jwks.get("keys", []) if k.get("kid") == kid
                and k.get("kty") == "OKP" and k.get("crv") == "Ed25519"), None)
    if key is None:
        return {"genuine": False, "reason": "unknown_key"}
    try:
        Ed25519PublicKey.from_public_bytes(_b64url(key["x"])).verify(
            signature, b"WR1." + payload)
    except (InvalidSignature, ValueError):
        return {"genuine": False, "reason": "bad_signature"}
    if at_time > now + dt.timedelta(minutes=10):
        return {"genuine": False, "reason": "future"}
    if key.get("status") == "retired":
        retired_at, not_after = _when(key.get("retired_at")), _when(key.get("not_after"))
        if retired_at is None or at_time >= retired_at:
            return {"genuine": False, "reason": "key_retired"}
        if not_after is None or now >= not_after:
            return {"genuine": False, "reason": "key_expired"}
    return {"genuine": True, "kind": kind, "reference": f"TXN{txn:08d}",
            "amount_paise": amount_paise, "at": at_time, "payee_name": payee_name,
            "payee_ref": payee_ref, "payer": payer, "key_id": kid}


def published_keys() -> dict:
    """The wallet's receipt keys (cache them: the answer says for how long)."""
    with urllib.request.urlopen(f"{API}/.well-known/wallet-receipt-keys.json",
                                timeout=10) as response:
        keys: dict = json.load(response)
        return keys
def create_payment_link(api_key: str, table: str) -> dict[str, str]:
    """POST /v1/payment_links: a single-use link for a table's bill; the answer
    holds ``id`` and ``url`` (share it, or its QR code)."""
    body = {"amount_mode": "fixed", "amount_paise": 499_00, "description": f"Table {table} dinner",
            "single_use": True, "expires_in_s": 86400, "reference": f"table-{table}"}
    request = urllib.request.Request(
        f"{API}/v1/payment_links", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                 "Idempotency-Key": uuid.uuid4().hex})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, str] = json.load(response)
        return answer


def share_page(link: dict[str, str]) -> str:
    url = html.escape(link["url"])
    whatsapp = "https://wa.me/?text=" + urllib.parse.quote(
        f"Pay your bill at Dosa Corner: {link['url']}", safe="")
    return (f"<h1>Payment link</h1><p>Share <a id='link' href='{url}'>{url}</a></p>"
            f"<p><a id='whatsapp' href='{html.escape(whatsapp)}'>Share on WhatsApp</a></p>")


class Shop(BaseHTTPRequestHandler):
    api_key = os.environ.get("WALLET_API_KEY", "")
    webhook_secret = os.environ.get("WALLET_WEBHOOK_SECRET", "")
    base_url = ""

    def reply(self, status: int, text: str = "", location: str = "") -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        if status != 204:
            self.wfile.write(f"<!doctype html><title>Dosa Corner</title>{text}".encode())

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/return":
            query = dict(urllib.parse.parse_qsl(url.query))
            self.reply(200, f"<h1>Thank you</h1><p>Payment request "
                            f"{html.escape(query.get('payment_request_id', '?'))}: "
                            f"{html.escape(query.get('status', '?'))}. We confirm your order "
                            f"once the wallet tells our server.</p>")
        elif url.path == "/receipt":
            code = dict(urllib.parse.parse_qsl(url.query)).get("code", "")
            found = verify_receipt(code, published_keys(), dt.datetime.now(dt.timezone.utc))
            self.reply(200, "<h1>Genuine: ₹{:.2f} to {}</h1>".format(
                found["amount_paise"] / 100, html.escape(found["payee_name"]))
                if found["genuine"] else f"<h1>NOT genuine</h1><p>{found['reason']}</p>")
        else:
            orders = "".join(f"<li>{html.escape(ref)}: {html.escape(o['status'])}</li>"
                             for ref, o in ORDERS.items())
            self.reply(200, f"<h1>Dosa Corner</h1><ul id='orders'>{orders}</ul><form method="
                            "post action=/buy><button>Buy 2 masala dosa, ₹250.00</button></form>")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/buy":
            order = f"order-{uuid.uuid4().hex[:12]}"
            ORDERS[order] = {"status": "awaiting payment", "idempotency_key": uuid.uuid4().hex}
            try:
                created = create_payment_request(self.api_key, order, f"{self.base_url}/return")
            except urllib.error.HTTPError as exc:  # a problem+json answer: show it
                self.reply(502, f"<pre>{html.escape(exc.read().decode(errors='replace'))}</pre>")
                return
            ORDERS[order]["payment_request_id"] = created["id"]
            self.reply(303, location=created["checkout_url"])
        elif self.path == "/links":
            table = uuid.uuid4().hex[:6]
            try:
                link = create_payment_link(self.api_key, table)
            except urllib.error.HTTPError as exc:
                self.reply(502, f"<pre>{html.escape(exc.read().decode(errors='replace'))}</pre>")
                return
            LINKS[link["id"]] = {"url": link["url"], "status": "awaiting payment"}
            self.reply(201, share_page(link))
        elif self.path == "/webhooks":
            try:
                event = Webhook(self.webhook_secret).verify(body, dict(self.headers.items()))
            except Exception:  # a bad signature, an old or unreadable message
                self.reply(400, "not verified")
                return
            data = event["data"]
            order = data.get("order_reference") or next(  # a refund names the request
                (ref for ref, o in ORDERS.items()
                 if o.get("payment_request_id") == data.get("payment_request_id")), "")
            status = {"payment_request.paid": "paid", "payment_request.expired": "expired",
                      "refund.succeeded": f"refunded {data.get('refunded_paise', 0) / 100:.2f}"
                      }.get(event["type"])
            if order in ORDERS and status:
                ORDERS[order]["status"] = status
            if event["type"] == "payment_link.paid" and data.get("id") in LINKS:
                LINKS[data["id"]]["status"] = "paid"
            self.reply(204)
        else:
            self.reply(404, "not found")


def main(port: int = 8000) -> None:
    Shop.base_url = os.environ.get("SHOP_URL", f"http://127.0.0.1:{port}")
    print(f"Dosa Corner on {Shop.base_url}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Shop).serve_forever()


if __name__ == "__main__":
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and not sys.argv[1].isdigit()):
        sys.exit(__doc__)  # --help, or anything but a port: how to run it
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
