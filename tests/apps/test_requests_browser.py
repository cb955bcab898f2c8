"""Money requests and split bills in Chromium, at desktop size and on a
375×812 phone: a request asked, then paid through the confirm step with the
PIN; a bill split among three, two of them pay, and the split's page says who
has paid and what is outstanding."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ..wallet_helpers import PIN, balance, make_user
from .test_browser import log_in

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
ASHA, RAVI, MEERA, ZOYA = "+919876543210", "+919812345678", "+919900011122", "+919900033344"


@pytest.fixture(params=list(SCREENS))
def person(request, chromium, live_server):
    """A function giving a page of a new browser context (one person on one
    device) on the live app, at the screen size, signed in as ``phone``."""
    contexts = []

    def signed_in(phone: str) -> Page:
        context = chromium.new_context(base_url=live_server, locale="en-IN",
                                       viewport=SCREENS[request.param])
        contexts.append(context)
        page = context.new_page()
        log_in(page, phone)
        return page

    yield signed_in
    for context in contexts:
        context.close()


def fits_the_screen(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_ask_then_pay_the_request_with_the_pin(db, person):
    asha = make_user(db, ASHA, "Asha Verma")
    ravi = make_user(db, RAVI, "Ravi Kumar", deposit_paise=1_000_00)
    page = person("98765 43210")
    page.get_by_role("link", name="Requests").click()
    page.get_by_role("link", name="Ask for money").click()
    page.locator("#phone").fill("98123 45678")
    page.locator("#amount").fill("250.50")
    page.locator("#note").fill("Dinner")
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#request-status")).to_have_text("pending")
    fits_the_screen(page)

    payer = person("98123 45678")
    payer.goto("/notifications")
    expect(payer.locator("#notifications")).to_contain_text(
        "Asha Verma asks you for ₹250.50: Dinner. You have never paid them before.")
    payer.goto("/requests")
    payer.locator("#incoming a").first.click()
    expect(payer.locator("#first-time")).to_contain_text("You have never paid Asha Verma")
    fits_the_screen(payer)
    payer.get_by_role("button", name="Pay ₹250.50").click()
    expect(payer.get_by_role("heading", level=1)).to_have_text(
        "Pay ₹250.50 to Asha Verma (+91 ••••• 43210)?")
    fits_the_screen(payer)
    payer.locator("#pin").fill(PIN)
    payer.get_by_role("button", name="Pay now").click()
    expect(payer).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
    expect(payer.locator("#paid-request")).to_have_text("a money request")
    assert balance(db, ravi) == (749_50, 0) and balance(db, asha) == (250_50, 0)

    page.reload()
    expect(page.locator("#request-status")).to_have_text("paid")
    expect(page.locator("#transaction-link")).to_be_visible()


def test_split_two_of_three_pay_and_the_split_page_shows_it(db, person):
    asha = make_user(db, ASHA, "Asha Verma")
    for phone, name in ((RAVI, "Ravi Kumar"), (MEERA, "Meera Iyer"), (ZOYA, "Zoya Khan")):
        make_user(db, phone, name, deposit_paise=1_000_00)
    page = person("98765 43210")
    page.goto("/requests")
    page.get_by_role("link", name="Split a bill").click()
    page.locator("#title").fill("Trip to Coorg")
    page.locator("#total").fill("1000")
    page.get_by_label("Equally").check()
    for index, phone in enumerate(("98123 45678", "99000 11122", "99000 33344")):
        page.get_by_label(f"Mobile number {index + 2}").fill(phone)  # row 1: Asha herself
    fits_the_screen(page)
    page.get_by_role("button", name="Split and send requests").click()
    expect(page.locator("#split-outstanding")).to_have_text("₹750.00")
    split_url = page.url

    for phone in ("98123 45678", "99000 11122"):
        payer = person(phone)
        payer.goto(split_url)
        payer.get_by_role("link", name="Pay my share").click()
        payer.get_by_role("button", name="Pay ₹250.00").click()
        payer.locator("#pin").fill(PIN)
        payer.get_by_role("button", name="Pay now").click()
        expect(payer).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
        expect(payer.locator("#paid-request")).to_have_text("a share of a split bill")

    page.reload()
    expect(page.locator("#split-paid")).to_have_text("₹750.00")  # Asha's own share and two
    expect(page.locator("#split-outstanding")).to_have_text("₹250.00")
    expect(page.locator("#shares .share-paid")).to_have_count(2)
    expect(page.locator("#shares .share-pending")).to_contain_text("Zoya Khan")
    fits_the_screen(page)
    page.get_by_role("button", name="Remind who has not paid").click()
    expect(page.get_by_role("status")).to_contain_text("Reminded")
    assert balance(db, asha) == (500_00, 0)
