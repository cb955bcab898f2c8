"""The merchant app's automatic settlement pages (webapp.merchant.auto_settlement_views):
the schedule saved with the shop PIN, bad input refused with its field and
nothing written, "Settle all now" (the PIN above the threshold) landing on
its report, the history, the report as CSV, and another shop's a 404."""
from __future__ import annotations

import datetime as dt

import pytest
import webtest

from wallet.banking.models import Settlement, SettlementSchedule
from wallet.core.models import MerchantNotification
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..wallet_helpers import SHOP_PIN, count, make_user, ready_to_settle, state
from .test_merchant_app import make_merchant, merchant_login, pay_at


@pytest.fixture
def merchant_app(web_settings):
    app = merchant_main({}, **{**web_settings,
                               "wallet.merchant_settle_confirm_above_paise": "50000"})
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(app)


@pytest.fixture
def shop(db):
    shop = make_merchant(db)
    ready_to_settle(db, shop)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    pay_at(db, asha, "chai-point", 300_00, dt.datetime.now(dt.timezone.utc), "form-key-shop-01")
    return shop


def written(db):
    return (state(db), count(db, SettlementSchedule), count(db, Settlement),
            count(db, MerchantNotification))


def test_the_schedule_is_saved_with_the_shop_pin(merchant_app, db, shop):
    merchant_login(merchant_app)
    form = merchant_app.get("/settlements/schedule").forms["schedule-form"]
    form["mode"], form["times"], form["min_balance"] = "daily_times", "17:30, 9:00", "250"
    form["pin"] = SHOP_PIN
    page = form.submit(status=303).follow()
    assert "daily at 09:00, 17:30 IST, keeping ₹250.00" in page.text
    assert page.forms["schedule-form"]["min_balance"].value == "250.00"


@pytest.mark.parametrize("field, value, message", [
    ("times", "25:00", "not a time of day"),
    ("times", "", "at least one time"),
    ("min_balance", "-1", "must be positive"),
    ("min_balance", "12.345", "two decimal places"),
    ("mode", "weekly", "Choose when to settle"),
    ("account", "99999", "registered bank accounts"),
    ("account", "x" * 30, "registered bank accounts"),
    ("pin", "0000", "PIN"),
])
def test_a_bad_schedule_is_a_400_with_its_message_and_nothing_is_written(
        merchant_app, db, shop, field, value, message):
    merchant_login(merchant_app)
    page = merchant_app.get("/settlements/schedule")
    form = page.forms["schedule-form"]
    form["mode"], form["times"], form["pin"] = "daily_times", "11:00", SHOP_PIN
    before = written(db)
    if field in ("mode", "account"):  # (not one of the form's choices: post it as sent)
        fields = {name: form[name].value for name in ("times", "min_balance", "pin")}
        fields.update(mode="daily_times", account=form["account"].value,
                      csrf_token=form["csrf_token"].value)
        fields[field] = value
        answer = merchant_app.post("/settlements/schedule", fields, status=400)
    else:
        form[field] = value
        answer = form.submit(status=400)
    assert message in answer.text
    after = written(db)
    if field == "pin":  # (only the try is counted)
        assert after[:3] == before[:3]
    else:
        assert after == before


def test_settle_all_now_then_its_report_history_and_csv(merchant_app, db, shop):
    merchant_login(merchant_app)
    page = merchant_app.get("/settlements/schedule")
    assert "settle-pin" not in page.text  # ₹300 is below the threshold
    report = page.forms["settle-all-form"].submit(status=303).follow()
    assert "Settlement of ₹300.00" in report.text and "pending" in report.text
    assert "Payments at Chai Point" in report.text
    history = merchant_app.get("/settlements")
    [public_id] = [row.split('"')[0] for row in history.text.split('id="settlement-')[1:]]
    csv = merchant_app.get(f"/settlements/{public_id}/report.csv")
    assert csv.content_type == "text/csv"
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "section,item,count,amount_inr"
    assert "payments,Chai Point (chai-point),1,300.00" in lines
    assert "net,paid to the bank,,300.00" in lines
    # Nothing left: refused, nothing written.
    before = written(db)
    again = merchant_app.get("/settlements/schedule").forms["settle-all-form"].submit(status=409)
    assert "nothing to settle" in again.text
    assert written(db) == before


def test_settle_all_above_the_threshold_needs_the_pin(merchant_app, db, shop):
    asha = make_user(db, "+919812345678", "Ravi", deposit_paise=1_000_00)
    pay_at(db, asha, "chai-point", 500_00, dt.datetime.now(dt.timezone.utc), "form-key-shop-02")
    merchant_login(merchant_app)
    form = merchant_app.get("/settlements/schedule").forms["settle-all-form"]
    before = written(db)[:3]
    form["pin"] = "0000"
    assert "PIN" in form.submit(status=400).text
    assert written(db)[:3] == before
    form = merchant_app.get("/settlements/schedule").forms["settle-all-form"]
    form["pin"] = SHOP_PIN
    assert "Settlement of ₹800.00" in form.submit(status=303).follow().text


def test_another_shops_settlement_is_not_found(merchant_app, db, shop):
    merchant_login(merchant_app)
    merchant_app.get("/settlements/schedule").forms["settle-all-form"].submit(status=303)
    with db() as session:
        public_id = session.query(Settlement.public_id).scalar()
    make_merchant(db, "dosa-hut", "Dosa Hut", "dosa@example.com")
    other = webtest.TestApp(merchant_app.app, extra_environ={"REMOTE_ADDR": "203.0.113.10"})
    merchant_login(other, "dosa@example.com")
    other.get(f"/settlements/{public_id}", status=404)
    other.get(f"/settlements/{public_id}/report.csv", status=404)
    other.get("/settlements/stl_nosuchthing", status=404)


def test_the_pages_need_a_login(merchant_app):
    assert "/login" in merchant_app.get("/settlements", status=303).location
    merchant_app.post("/settlements/settle-all", {}, status=(303, 400, 403))


def test_a_settlement_by_hand_is_in_the_history_once(merchant_app, db, shop):
    merchant_login(merchant_app)
    form = merchant_app.get("/settle").forms["settle-form"]
    form["amount"] = "120"
    confirm = form.submit(status=200).forms["confirm-form"]
    confirm["pin"] = SHOP_PIN
    confirm.submit(status=303)
    confirm.submit(status=303)  # the same confirm page again: the same payout
    with db() as session:
        [made] = session.query(Settlement).all()
        assert (made.trigger, made.amount_paise, made.status) == ("manual", 120_00, "pending")
    assert "manual" in merchant_app.get("/settlements").text
