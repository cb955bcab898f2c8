"""Sessions in a real browser (headless Chromium, Playwright, the user app over
HTTP): a cookie copied into another browser works only while its session
lives on the server -- "sign out everywhere else" and logging out end it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..wallet_helpers import PASSWORD, make_user

pytestmark = pytest.mark.browser

ASHA = "+919876543210"


@pytest.fixture
def new_context(chromium, live_server):
    contexts = []

    def open_context() -> BrowserContext:
        context = chromium.new_context(base_url=live_server, locale="en-IN")
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:  # before live_server stops
        context.close()


def log_in(context: BrowserContext) -> Page:
    page = context.new_page()
    page.goto("/login")
    form = page.locator("#login-form")
    form.locator("#phone").fill("98765 43210")
    form.locator("#password").fill(PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    return page


def stolen(new_context, context: BrowserContext) -> Page:
    """A page in another browser holding a copy of ``context``'s cookies."""
    thief = new_context()
    thief.add_cookies(context.cookies())
    return thief.new_page()


def signed_in(page: Page) -> bool:
    page.goto("/dashboard")
    return not re.search(r"/login", page.url)


def test_sign_out_everywhere_else_and_log_out_kill_copied_cookies(db, new_context):
    make_user(db, ASHA, "Asha Verma")
    laptop, phone = new_context(), new_context()
    laptop_page, phone_page = log_in(laptop), log_in(phone)
    copy_of_laptop = stolen(new_context, laptop)
    assert signed_in(copy_of_laptop)

    phone_page.get_by_role("link", name="Account").click()
    expect(phone_page.locator("#other-sessions")).to_contain_text("1 other browser")
    phone_page.get_by_role("button", name="Sign out everywhere else").click()
    expect(phone_page.get_by_role("status")).to_have_text("Signed out everywhere else.")
    expect(phone_page.locator("#other-sessions")).to_have_attribute("data-count", "0")
    assert not signed_in(laptop_page) and not signed_in(copy_of_laptop)

    copy_of_phone = stolen(new_context, phone)
    assert signed_in(copy_of_phone) and signed_in(phone_page)
    phone_page.get_by_role("button", name="Log out").click()
    expect(phone_page).to_have_url(re.compile(r"/login$"))
    assert not signed_in(copy_of_phone)
