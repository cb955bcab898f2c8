"""End-to-end tests in a real browser: headless Debian Chromium, driven by
Playwright, against the user app served over HTTP by waitress.

Each browser context has its own cookies, so each is one person on one phone.
"""
from __future__ import annotations

import re
import threading
import urllib.request

import pytest
import waitress
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select

from wallet.models import User

from .wallet_helpers import PASSWORD, balance, make_user

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own browsers are not installed
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ASHA, RAVI, MEERA = "+919876543210", "+919812345678", "+919988776655"


@pytest.fixture
def live_server(user_wsgi):
    """The user app on a free port of 127.0.0.1, served from a background thread."""
    server = waitress.create_server(user_wsgi, host="127.0.0.1", port=0, threads=4)
    base_url = f"http://127.0.0.1:{server.effective_port}"
    thread = threading.Thread(target=server.run, name="waitress-loop", daemon=True)
    thread.start()
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
        assert response.status == 200  # answered by the server thread: it is up
    yield base_url
    server.close()  # stops listening; the loop thread ends with the last connection
    server.task_dispatcher.shutdown()  # close() leaves the 4 worker threads running
    thread.join(timeout=5)
    assert not thread.is_alive()


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


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
    form.get_by_role("button", name="Create wallet").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def log_in(page: Page, phone: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    form = page.locator("#login-form")
    form.locator("#phone").fill(phone)
    form.locator("#password").fill(password)
    form.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def send(page: Page, phone: str, amount: str, note: str = "") -> None:
    """Fills in and submits the send form; the caller checks the outcome."""
    page.goto("/send")
    form = page.locator("#send-form")
    form.locator("#phone").fill(phone)
    form.locator("#amount").fill(amount)
    form.locator("#note").fill(note)
    form.get_by_role("button", name="Send").click()


def expect_sent(page: Page, amount: str, to: str) -> None:
    expect(page).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
    expect(page.get_by_role("status")).to_have_text(re.compile("Sent!"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"−{amount}")
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
