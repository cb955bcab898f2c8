"""Phones proved by a code, in headless Chromium at a phone's size (375×812):
sign up with the code read from the development outbox page (/dev/sms), and
recover a forgotten password the same way."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..wallet_helpers import PASSWORD, make_user

pytestmark = pytest.mark.browser

PHONE_VIEWPORT = {"width": 375, "height": 812}
NEW_PASSWORD = "tamarind monsoon 77"


@pytest.fixture
def phone(chromium, live_server):
    context: BrowserContext = chromium.new_context(base_url=live_server, locale="en-IN",
                                                   viewport=PHONE_VIEWPORT, is_mobile=True)
    yield context.new_page()
    context.close()  # before live_server stops


def code_from_outbox(page: Page, number: str) -> str:
    """The latest code texted to ``number`` (E.164), read in another tab."""
    outbox = page.context.new_page()
    outbox.goto("/dev/sms")
    text = outbox.locator(f"#sms-outbox li[data-phone='{number}'] .sms-text").first.inner_text()
    outbox.close()
    return re.match(r"\d{6}", text).group(0)


def fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"{page.url} scrolls sideways ({width}px)"


def test_sign_up_with_a_code_from_the_outbox(phone: Page):
    phone.goto("/signup")
    form = phone.locator("#signup-form")
    form.locator("#name").fill("Meera Iyer")
    form.locator("#phone").fill("99887 76655")
    form.locator("#password").fill(PASSWORD)
    form.get_by_role("button", name="Send code").click()
    expect(phone).to_have_url(re.compile(r"/signup/verify$"))
    expect(phone.locator("h1")).to_have_text("Check your phone")
    fits_the_screen(phone)
    code = code_from_outbox(phone, "+919988776655")
    phone.locator("#code").fill("000000" if code != "000000" else "111111")
    phone.get_by_role("button", name="Create wallet").click()
    expect(phone.locator("#code-error")).to_contain_text("4 tries left")
    phone.locator("#code").fill(code)
    phone.get_by_role("button", name="Create wallet").click()
    expect(phone).to_have_url(re.compile(r"/dashboard$"))
    expect(phone.locator(".flash")).to_contain_text("Welcome, Meera Iyer")
    fits_the_screen(phone)


def test_recover_a_forgotten_password(phone: Page, db):
    make_user(db, "+919876543210", "Asha Rao")
    phone.goto("/login")
    phone.locator("#forgot-link").click()
    expect(phone).to_have_url(re.compile(r"/password/forgot$"))
    phone.locator("#phone").fill("98765 43210")
    phone.get_by_role("button", name="Send code").click()
    expect(phone).to_have_url(re.compile(r"/password/reset$"))
    fits_the_screen(phone)
    phone.locator("#code").fill(code_from_outbox(phone, "+919876543210"))
    phone.locator("#password").fill(NEW_PASSWORD)
    phone.locator("#repeat").fill(NEW_PASSWORD)
    phone.get_by_role("button", name="Change password").click()
    expect(phone).to_have_url(re.compile(r"/login$"))
    expect(phone.locator(".flash")).to_contain_text("Log in with the new password")
    form = phone.locator("#login-form")
    form.locator("#phone").fill("98765 43210")
    form.locator("#password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(phone).to_have_url(re.compile(r"/dashboard$"))
