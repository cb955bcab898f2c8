"""A shop's settlement in a real browser (Chromium), on a desktop screen and a
375×812 phone: an existing shop sets its shop PIN (with its password),
registers its bank account (the number typed twice, the PIN), then settles
through the confirm step ("Settle ₹250.00 to HDFC Bank ••••7766?"), where a
wrong PIN moves nothing."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import serving
from ..wallet_helpers import PASSWORD, SHOP_PIN, make_user
from .test_merchant_app import _merchant_balance, make_merchant, pay_at
from .test_stepup_browser import SCREENS, fits_the_screen

pytestmark = pytest.mark.browser


@pytest.fixture
def merchant_url(web_settings):
    """The merchant app on a free port; a new account takes settlements at once."""
    app = merchant_main({}, **{**web_settings,
                               "wallet.settlement_account_cooling_off_s": "0"})
    try:
        with serving(app) as url:
            yield url
    finally:
        dispose_app_engine(app)


@pytest.fixture(params=list(SCREENS))
def shop_page(request, chromium, merchant_url):
    context = chromium.new_context(base_url=merchant_url, locale="en-IN",
                                   viewport=SCREENS[request.param])
    yield context.new_page()
    context.close()


def test_register_an_account_then_settle_with_the_confirm_step(db, shop_page):
    shop = make_merchant(db)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    pay_at(db, asha, "chai-point", 600_00, dt.datetime.now(dt.timezone.utc), "form-key-shop-01")
    page: Page = shop_page
    page.goto("/login")
    page.locator("#email").fill("chai@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.get_by_role("link", name="Settle", exact=True).click()  # no PIN yet: set it first
    expect(page.get_by_role("heading", level=1)).to_have_text("Set your shop PIN")
    fits_the_screen(page)
    page.locator("#password").fill(PASSWORD)
    page.locator("#new_pin").fill(SHOP_PIN)
    page.locator("#repeat").fill(SHOP_PIN)
    page.get_by_role("button", name="Set PIN").click()
    expect(page).to_have_url(re.compile(r"/settle$"))
    expect(page.locator("#no-accounts")).to_contain_text("Register your bank account")

    page.get_by_role("link", name="Register your bank account").click()
    page.locator("#account_number").fill("5010 0099 8877 66")
    page.locator("#repeat_account_number").fill("50100099887766")
    page.locator("#ifsc").fill("hdfc0001234")
    page.locator("#pin").fill(SHOP_PIN)
    page.get_by_role("button", name="Register account").click()
    expect(page.locator(".flash")).to_have_text("HDFC Bank ••••7766 added.")
    expect(page.locator("#bank-accounts")).to_contain_text("IFSC HDFC0001234")
    fits_the_screen(page)

    page.get_by_role("link", name="Settle", exact=True).click()
    page.locator("#amount").fill("250")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Settle ₹250.00 to HDFC Bank ••••7766?")
    fits_the_screen(page)
    page.locator("#pin").fill("9753")  # a wrong PIN: nothing moves
    page.get_by_role("button", name="Settle now").click()
    expect(page.locator("#pin-error")).to_contain_text("Wrong PIN: 4 tries left")
    assert _merchant_balance(db, shop) == 600_00
    page.locator("#pin").fill(SHOP_PIN)
    page.get_by_role("button", name="Settle now").click()
    expect(page).to_have_url(re.compile(r"/settlements/\d+$"))
    expect(page.locator("#withdrawal-status")).to_be_visible()
    fits_the_screen(page)
    assert _merchant_balance(db, shop) == 350_00  # held for the payout

    page.get_by_role("link", name="Notices").click()
    expect(page.locator("#notices")).to_contain_text("HDFC Bank ••••7766 (IFSC HDFC0001234)")
    fits_the_screen(page)
