"""A shop contests a dispute in a real browser (Chromium), on a desktop screen
and a 375×812 phone: the dashboard's box leads to the dispute, empty evidence
is refused on the page, then the evidence is sent and the dispute shows
contested."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import serving
from ..mandate_helpers import Clock, event_types, make_shop
from ..wallet_helpers import PASSWORD
from .test_dispute_pages import disputed
from .test_stepup_browser import SCREENS, fits_the_screen

pytestmark = pytest.mark.browser


@pytest.fixture
def merchant_url(web_settings):
    app = merchant_main({}, **web_settings)
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


def test_the_shop_contests_a_dispute(db, shop_page):
    shop = make_shop(db, "dosa-corner")
    _, public_id = disputed(db, Clock(), shop)
    page: Page = shop_page
    page.goto("/login")
    page.locator("#email").fill("dosa-corner@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator("#disputes-notice")).to_contain_text(
        "1 dispute awaiting your answer: ₹250.00 held")
    fits_the_screen(page)
    page.locator("#disputes-notice a").click()
    expect(page).to_have_url(re.compile(f"/disputes/{public_id}$"))
    expect(page.locator("#dispute-status")).to_have_text("open")
    fits_the_screen(page)

    page.locator("#evidence-input").fill("   ")  # only spaces: the browser lets it through
    page.get_by_role("button", name="Contest").click()
    expect(page.locator("#evidence-error")).to_contain_text("Describe your evidence")
    page.locator("#evidence-input").fill("Delivered on 3 Dec to the address given.\n"
                                         "Signed for by the customer.")
    page.get_by_role("button", name="Contest").click()
    expect(page.locator(".flash")).to_contain_text("our team will look at your evidence")
    expect(page.locator("#dispute-status")).to_have_text("contested")
    expect(page.locator("#evidence")).to_contain_text("Signed for by the customer.")
    expect(page.locator("#contest-form")).to_have_count(0)
    fits_the_screen(page)
    assert event_types(db, shop) == ["dispute.opened", "dispute.contested"]
