"""The console in headless Chromium: an operator signs in with a TOTP code and
resolves a stuck (needs_review) withdrawal; the console asks the bank first and
refuses to contradict it."""
from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from wallet.core.models import Transaction
from wallet.operations.models import AuditEntry

from ..conftest import dispose_app_engine
from ..live_servers import BrowserThread, http, serving
from ..wallet_helpers import TEST_BANKS, balance, make_user
from . import test_admin
from .test_admin import needs_review
from .test_admin_console import ADMIN_SECRET, OP_PASSWORD, add_operator

bank = test_admin.bank  # a live fake bank (fixture)


@pytest.fixture
def browser():
    browser = BrowserThread()  # (test_browser.py keeps a sync Playwright in this thread)
    yield browser
    browser.close()

pytestmark = pytest.mark.browser


@pytest.fixture
def console_url(web_settings, bank):
    import admin_app

    _, bank_url = bank
    app = admin_app.main({}, **{**web_settings, "admin.session_secret": ADMIN_SECRET,
                                "banks.hdfc.api_url": f"{bank_url}/hdfc/api"})
    with serving(app) as url:
        yield url
    dispose_app_engine(app)


def test_an_operator_resolves_a_stuck_withdrawal(db, runner, bank, console_url, browser):
    _, bank_url = bank
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    stuck = needs_review(db, runner, asha)
    # The bank did pay it (our worker never heard back).
    reply = http("POST", f"{bank_url}/hdfc/api/payouts", headers={
        "Authorization": f"Bearer {TEST_BANKS['hdfc'].api_key}"}, body=(
        f'{{"reference": "wd_{stuck}", "amount_paise": 30000, "account_number": '
        f'"50100012345678", "ifsc": "HDFC0001234"}}'))
    assert reply.status == 200
    totp: pyotp.TOTP = add_operator(db, "olga", "operator")

    def operator(page):
        page.goto("/")
        expect(page.locator("h1")).to_have_text("Sign in")
        page.fill("input[name=name]", "olga")
        page.fill("input[name=password]", OP_PASSWORD)
        page.fill("input[name=code]", totp.now())
        page.click("form button[type=submit] >> text=Sign in")
        expect(page.locator("#who")).to_have_text("olga (operator)")

        page.click("text=Payouts")
        page.click("text=needs_review")
        page.click(f"#payouts a >> text='{stuck}'")
        expect(page.locator("#status")).to_have_text("needs_review")

        resolve = page.locator("form.action", has=page.locator("input[value=not_paid]"))
        # "Not paid" contradicts the bank: refused, nothing changes.
        resolve.locator("input[value=not_paid]").check()
        resolve.locator("input[name=reason]").fill("customer says no money arrived")
        resolve.locator("button").click()
        expect(page.locator("#message")).to_contain_text("the bank says accepted")
        page.go_back()
        page.reload()
        expect(page.locator("#status")).to_have_text("needs_review")

        resolve = page.locator("form.action", has=page.locator("input[value=paid]"))
        resolve.locator("input[value=paid]").check()
        resolve.locator("input[name=reason]").fill("bank statement shows it paid")
        resolve.locator("button").click()
        expect(page.locator(".flash")).to_contain_text("completed (bank says accepted)")
        expect(page.locator("#status")).to_have_text("completed")

        page.click("text=Audit log")
        expect(page.locator("#audit tr.outcome-done")).to_have_count(1)
        expect(page.locator("#audit tr.outcome-refused")).to_have_count(1)

    browser.run(console_url, operator)

    with db() as session:
        assert session.get(Transaction, stuck).status == "completed"
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.action, r.outcome, r.reason) for r in rows] == [
        ("resolve_not_paid", "refused", "customer says no money arrived"),
        ("resolve_paid", "done", "bank statement shows it paid")]
    assert balance(db, asha) == (700_00, 0)
