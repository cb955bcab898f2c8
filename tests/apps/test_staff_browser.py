"""The people of a shop in a real browser (Chromium), on a desktop screen and
a 375×812 phone: the owner invites a cashier by phone from the People page;
the cashier opens the link in their own browser, sets a password, signs in
with their phone and sees the payments page only -- today's payment at their
store, without a refund button -- and no way to the dashboard or settings."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from ..staff_helpers import STAFF_PASSWORD
from ..wallet_helpers import PASSWORD, make_user
from .test_merchant_app import make_merchant, pay_at
from .test_settlement_browser import merchant_url
from .test_stepup_browser import SCREENS, fits_the_screen

__all__ = ["merchant_url"]  # (a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(params=list(SCREENS))
def new_page(request, chromium, merchant_url):
    """Pages of new browsers (their own cookies) on the merchant app, at the screen size."""
    contexts = []

    def page() -> Page:
        contexts.append(chromium.new_context(base_url=merchant_url, locale="en-IN",
                                             viewport=SCREENS[request.param]))
        return contexts[-1].new_page()

    yield page
    for context in contexts:
        context.close()


def test_owner_invites_a_cashier_who_sees_only_payments(db, new_page):
    make_merchant(db)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    pay_at(db, asha, "chai-point", 120_50, dt.datetime.now(dt.timezone.utc),
           "form-key-staff-browser-1")

    owner = new_page()
    owner.goto("/login")
    owner.locator("#email").fill("chai@example.com")
    owner.locator("#password").fill(PASSWORD)
    owner.locator("#login-form button").click()
    expect(owner).to_have_url(re.compile(r"/dashboard$"))
    owner.locator("#nav-staff").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("People of your shop")
    owner.locator("#name").fill("Ravi")
    owner.locator("#phone").fill("98123 45678")
    owner.locator("#roles input[value=cashier]").check()
    owner.locator("#stores input[type=checkbox]").first.check()
    owner.get_by_role("button", name="Invite").click()
    link = owner.locator("#invite-link").inner_text()
    expect(owner.locator("#people")).to_contain_text("invited")
    fits_the_screen(owner)

    cashier = new_page()
    cashier.goto(link)
    expect(cashier.get_by_role("heading", level=1)).to_have_text("Join Chai Point")
    expect(cashier.locator("#invited-role")).to_have_text("cashier")
    cashier.locator("#password").fill(STAFF_PASSWORD)
    cashier.locator("#repeat").fill(STAFF_PASSWORD)
    cashier.get_by_role("button", name="Set my password").click()
    expect(cashier).to_have_url(re.compile(r"/login$"))
    cashier.locator("#email").fill("98123 45678")
    cashier.locator("#password").fill(STAFF_PASSWORD)
    cashier.locator("#login-form button").click()
    expect(cashier).to_have_url(re.compile(r"/payments$"))
    nav = cashier.locator("header nav")
    expect(nav.get_by_role("link", name="Payments")).to_be_visible()
    for hidden in ("Dashboard", "Settle", "API keys", "People", "Disputes", "Webhooks"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    expect(cashier.locator("main")).to_contain_text("₹120.50")
    fits_the_screen(cashier)
    cashier.locator("main a[href*='/payments/']").first.click()
    expect(cashier.locator("#payment")).to_contain_text("TXN")
    expect(cashier.get_by_role("button", name="Refund")).to_have_count(0)
    expect(cashier.locator("#refund-form")).to_have_count(0)
    cashier.goto("/dashboard")
    expect(cashier.get_by_role("heading", level=1)).to_have_text("Not allowed")

    owner.reload()
    expect(owner.locator("#people")).to_contain_text("active")
