"""Automatic settlement in a real browser (Chromium), on a 375×812 phone: a
shop with its PIN and account sets its schedule (a bad time first: the field's
message, nothing saved), then "Settle all now", lands on the settlement's
report and finds it in the history, with its CSV link."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import serving
from ..wallet_helpers import PASSWORD, SHOP_PIN, make_user, ready_to_settle
from .test_merchant_app import _merchant_balance, make_merchant, pay_at
from .test_stepup_browser import SCREENS, fits_the_screen

pytestmark = pytest.mark.browser


@pytest.fixture
def shop_page(chromium, web_settings):
    app = merchant_main({}, **web_settings)
    try:
        with serving(app) as url:
            context = chromium.new_context(base_url=url, locale="en-IN",
                                           viewport=SCREENS["phone"])
            yield context.new_page()
            context.close()
    finally:
        dispose_app_engine(app)


def test_set_the_schedule_then_settle_all_and_read_the_history(db, shop_page):
    shop = make_merchant(db)
    ready_to_settle(db, shop)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    pay_at(db, asha, "chai-point", 640_00, dt.datetime.now(dt.timezone.utc), "form-key-shop-01")
    page: Page = shop_page
    page.goto("/login")
    page.locator("#email").fill("chai@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.get_by_role("link", name="Settlements", exact=True).click()
    expect(page.locator("#no-settlements")).to_be_visible()
    page.get_by_role("link", name=re.compile("Automatic settlement")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Automatic settlement")
    expect(page.locator("#schedule-now")).to_have_text("off")
    page.get_by_label("Every day at set times (IST)").check()
    page.locator("#times").fill("11:00, 26:00")
    page.locator("#min_balance").fill("100")
    page.locator("#pin").fill(SHOP_PIN)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#times-error")).to_contain_text("'26:00' is not a time of day")
    expect(page.locator("#schedule-now")).to_have_text("off")  # nothing saved
    fits_the_screen(page)
    page.locator("#times").fill("17:30, 11:00")
    page.locator("#pin").fill(SHOP_PIN)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_have_text("Automatic settlement saved.")
    expect(page.locator("#schedule-now")).to_have_text(
        "daily at 11:00, 17:30 IST, keeping ₹100.00")
    expect(page.locator("#next-run")).to_contain_text("IST")
    fits_the_screen(page)

    expect(page.locator("#available")).to_have_text("₹640.00")
    page.get_by_role("button", name="Settle all now").click()
    expect(page).to_have_url(re.compile(r"/settlements/stl_[A-Za-z0-9_-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Settlement of ₹640.00")
    expect(page.locator("#payments-total")).to_have_text("₹640.00")
    expect(page.locator("#net")).to_have_text("₹640.00")
    expect(page.locator("#payouts")).to_contain_text("wd_")
    fits_the_screen(page)
    assert _merchant_balance(db, shop) == 0  # held for the payout

    page.get_by_role("link", name="All settlements").click()
    row = page.locator("#settlements tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("settle all")
    expect(row).to_contain_text("₹640.00")
    expect(row.get_by_role("link", name="CSV")).to_have_attribute(
        "href", re.compile(r"/settlements/stl_[A-Za-z0-9_-]+/report\.csv$"))
    fits_the_screen(page)
