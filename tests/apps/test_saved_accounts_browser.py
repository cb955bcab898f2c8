"""Saved bank accounts in a real browser (Chromium) on a 375×812 phone, the
holder's name from the real fake bank over HTTP: save an account (the name
shown back, a wrong PIN refused, the right one saves it), then withdraw to it
from the withdraw form, where it is offered first; the devices page lists
this phone."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

import fake_bank
from wallet.banking.models import UserBankAccount, Withdrawal

from ..conftest import BANK_SETTINGS
from ..live_servers import banks_served_by, serving
from ..wallet_helpers import PIN, balance, make_user
from .test_browser import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
#: The fake bank's first demo customer at its first bank (hdfc): Asha Verma.
DEMO_ACCOUNT, IFSC = "50100000000000", "HDFC0001234"


@pytest.fixture
def fake_bank_url(tmp_path):
    app = fake_bank.main({}, **{
        **BANK_SETTINGS, "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'fb.sqlite'}",
        "fake_bank.webhook_url": "http://127.0.0.1:9/webhooks/{bank}",
        "fake_bank.sender": "off", "fake_bank.seed": "7"})
    try:
        with serving(app) as url:
            yield url
    finally:
        app.registry["fb.session_factory"].kw["bind"].dispose()


@pytest.fixture
def web_settings(web_settings, fake_bank_url):
    """The user app asks the fake bank whose account it is."""
    settings = dict(web_settings)
    banks_served_by(settings, fake_bank_url, ("hdfc", "axis"))
    return settings


@pytest.fixture
def phone(chromium, live_server):
    context = chromium.new_context(base_url=live_server, locale="en-IN", viewport=PHONE,
                                   user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 8) "
                                   "AppleWebKit/537.36 (KHTML, like Gecko) "
                                   "Chrome/120.0.0.0 Mobile Safari/537.36")
    yield context.new_page()
    context.close()


def fits_the_screen(page: Page) -> None:
    """Nothing wider than the phone: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_save_an_account_then_withdraw_to_it_on_a_phone(db, phone):
    asha = make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)
    page = phone
    log_in(page, "98765 43210")
    page.goto("/me/bank-accounts")
    expect(page.locator("#no-accounts")).to_be_visible()
    page.locator("#account_number").fill(DEMO_ACCOUNT)
    page.locator("#repeat_account_number").fill(DEMO_ACCOUNT)
    page.locator("#ifsc").fill(IFSC)
    fits_the_screen(page)
    page.get_by_role("button", name="Check account").click()
    expect(page.locator("#confirm-question")).to_have_text("Save HDFC Bank a/c ••••0000?")
    expect(page.locator("#confirm")).to_contain_text(
        "HDFC Bank says this account is in the name of Asha Verma.")
    fits_the_screen(page)
    page.locator("#pin").fill("9753")  # wrong: nothing saved
    page.get_by_role("button", name="Save account").click()
    expect(page.locator("#pin-error")).to_contain_text("Wrong PIN")
    with db() as session:
        assert session.scalars(select(UserBankAccount)).all() == []
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="Save account").click()
    expect(page.locator("#saved-accounts")).to_contain_text("Asha Verma")
    fits_the_screen(page)

    page.locator("#withdraw-link").click()
    expect(page).to_have_url(re.compile(r"/withdraw$"))
    saved = page.locator(".saved-account input")
    expect(saved).to_be_checked()  # offered first
    expect(page.locator("#typed-details")).not_to_have_attribute("open", "")
    page.locator("#amount").fill("250")
    fits_the_screen(page)
    page.get_by_role("button", name="Withdraw", exact=True).click()
    expect(page.locator("#confirm-question")).to_have_text(
        "Withdraw ₹250.00 to Asha Verma, HDFC Bank a/c ••••••0000?")
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="Withdraw now").click()
    expect(page).to_have_url(re.compile(r"/withdrawals/\d+$"))
    fits_the_screen(page)
    tx_id = int(page.url.rsplit("/", 1)[1])
    with db() as session:
        assert session.get(Withdrawal, tx_id).account_number == DEMO_ACCOUNT
    assert balance(db, asha) == (750_00, 250_00)

    page.goto("/me/devices")
    expect(page.locator("#device-list .device")).to_have_count(1)
    expect(page.locator(".this-device")).to_be_visible()
    expect(page.locator("#device-list")).to_contain_text("Chrome 120 on Android 14")
    expect(page.locator("#device-list")).to_contain_text("Location not known")
    fits_the_screen(page)
