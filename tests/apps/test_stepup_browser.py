"""Step-up and limits in a real browser (Chromium), on a desktop screen and a
375×812 phone: sending with the confirm step and the wallet PIN, and a KYC
upgrade followed by a deposit the minimum-KYC wallet could not take."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ..wallet_helpers import PIN, balance, make_user
from .test_browser import log_in

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
ASHA, RAVI = "+919876543210", "+919812345678"


@pytest.fixture(params=list(SCREENS))
def screen_page(request, chromium, live_server):
    """A page of a new browser context on the live app, at the screen size."""
    context = chromium.new_context(base_url=live_server, locale="en-IN",
                                   viewport=SCREENS[request.param])
    yield context.new_page()
    context.close()


def fits_the_screen(page: Page) -> None:
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_send_with_the_confirm_step_and_the_pin(db, screen_page):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    page = screen_page
    log_in(page, "98765 43210")
    page.goto("/send")
    page.locator("#phone").fill("98123 45678")
    page.locator("#amount").fill("500")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Send ₹500.00 to Ravi Kumar (+91 ••••• 45678)?")
    fits_the_screen(page)
    page.locator("#pin").fill("9753")  # a wrong PIN: nothing moves
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#pin-error")).to_contain_text("Wrong PIN: 4 tries left")
    assert balance(db, asha) == (1_000_00, 0) and balance(db, ravi) == (0, 0)
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="Send now").click()
    expect(page).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
    expect(page.locator("#counterparty")).to_have_text("Ravi Kumar (+91 ••••• 45678)")
    fits_the_screen(page)
    assert balance(db, asha) == (500_00, 0) and balance(db, ravi) == (500_00, 0)


def test_kyc_upgrade_then_a_larger_deposit(db, screen_page):
    make_user(db, "+919988776655", "Meera Iyer", full_kyc=False)
    page = screen_page
    bank_calls: list[str] = []

    def fake_netbanking(route):  # the bank's page: only counted here
        bank_calls.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>HDFC NetBanking</h1>")

    page.route("**/hdfc/netbanking**", fake_netbanking)
    log_in(page, "99887 76655")
    page.goto("/add-money")
    page.locator("#amount").fill("15000")
    page.get_by_role("button", name="Continue to your bank").click()
    expect(page.locator("#amount-error")).to_contain_text(
        "You can add at most ₹10,000.00 now: your wallet holds at most ₹10,000.00.")
    fits_the_screen(page)
    assert bank_calls == []  # refused before the user was sent to the bank

    page.get_by_role("link", name="complete your KYC").click()
    expect(page.locator("#kyc-level")).to_contain_text("Minimum KYC")
    page.locator("#name_on_pan").fill("Meera Iyer")
    page.locator("#pan").fill("ABCDE1234F")
    page.locator("#date_of_birth").fill("1992-05-04")
    page.get_by_role("button", name="Verify and upgrade").click()
    expect(page.locator("#kyc-done")).to_contain_text("Your KYC is complete")
    expect(page.locator("#kyc-level")).to_contain_text("Full KYC")
    fits_the_screen(page)

    page.goto("/add-money")
    page.locator("#amount").fill("15000")
    page.get_by_role("button", name="Continue to your bank").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("HDFC NetBanking")
    assert len(bank_calls) == 1 and "amount_paise=1500000" in bank_calls[0]
