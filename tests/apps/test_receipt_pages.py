"""Receipts on the pages and the API (wallet.money.receipts): the payer's
success page shows the signed receipt as a QR code and text; the published
keys verify it; the counter's /verify (merchant app) and the public
/receipts/verify say genuine or NOT genuine; a genuine receipt of a payment to
another shop is not taken for the counter's own."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import webtest

from wallet.core.models import MerchantStore, Transaction
from wallet.money.receipt_keys import keys_from_jwks
from wallet.money.receipts import Verified, verify_receipt
from webapp.merchant import main as merchant_main

from ..api_helpers import auth, new_key, sign_in
from ..conftest import dispose_app_engine
from ..wallet_helpers import login, make_user
from .test_merchant_app import make_merchant, merchant_login, pay

RECEIPT = re.compile(r'id="receipt-text"[^>]*>(WR1\.[A-Za-z0-9_-]+)<')


@pytest.fixture
def merchant_app(web_settings):
    wsgi = merchant_main({}, **web_settings)
    yield webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(wsgi)


@pytest.fixture
def paid(user_app, db):
    """Asha paid Chai Point ₹120.50 on the pay page: (the success page, the receipt)."""
    make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)
    make_merchant(db)
    login(user_app, "+919876543210")
    page = pay(user_app).submit(status=303).follow()
    return page, RECEIPT.search(page.text).group(1)


def test_the_success_page_shows_the_signed_receipt_as_a_qr_code_and_text(paid, user_app):
    page, text = paid
    assert "Paid! The shop has the money." in page.text
    qr = page.html.select_one("#receipt-qr")
    assert qr["src"].startswith("data:image/svg+xml")
    summary = page.html.select_one("#receipt-summary").get_text(" ", strip=True)
    assert summary.startswith("₹120.50 to Chai Point (@chai-point) at ")
    assert "from +91 ••••• 43210" in summary
    assert page.html.select_one("#receipt-copy") is not None
    # Offline: the published document alone verifies it.
    document = user_app.get("/.well-known/wallet-receipt-keys.json").json
    outcome = verify_receipt(text, keys_from_jwks(document), dt.datetime.now(dt.timezone.utc))
    assert isinstance(outcome, Verified) and outcome.facts.amount_paise == 120_50
    # The same receipt every time the page is shown (made from the row, not stored).
    again = user_app.get(page.request.path)
    assert RECEIPT.search(again.text).group(1) == text


def test_the_published_keys_are_public_cacheable_jwks(user_app, api):
    for app in (user_app, api):
        reply = app.get("/.well-known/wallet-receipt-keys.json")
        assert reply.content_type == "application/json"
        assert reply.headers["Cache-Control"] == "public, max-age=3600"
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
        keys = {k["kid"]: k for k in reply.json["keys"]}
        assert keys["test-r2"]["status"] == "active" and keys["test-r2"]["crv"] == "Ed25519"
        assert keys["test-r1"] == {
            "kid": "test-r1", "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "x": "fVknqxw0CYPOr5xCohZgRKfP4HULLRTLuz9z-wZHz7Y", "status": "retired",
            "retired_at": "2026-01-01T00:00:00Z", "not_after": "2026-01-31T00:00:00Z"}
        assert "d" not in reply.text.replace('"', " ").split()  # (no private part)
        app.get("/.well-known/wallet-receipt-keys.json", status=304,
                headers={"If-None-Match": reply.headers["ETag"]})


def test_the_public_page_says_genuine_or_not_genuine(paid, user_app):
    _, text = paid
    fresh = webtest.TestApp(user_app.app)  # (no sign-in needed)
    page = fresh.get("/receipts/verify", params={"receipt": text})
    verdict = page.html.select_one("#verdict")
    assert verdict["data-genuine"] == "yes"
    assert "Genuine" in verdict.text and "₹120.50 to Chai Point (@chai-point)" in verdict.text
    altered = text[:30] + ("B" if text[30] != "B" else "C") + text[31:]
    page = fresh.get("/receipts/verify", params={"receipt": altered})
    assert page.html.select_one("#verdict")["data-genuine"] == "no"
    assert "NOT genuine" in page.text
    page = fresh.get("/receipts/verify", params={"receipt": "Payment successful ✔"})
    assert "not a wallet receipt" in page.html.select_one("#verdict-reason").text
    assert fresh.get("/receipts/verify").html.select_one("#verdict") is None
    assert fresh.get("/receipts/verify", params={"receipt": "x" * 50_000}).status_int == 200


def test_the_counter_checks_a_receipt_against_its_own_payments(paid, merchant_app, db):
    _, text = paid
    merchant_app.get("/verify", status=303)  # signed out: to the login page
    merchant_login(merchant_app)
    page = merchant_app.get("/verify")
    form = page.forms["verify-form"]
    form["receipt"] = f"  {text}\n"  # (a scanner's line break)
    page = form.submit()
    verdict = page.html.select_one("#verdict")
    assert verdict["data-genuine"] == "yes", verdict
    assert "in your payments (completed)" in page.html.select_one("#verdict-note").text
    fake = merchant_app.get("/verify", params={"receipt": text[:-3] + "AAA"})
    assert fake.html.select_one("#verdict")["data-genuine"] == "no"


def test_a_genuine_receipt_of_a_payment_to_another_shop_is_not_ours(paid, merchant_app, db):
    _, text = paid
    make_merchant(db, "chai-point-2", "Chai Point", "fake@example.com")
    merchant_login(merchant_app, "fake@example.com")
    page = merchant_app.get("/verify", params={"receipt": text})
    assert page.html.select_one("#verdict")["data-genuine"] == "no"
    assert "not a payment to your shop" in page.html.select_one("#verdict-reason").text


def test_the_receipt_names_the_store_paid_at(paid, user_app, db):
    page, _ = paid
    transaction_id = int(page.request.path.rsplit("/", 1)[1])
    with db() as session, session.begin():
        tx = session.get(Transaction, transaction_id)
        store = MerchantStore(merchant_id=tx.payee_merchant_id, name="Chai Point, MG Road",
                              handle="chai-point-mg-road", created_at=tx.created_at)
        session.add(store)
        session.flush()
        tx.payee_store_id = store.id
    page = user_app.get(f"/transactions/{transaction_id}")
    assert "to Chai Point, MG Road (@chai-point-mg-road)" in page.html.select_one(
        "#receipt-summary").text


def test_only_the_payer_sees_a_receipt_and_only_of_a_completed_payment(paid, user_app, db):
    page, _ = paid
    transaction_id = int(page.request.path.rsplit("/", 1)[1])
    with db() as session, session.begin():
        session.get(Transaction, transaction_id).status = "reversed"
    assert "receipt-qr" not in user_app.get(f"/transactions/{transaction_id}").text


def test_the_api_gives_the_payer_the_receipt_of_a_transaction(paid, api):
    page, text = paid
    transaction_id = int(page.request.path.rsplit("/", 1)[1])
    token = sign_in(api)
    reply = api.get(f"/v1/transactions/{transaction_id}", headers=auth(token)).json
    assert reply["receipt"] == {
        "text": text, "reference": f"TXN{transaction_id:08d}", "key_id": "test-r2",
        "summary": reply["receipt"]["summary"]}
    assert reply["receipt"]["summary"].startswith("₹120.50 to Chai Point (@chai-point)")


def test_a_transfer_gets_a_receipt_too(user_app, api, db):
    make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)
    make_user(db, "+919812345678", "Ravi Kumar")
    token = sign_in(api)
    sent = api.post_json("/v1/transfers", {"to_phone": "+919812345678", "amount_paise": 50_00},
                         headers=auth(token, new_key()), status=201).json
    receipt = api.get(f"/v1/transactions/{sent['id']}", headers=auth(token)).json["receipt"]
    assert receipt["summary"].startswith("₹50.00 to Ravi Kumar (+91 ••••• 45678) at ")
    ravi = sign_in(api, "+919812345678")
    assert api.get(f"/v1/transactions/{sent['id']}", headers=auth(ravi)).json["receipt"] is None
