"""In headless Chromium: Asha pays Chai Point at the counter; her success
screen shows the signed receipt's QR code (and its text, with a copy button);
at the counter the shop checks it on /verify: genuine, and a tampered copy NOT
genuine."""
from __future__ import annotations

import re

import pytest
import segno

from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import BrowserThread, confirm_in_browser, serving
from ..wallet_helpers import PASSWORD, PIN, make_user
from .test_merchant_app import make_merchant

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    browser = BrowserThread()
    yield browser
    browser.close()


@pytest.fixture
def merchant_wsgi(web_settings):
    app = merchant_main({}, **web_settings)
    yield app
    dispose_app_engine(app)


def test_the_success_screen_shows_the_receipt_qr_and_the_counter_checks_it(
        browser, user_wsgi, merchant_wsgi, db, tmp_path):
    make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)
    make_merchant(db)
    with serving(user_wsgi) as user_url, serving(merchant_wsgi) as merchant_url:

        def customer(page) -> str:
            from playwright.sync_api import expect

            page.goto("/login")
            page.fill("#phone", "98765 43210")
            page.fill("#password", PASSWORD)
            page.click("#login-form button")
            page.goto("/pay/chai-point")
            page.fill("#amount", "250")
            page.locator("#pay-form button[type=submit]").click()
            confirm_in_browser(page, PIN, "Pay now")
            expect(page).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
            expect(page.locator("#receipt-qr")).to_be_visible()
            assert page.eval_on_selector("#receipt-qr", "img => img.naturalWidth") > 100
            expect(page.locator("#receipt-summary")).to_contain_text(
                "₹250.00 to Chai Point (@chai-point) at ")
            expect(page.locator("#receipt-copy")).to_be_visible()  # (its script ran)
            page.screenshot(path=tmp_path / "receipt.png", full_page=True)
            text = page.locator("#receipt-text").input_value()
            # The QR code is the receipt's text (segno drew it from exactly that).
            src = page.get_attribute("#receipt-qr", "src")
            assert src == segno.make(text, error="m").svg_data_uri(scale=4, border=2)
            return text

        text = browser.run(user_url, customer)

        def counter(page) -> None:
            from playwright.sync_api import expect

            page.goto("/login")
            page.fill("#email", "chai@example.com")
            page.fill("#password", PASSWORD)
            page.click("#login-form button")
            page.get_by_role("link", name="Check receipt").click()
            page.fill("#receipt", text)
            page.click("#verify-button")
            expect(page.locator("#verdict")).to_have_attribute("data-genuine", "yes")
            expect(page.locator("#verdict .verdict-word")).to_have_text("✔ Genuine")
            expect(page.locator("#verdict-summary")).to_contain_text(
                "₹250.00 to Chai Point (@chai-point)")
            page.screenshot(path=tmp_path / "genuine.png", full_page=True)
            # A fraudster edits the amount's bytes: NOT genuine.
            tampered = text[:40] + ("Z" if text[40] != "Z" else "Y") + text[41:]
            page.fill("#receipt", tampered)
            page.click("#verify-button")
            expect(page.locator("#verdict")).to_have_attribute("data-genuine", "no")
            expect(page.locator("#verdict .verdict-word")).to_have_text("✘ NOT genuine")
            page.screenshot(path=tmp_path / "fake.png", full_page=True)

        browser.run(merchant_url, counter)
