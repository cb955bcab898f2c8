"""Every state explained, seen in Chromium at desktop size and on a 375×812
phone: a failed deposit does not look like money in, a reversed withdrawal's
page updates by itself, the merchant's payments table fits a phone; and no
page trips the Content-Security-Policy."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from wallet.core.models import User
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import serving
from ..wallet_helpers import PASSWORD, TEST_BANKS, deposit_service, make_user, withdrawal_service
from .test_browser import log_in
from .test_merchant_app import make_merchant, pay_at
from .test_withdrawals import FAST, ScriptedBank, processor, withdraw

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


@pytest.fixture(params=sorted(SIZES))
def screen(request):
    return request.param


@pytest.fixture
def open_page(chromium, screen):  # noqa: F811 (the imported fixture)
    """A page in a fresh context at the screen size; fails the test on any
    Content-Security-Policy violation the page reports."""
    contexts, violations = [], []

    def open_(base_url: str) -> Page:
        context = chromium.new_context(base_url=base_url, locale="en-IN",
                                       viewport=SIZES[screen])
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text else None)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert violations == []


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_a_failed_deposit_looks_failed(db, live_server, open_page, screen, tmp_path):  # noqa: F811
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    with db() as session, session.begin():
        service = deposit_service(session, TEST_BANKS)
        tx = service.start(session.get(User, asha), "hdfc", 700_00, "form-key-failed-dep1")
        service.settle(tx.token, "failed", bank_code="hdfc", amount_paise=700_00,
                       currency="INR", source="test", reason="declined by customer")
        token = tx.token
    page = open_page(live_server)
    log_in(page, "98765 43210")
    page.goto("/transactions")
    row = page.locator(".activity.kind-deposit").first
    expect(row.locator(".status")).to_have_text("Declined")
    figure = row.locator(".amount-figure")
    expect(figure).to_have_css("text-decoration-line", "line-through")
    expect(figure).not_to_have_css("color", "rgb(10, 125, 56)")  # not the green of money in
    expect(row.locator(".status")).to_have_css("color", "rgb(179, 38, 30)")
    no_sideways_scroll(page)
    page.screenshot(path=tmp_path / f"failed-deposit-list-{screen}.png", full_page=True)
    page.goto(f"/deposits/{token}")
    expect(page.locator("#deposit-status")).to_have_text("Your bank did not send the money")
    expect(page.locator("#deposit-explained")).to_contain_text(
        "HDFC Bank's reason: declined by customer")
    expect(page.locator("#deposit-amount")).to_have_css("text-decoration-line", "line-through")
    no_sideways_scroll(page)
    page.screenshot(path=tmp_path / f"failed-deposit-{screen}.png", full_page=True)


def test_a_reversed_withdrawal_updates_by_itself(db, runner, live_server, open_page,  # noqa: F811
                                                  screen, tmp_path):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    tx_id = withdraw(db, asha, 400_00, "form-key-000000000001")
    processor(runner, ScriptedBank(), FAST).drain(asha, "w1")
    page = open_page(live_server)
    log_in(page, "98765 43210")
    page.goto(f"/withdrawals/{tx_id}")
    expect(page.locator("#withdrawal-status")).to_have_attribute("data-status", "completed")
    with db() as session, session.begin():  # the bank returns it while the page is open
        withdrawal_service(session, TEST_BANKS).settle_by_reference(
            f"wd_{tx_id}", "reversed", bank_code="hdfc", amount_paise=400_00, currency="INR",
            source="webhook", reason="beneficiary account closed")
    # No reload by the test: the page refreshes itself until the payout is final.
    expect(page.locator("#withdrawal-status")).to_have_attribute("data-status", "reversed",
                                                                 timeout=15_000)
    expect(page.locator("#withdrawal-status")).to_contain_text("Returned by your bank")
    expect(page.locator("#reason")).to_have_text("beneficiary account closed")
    stopped = page.locator("#lifecycle li.stopped")
    expect(stopped).to_have_text("Returned")
    expect(stopped).to_have_css("border-top-color", "rgb(179, 38, 30)")
    no_sideways_scroll(page)
    page.screenshot(path=tmp_path / f"reversed-withdrawal-{screen}.png", full_page=True)


@pytest.fixture
def merchant_server(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test"})
    with serving(app) as base_url:
        yield base_url
    dispose_app_engine(app)


def test_merchant_payments_table_fits_a_phone(db, merchant_server, open_page, screen,
                                              tmp_path):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=10_000_00)
    make_merchant(db)
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(4):
        pay_at(db, asha, "chai-point", 1_234_56 + i, now - dt.timedelta(hours=i),
               f"form-key-table-{i:05d}")
    page = open_page(merchant_server)
    page.goto("/login")
    page.locator("#email").fill("chai@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    page.goto("/payments")
    rows = page.locator("#payments tbody tr")
    expect(rows).to_have_count(4)
    width = page.viewport_size["width"]
    for i in range(4):
        amount = rows.nth(i).locator("td.amount").first.bounding_box()
        when = rows.nth(i).locator("td.when")
        assert amount["x"] >= 0 and amount["x"] + amount["width"] <= width, amount
        line = float(when.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 24"))
        assert when.bounding_box()["height"] <= 2.5 * line  # not five lines of a date
    no_sideways_scroll(page)
    page.screenshot(path=tmp_path / f"merchant-payments-{screen}.png", full_page=True)


@pytest.mark.parametrize("screen", ["desktop"])
def test_every_page_works_under_the_content_security_policy(db, live_server, merchant_server,  # noqa: F811
                                                            api_settings, open_page, screen):
    """Every page of the user and merchant apps, and the API's Swagger page,
    load with no CSP violation (the fixture fails the test on any)."""
    import api_app

    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    make_merchant(db)
    pay_at(db, asha, "chai-point", 100_00, dt.datetime.now(dt.timezone.utc), "form-key-csp-0001")
    page = open_page(live_server)
    for path in ("/login", "/signup"):
        page.goto(path)
    log_in(page, "98765 43210")
    for path in ("/dashboard", "/add-money", "/send", "/pay", "/pay/chai-point", "/withdraw",
                 "/transactions", "/notifications", "/no-such-page"):
        page.goto(path)
        expect(page.locator("body")).to_have_css("background-color", "rgb(243, 246, 250)")
    shop = open_page(merchant_server)
    shop.goto("/login")
    shop.locator("#email").fill("chai@example.com")
    shop.locator("#password").fill(PASSWORD)
    shop.locator("#login-form button[type=submit]").click()
    expect(shop).to_have_url(re.compile(r"/dashboard$"))
    expect(shop.locator(".qr-row img")).to_have_js_property("complete", True)
    for path in ("/payments", "/payments?from=junk", "/settle", "/bank-accounts", "/pin/reset",
                 "/notices", "/api-keys", "/webhooks", "/settings/checkout"):
        shop.goto(path)
        expect(shop.locator("body")).to_have_css("background-color", "rgb(243, 246, 250)")
    api = api_app.main({}, **api_settings)
    try:
        with serving(api) as api_url:
            docs = open_page(api_url)
            docs.goto("/docs")
            # Swagger UI's scripts and styles run under the page's own policy
            # (test_api_docs_browser.py checks it renders the 3.1 document).
            expect(docs.locator(".swagger-ui .topbar")).to_be_visible(timeout=15_000)
            expect(docs.locator(".swagger-ui input")).to_have_value("/v1/openapi.json")
            docs.context.close()  # its connections, before the server stops
    finally:
        dispose_app_engine(api)
