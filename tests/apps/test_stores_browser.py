"""A shop opens a store in a real browser (Chromium), on a desktop screen and
a 375×812 phone: the Stores page from the nav, a taken handle refused on the
page, then the store opened and its QR (an SVG image) and pay link shown."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import serving
from ..wallet_helpers import PASSWORD
from .test_merchant_app import make_merchant
from .test_stepup_browser import SCREENS, fits_the_screen

pytestmark = pytest.mark.browser
USER_APP = "http://wallet.test"


@pytest.fixture
def merchant_url(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": USER_APP})
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


def test_the_shop_opens_a_store_and_sees_its_qr(db, shop_page):
    make_merchant(db)
    page: Page = shop_page
    page.goto("/login")
    page.locator("#email").fill("chai@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    page.get_by_role("link", name="Stores").click()
    expect(page).to_have_url(re.compile(r"/stores$"))
    expect(page.locator("#stores tbody tr")).to_have_count(1)
    fits_the_screen(page)

    page.locator("#store-name").fill("Chai Point, Airport")
    page.locator("#store-handle").fill("chai-point")  # the shop's own: taken
    page.get_by_role("button", name="Open store").click()
    expect(page.locator("#handle-error")).to_contain_text("already pays a shop or a store")
    page.locator("#store-handle").fill("chai-point-airport")
    page.get_by_role("button", name="Open store").click()
    expect(page).to_have_url(re.compile(r"/stores#store-\d+$"))
    row = page.locator("#stores tbody tr").nth(1)
    expect(row.locator(".store-handle")).to_have_text("@chai-point-airport")
    expect(row.locator(".store-pay-url")).to_have_text(f"{USER_APP}/pay/chai-point-airport")
    expect(row.locator(".store-status")).to_contain_text("open")
    qr = row.locator("img.store-qr")
    expect(qr).to_be_visible()
    # The QR image loaded (an SVG drawn at its size), not a broken image.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    fits_the_screen(page)
