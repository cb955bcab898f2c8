"""Refunds from the merchant app's payment page, what the payer's history shows
of them, and the shop's gross / refunds / net per India-time day and month."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import webtest
from sqlalchemy import select

from wallet.core.models import Merchant, Transaction, User
from wallet.identity.accounts import AccountService
from wallet.merchants.models import Refund
from wallet.merchants.reports import MerchantReports
from wallet.operations.bank_calls import verify_all
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    SHOP_PIN,
    PinForm,
    balance,
    login,
    pin_form,
    ready_to_settle,
    refunds,
    shop_payments_service,
    state,
)
from .test_checkout import create, merchant_balance

ASHA = "+919876543210"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture
def shop_wsgi(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test"})
    yield app
    dispose_app_engine(app)


@pytest.fixture
def shop_app(shop_wsgi):
    return webtest.TestApp(shop_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})


@pytest.fixture
def shop(db):
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "dosa-corner", "Dosa Corner", "dosa@example.com", PASSWORD)
        merchant.return_origins = "https://shop.example"
        return merchant.id


def shop_login(app, email="dosa@example.com"):
    form = app.get("/login").forms["login-form"]
    form["email"], form["password"] = email, PASSWORD
    assert form.submit().status_int == 303


@pytest.fixture
def paid(user_app, shop_app, db, shop, asha):
    """A checkout payment of ₹250.00 by Asha; the shop logged in. Its payment id."""
    public_id = create(db, shop)
    login(user_app, ASHA)
    pin_form(user_app.get(f"/checkout/{public_id}"), "checkout-form").submit(status=303)
    shop_login(shop_app)
    with db() as session:
        return session.scalar(select(Transaction.id).where(Transaction.kind == "payment"))


class RefundForm:
    """The refund form whose ``submit`` goes on through its confirm step
    ("Refund ₹X to …?", the shop PIN when it asks for it), as a person would."""

    def __init__(self, form, pin: str = SHOP_PIN):
        self.form, self.pin = form, pin

    def __setitem__(self, name, value):
        self.form[name] = value

    def submit(self, status=None):
        response = self.form.submit(expect_errors=True)
        if response.status_int == 200 and "refund-confirm-form" in response.forms:
            confirm = response.forms["refund-confirm-form"]
            if "pin" in confirm.fields:
                confirm["pin"] = self.pin
            response = confirm.submit(expect_errors=True)
        assert response.status_int == (status or response.status_int), response
        assert status is not None or response.status_int < 400, response
        return response


def refund_form(app, payment_id, amount, reason="", pin=SHOP_PIN):
    form = app.get(f"/payments/{payment_id}").forms["refund-form"]
    form["amount"], form["reason"] = amount, reason
    return RefundForm(form, pin)


def assert_books_clean(db):
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)


def test_a_partial_refund_from_the_payment_page_reaches_the_payer(user_app, shop_app, db,
                                                                   shop, asha, paid):
    listing = shop_app.get("/payments")
    detail = listing.click(href=f"/payments/{paid}$")
    assert "order-1001" in detail.text and 'id="left">₹250.00<' in detail.text
    done = refund_form(shop_app, paid, "100", "cold  dosa").submit(status=303)
    page = done.follow()
    assert "Refunded ₹100.00 to the payer." in page.text
    assert 'id="refunded">₹100.00<' in page.text and 'id="left">₹150.00<' in page.text
    assert "cold dosa" in page.text and "−₹100.00" in page.text
    assert balance(db, asha) == (850_00, 0) and merchant_balance(db, shop) == 150_00
    assert 'class="amount refunded">₹100.00<' in shop_app.get("/payments").text
    csv_lines = shop_app.get("/payments.csv").text.strip().splitlines()
    assert csv_lines[1].endswith(",250.00,100.00,partly_refunded,Dosa Corner")

    history = user_app.get("/transactions")
    row = re.search(r'<li class="activity in kind-refund[^"]*">.*?</li>', history.text,
                    re.S).group(0)
    assert "Dosa Corner (@dosa-corner)" in row and "Refund from shop" in row
    assert "+₹100.00" in row and "Refund: cold dosa" in row
    receipt = user_app.get(re.search(r'href="(http://localhost/transactions/\d+)"', row).group(1))
    assert 'id="kind">Refund from shop<' in receipt.text and "From" in receipt.text
    assert_books_clean(db)


def test_a_double_submitted_refund_refunds_once(shop_app, db, asha, shop, paid):
    form = refund_form(shop_app, paid, "60")
    assert form.submit(status=303).location == form.submit(status=303).location
    assert balance(db, asha) == (810_00, 0) and merchant_balance(db, shop) == 190_00
    with db() as session:
        assert len(session.scalars(select(Refund)).all()) == 1


def test_refunds_up_to_the_full_amount_then_no_form(shop_app, db, asha, paid):
    refund_form(shop_app, paid, "200").submit(status=303)
    before = state(db)
    too_much = refund_form(shop_app, paid, "50.01").submit(status=400)
    assert "At most ₹50.00 of this payment is left to refund; ₹50.01 is more." in too_much.text
    assert state(db) == before
    refund_form(shop_app, paid, "50").submit(status=303)
    page = shop_app.get(f"/payments/{paid}")
    assert "refund-form" not in page.text and "refunded in full" in page.text
    assert balance(db, asha) == (1_000_00, 0)
    assert_books_clean(db)


@pytest.mark.parametrize("amount, reason, message", [
    ("1e3", "", "like 250 or 250.50"), ("0", "", "more than zero"),
    ("-5", "", "must be positive"), ("10.005", "", "two decimal places"),
    ("", "", "Enter an amount"), ("10", "x" * 141, "Keep the reason to 140"),
    ("10", "bell\x07", "Keep the reason to 140"),
])
def test_bad_refund_forms_write_nothing(shop_app, db, paid, amount, reason, message):
    before = state(db)
    assert message in refund_form(shop_app, paid, amount, reason).submit(status=400).text
    assert state(db) == before


def test_a_refund_needs_the_shops_available_money(shop_app, db, asha, shop, paid):
    ready_to_settle(db, shop)
    form = PinForm(shop_app.get("/settle").forms["settle-form"], SHOP_PIN)
    form["amount"] = "200"  # settling holds ₹200.00 at once
    form.submit(status=303)
    before = state(db)
    refused = refund_form(shop_app, paid, "60").submit(status=400)
    assert "available balance is ₹50.00: not enough to refund ₹60.00." in refused.text
    assert state(db) == before
    refund_form(shop_app, paid, "50").submit(status=303)
    assert balance(db, asha) == (800_00, 0)


def test_stale_or_forged_refund_forms_write_nothing(shop_app, db, paid):
    page = shop_app.get(f"/payments/{paid}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    before = state(db)
    shop_app.post(f"/payments/{paid}", {"amount": "10", "request_key": "k" * 22}, status=400)
    stale = shop_app.post(f"/payments/{paid}", {"csrf_token": token, "amount": "10",
                                                "request_key": "bad key"}, status=400)
    assert "out of date" in stale.text
    assert state(db) == before


def test_a_shop_sees_and_refunds_only_its_own_payments(shop_app, db, paid):
    with db() as session, session.begin():
        AccountService(session, bcrypt_rounds=4).signup_merchant(
            "other-shop", "Other", "other@example.com", PASSWORD)
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      shop_app.get(f"/payments/{paid}").text).group(1)
    shop_app.get("/dashboard").forms["logout-form"].submit()
    assert "/login" in shop_app.get(f"/payments/{paid}", status=303).location
    shop_login(shop_app, "other@example.com")
    shop_app.get(f"/payments/{paid}", status=404)
    shop_app.get(f"/payments/{paid + 1000}", status=404)
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      shop_app.get("/dashboard").text).group(1)
    before = state(db)
    shop_app.post(f"/payments/{paid}", {"csrf_token": token, "amount": "10",
                                        "request_key": "k" * 22}, status=404)
    assert state(db) == before


def test_a_pay_by_handle_payment_is_refunded_the_same_way(user_app, shop_app, db, shop, asha):
    login(user_app, ASHA)
    form = PinForm(user_app.get("/pay/dosa-corner").forms["pay-form"])
    form["amount"], form["note"] = "80", "filter coffee"
    form.submit(status=303)
    shop_login(shop_app)
    with db() as session:
        payment_id = session.scalar(select(Transaction.id).where(Transaction.kind == "payment"))
    page = shop_app.get(f"/payments/{payment_id}")
    assert "filter coffee" in page.text and 'id="order"' not in page.text
    refund_form(shop_app, payment_id, "80", "out of coffee").submit(status=303)
    assert balance(db, asha) == (1_000_00, 0)


# ------------------------------------------------------------- reports


def pay_at(db, user_id, amount_paise, when, key):
    with db() as session, session.begin():
        return shop_payments_service(session, clock=lambda: when).pay_merchant(
            session.get(User, user_id), "dosa-corner", amount_paise, key, "", pin=PIN).id


def refund_at(db, shop, payment_id, amount_paise, when, key):
    with db() as session, session.begin():
        refunds(session, clock=lambda: when).refund(session.get(Merchant, shop), payment_id,
                                                    amount_paise, key)


def test_gross_refunds_and_net_follow_the_india_day_and_month(db, shop, asha):
    # 23:50 IST on 31 Oct is 31 Oct (and October), though 18:20 UTC; 00:10 IST
    # on 1 Nov is 1 Nov, though still 31 Oct in UTC. A refund counts on its own
    # day, not its payment's: a day of refunds alone has a net below zero.
    october = pay_at(db, asha, 100_00, dt.datetime(2026, 10, 31, 23, 50, tzinfo=IST),
                     "form-key-report-00001")
    november = pay_at(db, asha, 40_00, dt.datetime(2026, 11, 1, 0, 10, tzinfo=IST),
                      "form-key-report-00002")
    refund_at(db, shop, october, 30_00, dt.datetime(2026, 11, 1, 0, 5, tzinfo=IST),
              "form-key-refund-00001")
    refund_at(db, shop, october, 10_00, dt.datetime(2026, 10, 31, 23, 55, tzinfo=IST),
              "form-key-refund-00002")
    refund_at(db, shop, november, 40_00, dt.datetime(2026, 11, 2, 9, 0, tzinfo=IST),
              "form-key-refund-00003")
    with db() as session:
        board = MerchantReports(session).dashboard(session.get(Merchant, shop),
                                                   dt.date(2026, 11, 2))
    figures = [(f.period_start, f.gross_paise, f.refunds_paise, f.net_paise, f.payments,
                f.refunds) for f in board.days[-3:]]
    assert figures == [(dt.date(2026, 10, 31), 100_00, 10_00, 90_00, 1, 1),
                       (dt.date(2026, 11, 1), 40_00, 30_00, 10_00, 1, 1),
                       (dt.date(2026, 11, 2), 0, 40_00, -40_00, 0, 1)]
    assert [(f.period_start, f.gross_paise, f.refunds_paise, f.net_paise)
            for f in board.months[-2:]] == [(dt.date(2026, 10, 1), 100_00, 10_00, 90_00),
                                            (dt.date(2026, 11, 1), 40_00, 70_00, -30_00)]
    assert (board.today_paise, board.month_paise) == (0, 40_00)
    assert len(board.days) == 30 and len(board.months) == 12
    assert board.months[0].period_start == dt.date(2025, 12, 1)


def test_the_dashboard_shows_gross_refunds_and_net(shop_app, db, shop, asha, paid):
    refund_form(shop_app, paid, "100").submit(status=303)
    page = shop_app.get("/dashboard")
    assert 'id="today">₹250.00<' in page.text
    assert 'id="today-refunds">₹100.00<' in page.text and 'id="today-net">₹150.00<' in page.text
    assert 'id="month-refunds">₹100.00<' in page.text and 'id="month-net">₹150.00<' in page.text
    daily = re.search(r'<table id="daily-table">.*?</table>', page.text, re.S).group(0)
    assert "<th>Gross</th><th>Refunds</th><th>Net</th><th>Balance at end</th>" in daily
    first_row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", daily).group(1)  # today, newest first
    # Gross, refunds, net, and the shop's balance at the day's end (ledger as-of).
    assert re.findall(r'class="amount">([^<]+)<', first_row) == [
        "₹250.00", "₹100.00", "₹150.00", "₹150.00"]
    chart = re.search(r'<figure class="chart" id="daily-chart">.*?</figure>', page.text,
                      re.S).group(0)
    assert chart.count('<rect class="gross"') == chart.count('<rect class="refunds"') == 30
    assert "Payments in: ₹250.00" in chart and "Refunds: ₹100.00" in chart
    assert "Net: ₹150.00" in chart
