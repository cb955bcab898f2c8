"""End-to-end tests in a real browser: headless Debian Chromium, driven by
Playwright, against the user app served over HTTP by waitress.

Each browser context has its own cookies, so each is one person on one phone.
The ``chromium`` and ``live_server`` fixtures are in conftest.py (shared).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from wallet.core.models import User

from ..live_servers import confirm_in_browser
from ..wallet_helpers import PASSWORD, PIN, balance, make_user

pytestmark = pytest.mark.browser

ASHA, RAVI, MEERA = "+919876543210", "+919812345678", "+919988776655"


@pytest.fixture
def new_phone(chromium, live_server):
    """Opens a page in a new browser context (its own cookies) on the live app."""
    contexts = []

    def open_page() -> Page:
        context = chromium.new_context(base_url=live_server, locale="en-IN")
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:  # before live_server stops
        context.close()


def sign_up(page: Page, name: str, phone: str, password: str = PASSWORD) -> None:
    page.goto("/signup")
    form = page.locator("#signup-form")
    form.locator("#name").fill(name)
    form.locator("#phone").fill(phone)
    form.locator("#password").fill(password)
    form.get_by_role("button", name="Send code").click()
    expect(page).to_have_url(re.compile(r"/signup/verify$"))
    outbox = page.context.new_page()  # the code texted, from the development outbox
    outbox.goto("/dev/sms")
    text = outbox.locator("#sms-outbox li .sms-text").first.inner_text()
    outbox.close()
    page.locator("#code").fill(re.match(r"\d{6}", text).group(0))
    page.get_by_role("button", name="Create wallet").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def log_in(page: Page, phone: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    form = page.locator("#login-form")
    form.locator("#phone").fill(phone)
    form.locator("#password").fill(password)
    form.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def set_pin_if_asked(page: Page, pin: str = PIN) -> None:
    """A user without a wallet PIN is sent to set one first: set it."""
    if "/pin" in page.url:
        page.locator("#new_pin").fill(pin)
        page.locator("#repeat").fill(pin)
        page.get_by_role("button", name="Set PIN").click()


def send(page: Page, phone: str, amount: str, note: str = "", pin: str = PIN) -> None:
    """Fills in and submits the send form, then confirms with the PIN on the
    confirm page if the form was accepted; the caller checks the outcome."""
    page.goto("/send")
    set_pin_if_asked(page, pin)
    form = page.locator("#send-form")
    form.locator("#phone").fill(phone)
    form.locator("#amount").fill(amount)
    form.locator("#note").fill(note)
    form.get_by_role("button", name="Send").click()
    page.locator("#confirm-form, .error").first.wait_for()
    if page.locator("#confirm-form").count():
        confirm_in_browser(page, pin, "Send now")


def expect_sent(page: Page, amount: str, to: str) -> None:
    expect(page).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
    expect(page.get_by_role("status")).to_have_text(re.compile("Sent!"))
    expect(page.get_by_role("heading", level=1)).to_have_text(amount)  # the success screen
    expect(page.locator("#counterparty")).to_have_text(to)


def open_dashboard(page: Page) -> None:
    page.get_by_role("link", name="Home").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def user_id(db, phone: str) -> int:
    with db() as session:
        return session.scalar(select(User.id).where(User.phone == phone))


def test_new_user_receives_money_and_passes_some_on(db, new_phone, tmp_path):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi")

    meera_page = new_phone()
    sign_up(meera_page, "Meera Iyer", "99887 76655")
    expect(meera_page.get_by_role("status")).to_have_text(
        "Welcome, Meera Iyer! Your wallet is ready.")
    expect(meera_page.locator("#available")).to_have_text("₹0.00")
    expect(meera_page.locator("#held")).to_have_text("Nothing on hold")

    asha_page = new_phone()
    log_in(asha_page, "98765 43210")
    expect(asha_page.locator("#available")).to_have_text("₹1,000.00")
    send(asha_page, "9988776655", "500.00", note="Concert tickets")
    expect_sent(asha_page, "₹500.00", to="Meera Iyer (+91 ••••• 76655)")
    open_dashboard(asha_page)
    expect(asha_page.locator("#available")).to_have_text("₹500.00")

    meera_page.reload()
    expect(meera_page.locator("#available")).to_have_text("₹500.00")
    meera_page.get_by_role("link", name="History").click()
    expect(meera_page).to_have_url(re.compile(r"/transactions$"))
    received = meera_page.locator(".activity.in")
    expect(received).to_have_count(1)
    expect(received.locator(".who strong")).to_have_text("Asha (+91 ••••• 43210)")
    expect(received.locator(".note")).to_have_text("Concert tickets")
    expect(received.locator(".amount")).to_contain_text("+₹500.00")

    send(meera_page, "98123 45678", "120.50", note="Lunch")
    expect_sent(meera_page, "₹120.50", to="Ravi (+91 ••••• 45678)")
    open_dashboard(meera_page)
    expect(meera_page.locator("#available")).to_have_text("₹379.50")
    expect(meera_page.locator(".activity")).to_have_count(2)  # newest first
    expect(meera_page.locator(".activity").first).to_contain_text("Ravi")

    ravi_page = new_phone()
    log_in(ravi_page, "98123 45678")
    expect(ravi_page.locator("#available")).to_have_text("₹120.50")
    ravi_page.get_by_role("link", name="History").click()
    expect(ravi_page.locator(".activity.in .who strong")).to_have_text(
        "Meera Iyer (+91 ••••• 76655)")
    expect(ravi_page.locator(".activity.in .amount")).to_contain_text("+₹120.50")

    meera_page.reload()
    expect(meera_page.locator("body")).to_have_css(  # style.css was served and applied
        "background-color", "rgb(243, 246, 250)")
    meera_page.screenshot(path=tmp_path / "meera-dashboard.png", full_page=True)

    meera = user_id(db, MEERA)
    assert balance(db, meera) == (379_50, 0)
    assert balance(db, asha) == (500_00, 0)
    assert balance(db, ravi) == (120_50, 0)


def test_refused_amounts_show_the_error_and_move_nothing(db, new_phone):
    meera = make_user(db, MEERA, "Meera Iyer", deposit_paise=200_00)
    ravi = make_user(db, RAVI, "Ravi")
    page = new_phone()
    log_in(page, "99887 76655")

    send(page, "98123 45678", "1e3")
    expect(page.locator("#amount-error")).to_have_text(
        "Enter the amount in rupees, like 250 or 250.50.")
    expect(page.locator("#amount")).to_have_value("1e3")  # the form keeps her input

    send(page, "98123 45678", "200.01")
    expect(page.locator("#amount-error")).to_have_text(
        "Your available balance is ₹200.00: not enough to send ₹200.01.")
    expect(page.locator("#available")).to_have_text("₹200.00")

    open_dashboard(page)
    expect(page.locator("#available")).to_have_text("₹200.00")
    assert balance(db, meera) == (200_00, 0)
    assert balance(db, ravi) == (0, 0)
