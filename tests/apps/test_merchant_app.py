"""The merchant app, and paying a merchant from the user app."""
from __future__ import annotations

import datetime as dt
import random

import pytest
import webtest
from sqlalchemy import select

from wallet.banking.payouts import PayoutPolicy
from wallet.banking.withdrawals import Owner
from wallet.core.models import Merchant, Transaction, User
from wallet.identity.accounts import AccountService
from wallet.merchants.reports import MerchantReports
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import confirm_in_browser
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    SHOP_PIN,
    TEST_BANKS,
    PinForm,
    balance,
    login,
    make_user,
    payout_processor,
    ready_to_settle,
    shop_payments_service,
    state,
)
from .test_withdrawals import ScriptedBank

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture
def merchant_wsgi(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test"})
    yield app
    dispose_app_engine(app)


@pytest.fixture
def merchant_app(merchant_wsgi):
    return webtest.TestApp(merchant_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})


def make_merchant(db, handle="chai-point", name="Chai Point", email="chai@example.com") -> int:
    with db() as session, session.begin():
        return AccountService(session, bcrypt_rounds=4).signup_merchant(
            handle, name, email, PASSWORD).id


def merchant_login(app, email="chai@example.com", password=PASSWORD):
    form = app.get("/login").forms["login-form"]
    form["email"], form["password"] = email, password
    return form.submit(expect_errors=True)


def pay(user_app, handle="chai-point", amount="120.50", note="2 chai"):
    form = PinForm(user_app.get(f"/pay/{handle}").forms["pay-form"])
    form["amount"], form["note"] = amount, note
    return form


def _merchant_balance(db, merchant_id):
    import ledgerlib

    with db() as session:
        return ledgerlib.Ledger(session).balance(f"merchant:{merchant_id}:wallet").available_paise


@pytest.fixture
def shop(db):
    return make_merchant(db)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


# ------------------------------------------------------------ accounts


def test_merchant_signup_opens_a_wallet_and_logs_in(merchant_app, db):
    form = merchant_app.get("/signup").forms["signup-form"]
    form["name"], form["handle"], form["email"], form["password"] = (
        "Swiggy Kitchen", "swiggy-kitchen", "Ops@Swiggy.in", "s3cret-pass")
    dashboard = form.submit(status=303).follow()
    assert "Swiggy Kitchen" in dashboard.text and "@swiggy-kitchen" in dashboard.text
    assert 'id="today">₹0.00<' in dashboard.text
    with db() as session:
        assert session.scalar(select(Merchant.email)) == "ops@swiggy.in"


@pytest.mark.parametrize("handle, email, password, message", [
    ("Chai Point!", "a@b.in", "s3cret-pass", "lowercase letters"),
    ("ab", "a@b.in", "s3cret-pass", "lowercase letters"),
    ("-chai", "a@b.in", "s3cret-pass", "lowercase letters"),
    ("chai-point", "x@y.in", "s3cret-pass", "already taken"),
    ("new-shop", "chai@example.com", "s3cret-pass", "already taken"),
    ("new-shop", "not-an-email", "s3cret-pass", "email address"),
    ("new-shop", "a@b.in", "short", "at least 8"),
])
def test_merchant_signup_errors_write_nothing(merchant_app, db, shop, handle, email, password,
                                              message):
    before = state(db)
    form = merchant_app.get("/signup").forms["signup-form"]
    form["name"], form["handle"], form["email"], form["password"] = "Shop", handle, email, password
    assert message in form.submit(status=400).text
    assert state(db) == before


def test_merchant_login_throttle_and_logout(merchant_app, shop):
    assert merchant_login(merchant_app, password="wrong-one").status_int == 400
    ok = merchant_login(merchant_app)
    assert ok.status_int == 303
    page = merchant_app.get("/dashboard")
    page.forms["logout-form"].submit(status=303)
    assert "/login" in merchant_app.get("/dashboard", status=303).location
    for _ in range(5):
        merchant_login(merchant_app, password="guess-again")
    assert merchant_login(merchant_app).status_int == 429


def test_user_and_merchant_sessions_never_cross(user_app, merchant_app, asha, shop):
    login(user_app, "+919876543210")
    merchant_app.set_cookie("wallet_user", user_app.cookies["wallet_user"])
    merchant_app.set_cookie("wallet_merchant", user_app.cookies["wallet_user"])
    assert "/login" in merchant_app.get("/dashboard", status=303).location
    merchant_login(merchant_app)
    stolen = merchant_app.cookies["wallet_merchant"]
    fresh = webtest.TestApp(user_app.app)
    fresh.set_cookie("wallet_user", stolen)
    assert "/login" in fresh.get("/dashboard", status=303).location


# --------------------------------------------------------- paying a shop


def test_user_pays_a_shop_and_both_see_it(user_app, merchant_app, db, asha, shop):
    login(user_app, "+919876543210")
    response = pay(user_app).submit(status=303)
    assert "Paid!" in response.follow().text
    assert balance(db, asha) == (879_50, 0) and _merchant_balance(db, shop) == 120_50
    assert "Chai Point (@chai-point)" in user_app.get("/transactions").text
    merchant_login(merchant_app)
    dashboard = merchant_app.get("/dashboard")
    assert 'id="today">₹120.50<' in dashboard.text
    payments = merchant_app.get("/payments").text
    assert "+91 ••••• 43210" in payments and "2 chai" in payments and "₹120.50" in payments


def test_pay_by_handle_form_and_unknown_shops(user_app, asha, shop):
    login(user_app, "+919876543210")
    assert user_app.get("/pay?handle=Chai-Point").location.endswith("/pay/chai-point")
    assert "No shop has that payment handle" in user_app.get("/pay?handle=nope", status=404).text
    user_app.get("/pay/no-such-shop", status=404)


@pytest.mark.parametrize("amount, message", [
    ("1e3", "like 250 or 250.50"), ("0", "more than zero"), ("1000.01", "not enough to pay"),
    ("-5", "must be positive"), ("12.345", "two decimal places"),
])
def test_bad_payments_change_nothing(user_app, db, asha, shop, amount, message):
    login(user_app, "+919876543210")
    before = state(db)
    assert message in pay(user_app, amount=amount).submit(status=400).text
    assert state(db) == before


def test_paying_more_than_the_balance_is_refused_before_the_pin(user_app, db, asha, shop):
    login(user_app, "+919876543210")
    response = pay(user_app, amount="1000.01").form.submit(status=400)
    assert "confirm-form" not in response.forms
    assert "not enough to pay ₹1,000.01" in response.text


def test_double_submitted_payment_pays_once(user_app, db, asha, shop):
    login(user_app, "+919876543210")
    form = pay(user_app, amount="100")
    assert form.submit(status=303).location == form.submit(status=303).location
    assert _merchant_balance(db, shop) == 100_00


# ------------------------------------------------------------- reports


def pay_at(db, user_id, merchant_handle, amount_paise, when, key):
    with db() as session, session.begin():
        shop_payments_service(session, clock=lambda: when).pay_merchant(
            session.get(User, user_id), merchant_handle, amount_paise, key, "", pin=PIN)


def test_totals_follow_the_india_day_and_month(db, asha, shop):
    # 23:50 IST on 31 Oct counts for 31 Oct (and October), though it is 18:20 UTC;
    # 00:10 IST on 1 Nov counts for 1 Nov though it is still 31 Oct in UTC.
    pay_at(db, asha, "chai-point", 10_00, dt.datetime(2026, 10, 31, 23, 50, tzinfo=IST),
           "form-key-report-00001")
    pay_at(db, asha, "chai-point", 20_00, dt.datetime(2026, 11, 1, 0, 10, tzinfo=IST),
           "form-key-report-00002")
    pay_at(db, asha, "chai-point", 5_00, dt.datetime(2026, 11, 1, 23, 59, tzinfo=IST),
           "form-key-report-00003")
    with db() as session:
        board = MerchantReports(session).dashboard(session.get(Merchant, shop),
                                                   dt.date(2026, 11, 1))
    assert (board.today_paise, board.month_paise) == (25_00, 25_00)
    assert [(d.period_start.day, d.gross_paise) for d in board.days[-2:]] == [
        (31, 10_00), (1, 25_00)]
    assert [(m.period_start, m.gross_paise) for m in board.months[-2:]] == [
        (dt.date(2026, 10, 1), 10_00), (dt.date(2026, 11, 1), 25_00)]
    assert len(board.days) == 30 and len(board.months) == 12


def test_payments_filter_paging_and_csv(merchant_app, db, asha, shop):
    for i in range(30):
        day = dt.datetime(2026, 10, 1 + i, 12, 0, tzinfo=IST)
        pay_at(db, asha, "chai-point", 1_00 + i, day, f"form-key-list-{i:07d}")
    pay_at(db, asha, "chai-point", 99, dt.datetime(2026, 10, 5, 13, 0, tzinfo=IST),
           "form-key-list-formula")
    with db() as session, session.begin():  # a payer-typed note that looks like a formula
        session.scalar(
            select(Transaction).where(Transaction.amount_paise == 99)).note = "=HYPERLINK()"
    merchant_login(merchant_app)
    first = merchant_app.get("/payments")
    assert first.text.count('<tr><td class="when">') == 25
    older = first.click(description="Older payments")
    assert older.text.count('<tr><td class="when">') == 6
    ranged = merchant_app.get("/payments?from=2026-10-10&to=2026-10-12")
    assert ranged.text.count('<tr><td class="when">') == 3
    csv_response = merchant_app.get("/payments.csv?from=2026-10-01&to=2026-10-05")
    assert csv_response.content_type == "text/csv"
    lines = csv_response.text.strip().splitlines()
    # (a byte-order mark first, for spreadsheets)
    assert lines[0] == ("\ufeffreference,time_ist,payer,note,amount_inr,refunded_inr,"
                        "status,store")
    assert len(lines) == 7
    assert "'=HYPERLINK()" in csv_response.text and "1.04" in csv_response.text
    merchant_app.get("/payments?from=yesterday", status=400)
    merchant_app.get("/payments?cursor=abc", status=404)


def test_qr_code_encodes_the_pay_link(merchant_app, shop):
    merchant_login(merchant_app)
    page = merchant_app.get("/dashboard")
    assert "http://wallet.test/pay/chai-point" in page.text
    qr = merchant_app.get("/qr.svg")
    assert qr.content_type == "image/svg+xml" and b"<svg" in qr.body and b"<path" in qr.body


def test_every_merchant_page_needs_a_merchant_login(merchant_app):
    for path in ("/dashboard", "/payments", "/payments.csv", "/qr.svg", "/settle",
                 "/settlements/1"):
        assert "/login" in merchant_app.get(path, status=303).location


# ------------------------------------------------------------ settlement


def test_settlement_goes_through_the_payout_pipeline(merchant_app, db, runner, asha, shop):
    pay_at(db, asha, "chai-point", 600_00, dt.datetime.now(dt.timezone.utc), "form-key-settle-1")
    ready_to_settle(db, shop)
    merchant_login(merchant_app)
    ids = []
    for amount in ("250", "300"):
        form = PinForm(merchant_app.get("/settle").forms["settle-form"], SHOP_PIN)
        form["amount"] = amount  # (to the registered account, the one listed)
        ids.append(int(form.submit(status=303).location.rsplit("/", 1)[1]))
    assert _merchant_balance(db, shop) == 50_00  # held at once
    bank = ScriptedBank()
    payout_processor(runner, TEST_BANKS, bank, PayoutPolicy(backoff_base_s=0, backoff_cap_s=0),
                    rng=random.Random(1)).drain(Owner("merchant", shop), "w1")
    assert [ref for _, ref in bank.calls] == [f"wd_{i}" for i in ids]  # oldest first, one by one
    page = merchant_app.get(f"/settlements/{ids[0]}")
    assert 'data-status="completed"' in page.text
    too_much = merchant_app.get("/settle").forms["settle-form"]
    too_much["amount"] = "50.01"  # refused before the confirm step
    assert "not enough to settle" in too_much.submit(status=400).text
    make_merchant(db, "other-shop", "Other", "other@example.com")
    merchant_app.get("/dashboard").forms["logout-form"].submit()
    merchant_login(merchant_app, "other@example.com")
    merchant_app.get(f"/settlements/{ids[0]}", status=404)


# ---------------------------------------------------------------- browser

@pytest.fixture(scope="module")
def browser():
    from ..live_servers import BrowserThread

    browser = BrowserThread()
    yield browser
    browser.close()


@pytest.mark.browser
def test_in_a_browser_a_user_pays_and_the_shop_sees_it(browser, user_wsgi, merchant_wsgi, db,
                                                      asha, shop):
    from playwright.sync_api import expect

    from ..live_servers import serving

    with serving(user_wsgi) as user_url, serving(merchant_wsgi) as merchant_url:
        def customer(page):
            page.goto("/login")
            page.fill("#phone", "98765 43210")
            page.fill("#password", PASSWORD)
            page.click("#login-form button")
            page.goto("/pay")
            page.fill("#handle", "chai-point")
            page.click("#pay-handle-form button")
            expect(page.locator("h1")).to_have_text("Pay Chai Point")
            page.fill("#amount", "85.50")
            page.fill("#note", "chai for the team")
            page.click("#pay-form button")
            confirm_in_browser(page, PIN, "Pay now")
            expect(page.locator(".done-note")).to_contain_text("Paid!")

        def merchant(page):
            page.goto("/login")
            page.fill("#email", "chai@example.com")
            page.fill("#password", PASSWORD)
            page.click("#login-form button")
            expect(page.locator("#today")).to_have_text("₹85.50")
            page.click("text=Payments")
            row = page.locator("#payments tbody tr").first
            expect(row).to_contain_text("chai for the team")
            expect(row).to_contain_text("₹85.50")
            expect(row).to_contain_text("+91 ••••• 43210")

        browser.run(user_url, customer)
        browser.run(merchant_url, merchant)
    assert balance(db, asha) == (914_50, 0)
