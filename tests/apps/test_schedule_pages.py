"""Scheduled payments in the user app (webapp.views.schedules): the form, its
confirm step with the PIN, the list, one schedule's actions, a run above the
cap paid with the PIN; bad input a 400 with the field's problem, nothing written."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from wallet.core.codes import IST
from wallet.money.models import PaymentSchedule, ScheduleRun

from ..schedule_helpers import Clock, background
from ..wallet_helpers import balance, confirm, count, login, make_user, state

ASHA, RAVI = "+919876543210", "+919812345678"


def in_days(days: int) -> str:
    return (dt.datetime.now(IST).date() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def asha(db):
    return make_user(db, ASHA, "Asha", deposit_paise=20_000_00)


@pytest.fixture
def ravi(db):
    return make_user(db, RAVI, "Ravi")


def fill(app, **values):
    form = app.get("/schedules/new").forms["schedule-form"]
    defaults = {"phone": "98123 45678", "amount": "500", "frequency": "monthly",
                "start_date": in_days(2), "count": "12", "note": "rent"}
    for name, value in {**defaults, **values}.items():
        form[name] = value
    return form.submit(expect_errors=True)


def test_schedule_list_skip_pause_resume_cancel(user_app, asha, ravi):
    login(user_app, "98765 43210")
    confirm_page = fill(user_app)
    assert "Schedule ₹500.00 to Ravi" in confirm_page.text
    done = confirm(confirm_page)
    assert done.status_int == 303
    page = done.follow()
    assert "Scheduled: it is listed here." in page.text and "active" in page.text
    listed = user_app.get("/schedules")
    assert "Ravi" in listed.text and "every month on day" in listed.text
    page = page.forms["skip-form"].submit().follow()
    assert "Payment 1 skipped." in page.text
    assert page.html.select("tr.run")[-1]["data-status"] == "skipped"
    page = page.forms["pause-form"].submit().follow()
    assert page.html.select_one("#schedule-status").text == "paused"
    page = page.forms["resume-form"].submit().follow()
    assert page.html.select_one("#schedule-status").text == "active"
    page = page.forms["cancel-form"].submit().follow()
    assert page.html.select_one("#schedule-status").text == "cancelled"
    assert "cancel-form" not in page.forms


@pytest.mark.parametrize("values,field", [
    ({"amount": "0"}, "amount"), ({"amount": "-5"}, "amount"), ({"amount": "1.234"}, "amount"),
    ({"phone": "98000 00000"}, "phone"), ({"phone": "", "handle": "nope"}, "handle"),
    ({"start_date": "2020-01-01"}, "start_date"), ({"end_date": "2020-01-01", "count": ""},
                                                   "end_date"),
    ({"count": "0"}, "count"), ({"frequency": "daily"}, "frequency"),
])
def test_bad_input_is_refused_on_the_form(user_app, db, asha, ravi, values, field):
    login(user_app, "98765 43210")
    before = state(db), count(db, PaymentSchedule)
    if "frequency" in values:  # not one of the select's options: posted as is
        form = user_app.get("/schedules/new").forms["schedule-form"]
        fields = {name: value for name, value in form.submit_fields()}
        page = user_app.post("/schedules/new", {
            **fields, "phone": "98123 45678", "amount": "5", "start_date": in_days(1),
            "frequency": "daily"}, expect_errors=True)
    else:
        page = fill(user_app, **values)
    assert page.status_int == 400
    assert page.html.select_one(f"#{field}-error") is not None, page.text
    assert (state(db), count(db, PaymentSchedule)) == before


def test_wrong_pin_writes_nothing_and_foreign_ids_are_not_found(user_app, db, asha, ravi):
    login(user_app, "98765 43210")
    page = confirm(fill(user_app), pin="2468")
    assert page.status_int == 400 and "Wrong PIN" in page.text
    assert count(db, PaymentSchedule) == 0
    confirm(fill(user_app))
    with db() as session:
        public_id = session.scalar(select(PaymentSchedule.public_id))
    user_app.get("/logout", expect_errors=True)
    other = user_app.__class__(user_app.app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    login(other, "98123 45678")
    other.get(f"/schedules/{public_id}", status=404)
    token = other.get("/schedules").forms["logout-form"]["csrf_token"].value
    for action in ("pause", "cancel", "resume"):
        other.post(f"/schedules/{public_id}/{action}", {"csrf_token": token}, status=404)
    other.post(f"/schedules/{public_id}/skip", {"csrf_token": token, "run_number": "1"},
               status=404)
    other.get(f"/schedules/{public_id}/runs/1/pay", status=404)


def test_a_run_above_the_cap_is_paid_on_its_page(user_app, runner, db, asha, ravi):
    login(user_app, "98765 43210")
    confirm(fill(user_app, amount="6000", frequency="once", count="", start_date=in_days(0)))
    background(runner, Clock(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))) \
        .sweep_schedules()
    with db() as session:
        public_id = session.scalar(select(PaymentSchedule.public_id))
        assert session.scalar(select(ScheduleRun.status)) == "awaiting_pin"
    page = user_app.get(f"/schedules/{public_id}")
    pay = page.click("Pay with PIN")
    assert "Pay ₹6,000.00 to Ravi" in pay.text
    done = confirm(pay)
    assert done.status_int == 303 and "/transactions/" in done.location
    assert balance(db, ravi)[0] == 6_000_00
    assert user_app.get(f"/schedules/{public_id}").html.select_one(
        "tr.run")["data-status"] == "completed"
