"""Payment links in Chromium on a 375×812 phone: the shop makes a link in
the merchant app (the form refuses a bad amount on the page first), sees its
URL, QR code and WhatsApp share; a customer opens the link, logs in, pays it
at the checkout with the PIN; the shop's link page then shows it paid."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..link_helpers import link_row
from ..live_servers import confirm_in_browser, serving
from ..mandate_helpers import make_shop
from ..wallet_helpers import PASSWORD, PIN, balance, make_user
from .test_stepup_browser import fits_the_screen

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


@pytest.fixture
def servers(web_settings, user_wsgi):
    with serving(user_wsgi) as user_url:
        merchant = merchant_main({}, **{**web_settings, "wallet.user_app_url": user_url})
        try:
            with serving(merchant) as merchant_url:
                yield user_url, merchant_url
        finally:
            dispose_app_engine(merchant)


def phone_page(chromium, base_url: str) -> Page:
    context = chromium.new_context(base_url=base_url, locale="en-IN", viewport=PHONE)
    return context.new_page()


def make_the_link(page: Page) -> str:
    page.goto("/login")
    page.locator("#email").fill("dosa-corner@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    page.goto("/links")
    expect(page.locator(".empty")).to_have_text("No payment links yet.")
    page.locator("#new-link").click()
    fits_the_screen(page)
    page.locator("#description").fill("Table 4 dinner")
    page.locator("#amount").fill("499.005")
    page.locator("#single_use").check()
    page.locator("#reference").fill("table-4")
    page.get_by_role("button", name="Make the link").click()
    expect(page.locator("#amount-error")).to_be_visible()
    expect(page.locator("#description")).to_have_value("Table 4 dinner")
    page.locator("#amount").fill("499")
    page.get_by_role("button", name="Make the link").click()
    expect(page).to_have_url(re.compile(r"/links/plink_[A-Za-z0-9_-]+$"))
    expect(page.locator(".flash")).to_contain_text("Payment link made")
    expect(page.locator("#link-status")).to_have_text("active")
    expect(page.locator("#link-amount")).to_have_text("₹499.00")
    assert page.locator("#link-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    whatsapp = page.locator("#whatsapp").get_attribute("href")
    assert whatsapp is not None and whatsapp.startswith("https://wa.me/?text=")
    fits_the_screen(page)
    url = page.locator("#link-url").get_attribute("href")
    assert url is not None
    return url


def test_a_shop_makes_a_link_and_a_customer_pays_it_on_a_phone(db, chromium, servers):
    user_url, merchant_url = servers
    make_shop(db, "dosa-corner", endpoint=False)
    asha = make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)
    shop_page = phone_page(chromium, merchant_url)
    url = make_the_link(shop_page)
    assert url.startswith(f"{user_url}/l/plink_")

    page = phone_page(chromium, user_url)
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fl%2Fplink_"))
    page.locator("#phone").fill("98765 43210")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(url)
    expect(page.locator("#shop-name")).to_have_text("Dosa-Corner")
    expect(page.locator("#description")).to_have_text("Table 4 dinner")
    expect(page.locator("#amount")).to_have_text("₹499.00")
    fits_the_screen(page)
    page.get_by_role("button", name="Continue to pay").click()
    expect(page).to_have_url(re.compile(r"/checkout/pr_"))
    expect(page.locator("#via-link")).to_be_visible()
    fits_the_screen(page)
    confirm_in_browser(page, PIN, "Confirm and pay ₹499.00")
    expect(page).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
    page.goto(url)
    expect(page.locator("#link-status")).to_contain_text("already been paid")
    page.context.close()

    shop_page.reload()
    expect(shop_page.locator("#link-status")).to_have_text("paid")
    expect(shop_page.locator("#link-paid")).to_have_text("1 payment, ₹499.00")
    expect(shop_page.locator("#link-payments tbody tr")).to_have_count(1)
    shop_page.goto("/links")
    expect(shop_page.locator("#links .link-status")).to_have_text("paid")
    fits_the_screen(shop_page)
    shop_page.context.close()
    assert balance(db, asha) == (501_00, 0)
    assert link_row(db, url.rsplit("/", 1)[1]).uses_count == 1
