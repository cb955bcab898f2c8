"""The phone-first user app in Chromium, on a 375×812 phone and a 1280×800
desktop: the bottom tab bar (phone only) and each tab's page, the header on
one line, transaction rows on at most two lines, the big success screen after
a send (tick, amount, recipient, reference, the receipt QR, Share receipt or
its copy-link fallback) and "Pay again" filling the send form. Screenshots
go to /tmp/phone-browser/ (look at them)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ..wallet_helpers import PIN, make_user
from .test_browser import log_in
from .test_merchant_app import make_merchant

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
ASHA, RAVI = "+919876543210", "+919812345678"
SHOTS = Path("/tmp/phone-browser")


@pytest.fixture(params=list(SCREENS))
def screen(request):
    return request.param


@pytest.fixture
def page(screen, chromium, live_server):
    """A page at the screen size; fails the test on a CSP violation."""
    context = chromium.new_context(base_url=live_server, locale="en-IN",
                                   viewport=SCREENS[screen])
    violations: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert violations == []


def shot(page: Page, name: str, screen: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{screen}.png", full_page=True)


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def one_line(page: Page, selector: str) -> None:
    """Every visible child of ``selector`` sits on one line (their boxes overlap vertically)."""
    boxes = [b for b in (child.bounding_box() for child in
                         page.locator(f"{selector} > *:visible").all()) if b]
    assert boxes
    top = max(b["y"] for b in boxes)
    bottom = min(b["y"] + b["height"] for b in boxes)
    assert top < bottom, f"{selector} wraps: {boxes}"


def header_on_one_line(page: Page) -> None:
    header = page.locator("header.topbar").bounding_box()
    assert header and header["height"] < 60, header
    one_line(page, "header.topbar")
    one_line(page, "header.topbar nav")


def send_money(page: Page, phone: str | None, amount: str) -> None:
    if phone is not None:
        page.locator("#phone").fill(phone)
    page.locator("#amount").fill(amount)
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="Send now").click()
    expect(page).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))


def test_tabs_on_a_phone_top_navigation_on_a_desktop(db, page, screen):
    make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    log_in(page, "98765 43210")
    tabbar = page.locator("#tabbar")
    header_on_one_line(page)
    fits(page)
    shot(page, "dashboard", screen)
    if screen == "desktop":
        expect(tabbar).to_be_hidden()
        expect(page.locator("header nav #nav-me")).to_be_visible()
        page.locator("#nav-me").click()
        expect(page.locator("#me-name")).to_have_text("Asha Verma")
        header_on_one_line(page)
        return
    expect(tabbar).to_be_visible()
    bar = tabbar.bounding_box()
    assert bar and abs(bar["y"] + bar["height"] - 812) < 1  # fixed to the bottom
    assert page.locator("header nav > a:visible").count() == 1  # the bell alone
    one_line(page, "#tabbar")
    expect(tabbar.locator("[aria-current=page]")).to_have_id("tab-home")
    for tab, url, check in [
        ("tab-pay", r"/send$", "#send-form"),
        ("tab-history", r"/transactions$", "h1"),
        ("tab-me", r"/me$", "#me-name"),
        ("tab-home", r"/dashboard$", "#available"),
    ]:
        page.locator(f"#{tab}").click()
        expect(page).to_have_url(re.compile(url))
        expect(page.locator(check).first).to_be_visible()
        expect(page.locator("#tabbar [aria-current=page]")).to_have_id(tab)
        header_on_one_line(page)
        fits(page)
        shot(page, tab, screen)
    # Scan is another module's page: the tab links to its path.
    scan = page.locator("#tab-scan")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/scan", scan.get_attribute("href") or "")
    # The last of a long page is not hidden under the bar.
    page.locator("#tab-me").click()
    last = page.locator("#me-logout-form button")
    last.scroll_into_view_if_needed()
    box = last.bounding_box()
    assert box and box["y"] + box["height"] <= tabbar.bounding_box()["y"]


def test_success_screen_then_pay_again(db, page, screen):
    make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi Kumar")
    make_merchant(db)
    log_in(page, "98765 43210")
    page.goto("/send")
    send_money(page, "98123 45678", "250")
    done = page.locator("#done")
    expect(done.locator(".done-tick")).to_be_visible()
    expect(page.locator("#done-amount")).to_have_text("₹250.00")
    expect(page.locator("#done-to")).to_have_text("Sent to Ravi Kumar (+91 ••••• 45678)")
    expect(page.locator("#done-reference")).to_have_text(re.compile(r"^TXN\d{8}$"))
    expect(page.locator("#receipt-qr")).to_be_visible()
    tick = done.locator(".done-tick").bounding_box()
    assert tick and tick["width"] >= 60  # big
    # Headless Chromium on Linux has no share sheet: the copy-link fallback shows.
    expect(page.locator("#share-receipt")).to_be_hidden()
    copy = page.locator("#copy-receipt-link")
    expect(copy).to_be_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy.click()
    expect(copy).to_have_text("Link copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "/receipts/verify?receipt=WR1." in copied
    fits(page)
    shot(page, "sent", screen)

    page.goto("/dashboard")
    again = page.get_by_role("link", name="Pay Ravi Kumar again")
    expect(again).to_be_visible()
    shot(page, "pay-again", screen)
    again.click()
    expect(page.locator("#phone")).to_have_value(RAVI)
    send_money(page, None, "10")
    expect(page.locator("#done-amount")).to_have_text("₹10.00")

    # The send page's recent contacts: a tap fills the phone (no reload).
    page.goto("/send")
    page.locator("#recent-contacts a.contact").first.click()
    expect(page.locator("#phone")).to_have_value(RAVI)
    expect(page.locator("#amount")).to_be_focused()
    assert page.url.endswith("/send")
    fits(page)
    shot(page, "send-contacts", screen)

    # A shop paid: its own success screen.
    page.goto("/pay/chai-point")
    page.locator("#amount").fill("45")
    page.get_by_role("button", name="Pay", exact=True).click()
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="Pay now").click()
    expect(page.locator("#done-to")).to_have_text("Paid to Chai Point (@chai-point)")
    expect(page.locator("#done-amount")).to_have_text("₹45.00")
    fits(page)
    shot(page, "paid-shop", screen)


def test_transaction_rows_take_two_lines_at_most(db, page, screen):
    make_user(db, ASHA, "Asha Verma", deposit_paise=5_000_00)
    make_user(db, RAVI, "Ravi Kumar Venkatanarayanan Subramaniam")
    log_in(page, "98765 43210")
    page.goto("/send")
    page.locator("#note").fill("Rent share for December and the electricity bill too")
    send_money(page, "98123 45678", "2500")  # a first payment above ₹2,000: held, "Undo until"
    expect(page.locator("#sent-held")).to_be_visible()
    page.goto("/transactions")
    rows = page.locator(".activity a")
    expect(rows).to_have_count(2)
    expect(page.locator(".activity .held-transfer")).to_have_count(1)
    line = float(page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.activity .who')).lineHeight)"))
    for i in range(rows.count() if screen == "phone" else 0):
        box = rows.nth(i).bounding_box()
        assert box and box["height"] <= 2 * line * 1.35 + 20, (i, box)  # two lines + padding
    fits(page)
    shot(page, "history", screen)


@pytest.mark.parametrize("width", [641, 768, 1024, 1280])
def test_top_navigation_on_one_line_from_tablet_to_desktop(db, chromium, live_server, width):
    """No tab bar above 640px; the top navigation on one line, every entry in
    sight (a tablet leaves out what the Me page and the dashboard reach)."""
    make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    context = chromium.new_context(base_url=live_server, locale="en-IN",
                                   viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        log_in(page, "98765 43210")
        expect(page.locator("#tabbar")).to_be_hidden()
        header_on_one_line(page)
        fits(page)
        nav = page.evaluate("(n => [n.scrollWidth, n.clientWidth])"
                            "(document.querySelector('header nav'))")
        assert nav[0] <= nav[1], nav  # nothing scrolled out of sight
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SHOTS / f"width-{width}.png")
    finally:
        context.close()
