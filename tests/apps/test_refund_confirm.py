"""A refund from the merchant app: a confirm step ("Refund ₹X to …?") before
any money moves, and above wallet.merchant_refund_confirm_above_paise the
shop PIN on it, its wrong tries counted (and locked) as a settlement's are.
The API's refunds are not asked for it (tests/apps/test_api_merchant.py)."""
from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select

from wallet.core.models import Merchant
from wallet.identity.merchant_pins import MerchantPins
from wallet.identity.models import MerchantPin
from wallet.merchants.models import Refund
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..wallet_helpers import SHOP_PIN, TEST_PIN_POLICY, balance, state
from .test_checkout import merchant_balance
from .test_refunds_app import ASHA, refund_form, shop, shop_login  # noqa: F401
from .test_refunds_app import paid as paid_fixture  # noqa: F401

paid = paid_fixture


@pytest.fixture
def shop_wsgi(web_settings):
    """The merchant app; refunds above ₹100.00 need the shop PIN."""
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test",
                               "wallet.merchant_refund_confirm_above_paise": "10000"})
    yield app
    dispose_app_engine(app)


@pytest.fixture
def shop_app(shop_wsgi):
    return webtest.TestApp(shop_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})


@pytest.fixture
def shop_pin(db, shop):  # noqa: F811
    with db() as session, session.begin():
        MerchantPins(session, policy=TEST_PIN_POLICY).set_first(session.get(Merchant, shop),
                                                                SHOP_PIN, SHOP_PIN)


def ask(app, payment_id, amount, reason=""):
    form = app.get(f"/payments/{payment_id}").forms["refund-form"]
    form["amount"], form["reason"] = amount, reason
    return form.submit(status=200)


def refunds_made(db) -> int:
    with db() as session:
        return len(session.scalars(select(Refund)).all())


def failed_tries(db, shop) -> int:  # noqa: F811
    with db() as session:
        return session.get(MerchantPin, shop).failed_tries


def test_the_confirm_step_says_how_much_to_whom_before_anything_moves(shop_app, db, shop,  # noqa: F811
                                                                       asha, paid):
    before = state(db)
    page = ask(shop_app, paid, "100", "cold dosa")  # ₹100.00: not above the threshold
    question = page.html.find(id="confirm-question").get_text(strip=True)
    assert question == "Refund ₹100.00 to Asha Verma (+91 ••••• 43210)?"
    assert "Reason: cold dosa" in page.text and f"TXN{paid:08d}" in page.text
    assert 'name="pin"' not in page.text  # (no PIN at or below ₹100.00)
    assert state(db) == before and refunds_made(db) == 0
    again = page.forms["refund-confirm-form"].submit("edit", status=200)  # change details
    assert again.forms["refund-form"]["amount"].value == "100"
    assert again.forms["refund-form"]["reason"].value == "cold dosa"
    assert state(db) == before
    done = page.forms["refund-confirm-form"].submit(status=303).follow()
    assert "Refunded ₹100.00 to the payer." in done.text
    assert balance(db, asha) == (850_00, 0) and merchant_balance(db, shop) == 150_00


def test_above_the_threshold_the_shop_pin_confirms_it(shop_app, db, shop, asha, paid,  # noqa: F811
                                                      shop_pin):
    page = ask(shop_app, paid, "100.01")
    assert "need your shop PIN" in page.text
    form = page.forms["refund-confirm-form"]
    form["pin"] = "9753"
    before = state(db)
    wrong = form.submit(status=400)
    assert "Wrong PIN: 4 tries left" in wrong.html.find(id="pin-error").get_text()
    assert state(db) == before and refunds_made(db) == 0
    assert failed_tries(db, shop) == 1  # counted, as a settlement's wrong PIN is
    form = wrong.forms["refund-confirm-form"]
    form["pin"] = SHOP_PIN
    form.submit(status=303)
    assert balance(db, asha) == (850_01, 0) and refunds_made(db) == 1
    assert failed_tries(db, shop) == 0


def test_a_large_refund_split_in_small_ones_still_needs_the_pin(shop_app, db, shop, paid,  # noqa: F811
                                                                 shop_pin):
    """The threshold (₹100.00 here) counts what the payment had refunded
    already: two refunds of ₹60.00 are a ₹120.00 refund."""
    first = ask(shop_app, paid, "60")
    assert 'name="pin"' not in first.text
    first.forms["refund-confirm-form"].submit(status=303)
    second = ask(shop_app, paid, "60")
    assert "need your shop PIN" in second.text and 'name="pin"' in second.text
    before = state(db)
    second.forms["refund-confirm-form"].submit(status=400)  # no PIN: nothing moves
    assert state(db) == before and refunds_made(db) == 1
    form = ask(shop_app, paid, "60").forms["refund-confirm-form"]
    form["pin"] = SHOP_PIN
    form.submit(status=303)
    assert refunds_made(db) == 2


def test_a_forged_confirm_without_the_pin_moves_nothing(shop_app, db, shop, paid, shop_pin):  # noqa: F811
    form = ask(shop_app, paid, "200").forms["refund-confirm-form"]
    before = state(db)
    form.fields["pin"][0].force_value("")
    refused = form.submit(status=400)
    assert "Wrong PIN" in refused.text
    assert state(db) == before and refunds_made(db) == 0


def test_wrong_pins_lock_refunds_and_settlements_alike(shop_app, db, shop, paid, shop_pin):  # noqa: F811
    page = ask(shop_app, paid, "150")
    before = state(db)
    for _ in range(TEST_PIN_POLICY.max_tries):
        form = page.forms["refund-confirm-form"]
        form["pin"] = "9753"
        page = form.submit(status=400)
    assert "Too many wrong PINs" in page.text
    form = page.forms["refund-confirm-form"]
    form["pin"] = SHOP_PIN  # the right one, but locked now
    assert "Too many wrong PINs" in form.submit(status=400).text
    assert state(db) == before and refunds_made(db) == 0


def test_a_shop_without_a_pin_is_sent_to_set_one(shop_app, db, shop, paid):  # noqa: F811
    page = ask(shop_app, paid, "150")
    assert page.html.find(id="pin-needed") is not None
    assert 'id="confirm-button"' not in page.text
    before = state(db)
    token = page.forms["refund-confirm-form"]["csrf_token"].value
    key = page.forms["refund-confirm-form"]["request_key"].value
    forged = shop_app.post(f"/payments/{paid}", {"csrf_token": token, "amount": "150",
                                                 "request_key": key, "confirm": "1",
                                                 "pin": "1357"}, status=400)
    assert "Set your shop PIN first" in forged.text
    assert state(db) == before and refunds_made(db) == 0


@pytest.mark.parametrize("amount, message", [("250.01", "At most ₹250.00"),
                                             ("abc", "like 250 or 250.50")])
def test_a_bad_amount_never_reaches_the_confirm_step(shop_app, db, paid, amount, message):
    before = state(db)
    form = shop_app.get(f"/payments/{paid}").forms["refund-form"]
    form["amount"] = amount
    page = form.submit(status=400)
    assert message in page.text and "refund-confirm-form" not in page.forms
    assert state(db) == before


def test_the_threshold_is_a_setting():
    from wallet.settings import WalletSettings

    assert WalletSettings.from_dict({}).merchant_refund_confirm_above_paise == 5_000_00
    assert WalletSettings.from_dict(
        {"wallet.merchant_refund_confirm_above_paise": "0"}
    ).merchant_refund_confirm_above_paise == 0
