"""The operators' console looks like the other apps (admin_app/static/console.css):
the top bar, white table cards, badges for statuses, round buttons; at
1280×800 and on a 375×812 phone no page scrolls sideways (a wide table scrolls
inside itself), and no page trips the Content-Security-Policy. Screenshots of
each page are left in the test's tmp_path."""
from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import Page, expect

from ..conftest import dispose_app_engine
from ..live_servers import serving
from ..wallet_helpers import make_user
from .test_admin import needs_review
from .test_admin_console import ADMIN_SECRET, OP_PASSWORD, add_operator
from .test_console_tickets import Clock, report, send

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
DARK_BLUE, BACKGROUND, WHITE = "rgb(0, 46, 110)", "rgb(243, 246, 250)", "rgb(255, 255, 255)"


@pytest.fixture
def console_url(web_settings):
    import admin_app

    app = admin_app.main({}, **{**web_settings, "admin.session_secret": ADMIN_SECRET})
    try:
        with serving(app) as url:
            yield url
    finally:
        dispose_app_engine(app)


@pytest.fixture
def console_data(db, runner):
    """A payout that needs review, a completed transfer and a ticket about it."""
    asha = make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)
    make_user(db, "+919812345678", "Ravi Kumar")
    payout = needs_review(db, runner, asha)
    clock = Clock()
    transfer = send(db, clock, asha, "+919812345678", 120_00)
    ticket = report(db, clock, asha, transfer, "wrong_person", "Meant for my brother")
    return payout, ticket


def sign_in(page: Page, totp: pyotp.TOTP) -> None:
    page.goto("/")
    page.fill("input[name=name]", "olga")
    page.fill("input[name=password]", OP_PASSWORD)
    page.fill("input[name=code]", totp.now())
    page.click("form button[type=submit] >> text=Sign in")
    expect(page.locator("#who")).to_have_text("olga (operator)")


def looks_like_the_apps(page: Page, screen: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[screen]["width"], f"{page.url} is {width}px wide"
    expect(page.locator("body")).to_have_css("background-color", BACKGROUND)
    expect(page.locator("header.topbar")).to_have_css("background-color", DARK_BLUE)
    for table in page.locator("main table").all():
        expect(table).to_have_css("background-color", WHITE)
        box = table.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[screen]["width"], page.url


@pytest.mark.parametrize("screen", sorted(SIZES))
def test_the_console_is_styled_and_fits_both_screens(chromium, db, console_url, console_data,
                                                     screen, tmp_path):
    payout, ticket = console_data
    totp = add_operator(db, "olga", "operator")
    context = chromium.new_context(base_url=console_url, locale="en-IN", viewport=SIZES[screen])
    violations: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.goto("/login")
        looks_like_the_apps(page, screen)
        button = page.locator("main form button[type=submit]")
        expect(button).to_have_css("background-color", DARK_BLUE)
        expect(button).to_have_css("border-top-left-radius", "999px")
        page.screenshot(path=tmp_path / f"console-login-{screen}.png", full_page=True)
        sign_in(page, totp)

        pages = {"overview": "/", "payouts": "/payouts", "payout": f"/payouts/{payout}",
                 "lookup": "/lookup?q=98765+43210", "tickets": "/tickets",
                 "ticket": f"/tickets/{ticket}", "deposits": "/deposits",
                 "reconciliation": "/reconciliation", "audit": "/audit",
                 "fraud-holds": "/fraud-holds", "disputes": "/disputes", "account": "/account"}
        for name, path in pages.items():
            page.goto(path)
            looks_like_the_apps(page, screen)
            page.screenshot(path=tmp_path / f"console-{name}-{screen}.png", full_page=True)

        page.goto("/payouts")
        # The section is marked in the nav; a status is a badge in its colour.
        expect(page.locator("nav a[aria-current=page]")).to_have_text("Payouts")
        badge = page.locator("#payouts .badge", has_text="needs_review")
        expect(badge).to_have_class("badge warn")
        expect(badge).to_have_css("color", "rgb(138, 75, 0)")
        expect(badge).to_have_css("border-top-left-radius", "999px")
        page.goto(f"/payouts/{payout}")
        expect(page.locator("#status")).to_have_text("needs_review")
        expect(page.locator("#status")).to_have_class("badge warn")
        expect(page.locator("nav a[aria-current=page]")).to_have_text("Payouts")
        # The action forms are cards whose fields fit the screen.
        for field in page.locator("form.action input[name=reason]").all():
            box = field.bounding_box()
            assert box["x"] + box["width"] <= SIZES[screen]["width"]
        page.goto("/lookup?q=98765+43210")
        expect(page.locator("#movements .badge.good").first).to_have_text("completed")
        page.goto(f"/tickets/{ticket}")
        expect(page.locator("#status")).to_have_class("badge warn")  # open: waiting for us
    finally:
        context.close()  # its connections, before the server stops
    assert violations == []
