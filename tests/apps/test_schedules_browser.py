"""Scheduled payments in a real browser (Chromium), on a desktop screen and a
375×812 phone: a schedule made and approved with the PIN, seen in the list,
then a run skipped, the schedule paused, resumed and cancelled."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from wallet.core.codes import IST

from ..wallet_helpers import PIN, balance, make_user
from .test_browser import log_in
from .test_stepup_browser import fits_the_screen, screen_page  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser

ASHA, RAVI = "+919876543210", "+919812345678"


def open_schedules(page) -> None:
    """Scheduled payments from the top navigation, or on a phone from the Me tab."""
    if page.locator("#nav-schedules").is_visible():
        page.locator("#nav-schedules").click()
    else:
        page.locator("#tab-me").click()
        page.locator("#me-schedules").click()


def test_schedule_then_skip_pause_resume_cancel(db, screen_page):  # noqa: F811
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi Kumar")
    page = screen_page
    log_in(page, "98765 43210")
    page.goto("/")
    open_schedules(page)
    page.locator("#new-schedule").click()
    fits_the_screen(page)
    page.locator("#phone").fill("98123 45678")
    page.locator("#amount").fill("250")
    page.locator("#frequency").select_option("monthly")
    start = dt.datetime.now(IST).date() + dt.timedelta(days=3)
    page.locator("#start_date").fill(start.isoformat())
    page.locator("#count").fill("6")
    page.locator("#note").fill("chai fund")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Schedule ₹250.00 to Ravi Kumar (+91 ••••• 45678)?")
    fits_the_screen(page)
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="Approve schedule").click()
    expect(page).to_have_url(re.compile(r"/schedules/ps_[A-Za-z0-9_-]+$"))
    expect(page.locator("#schedule-status")).to_have_text("active")
    fits_the_screen(page)

    open_schedules(page)
    item = page.locator(".schedule-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Ravi Kumar")
    expect(item).to_contain_text("6 times")
    fits_the_screen(page)
    item.locator("a").click()

    page.locator("#skip-button").click()
    expect(page.locator(".flash")).to_contain_text("Payment 1 skipped.")
    expect(page.locator("tr.run").last).to_have_attribute("data-status", "skipped")
    page.locator("#pause-button").click()
    expect(page.locator("#schedule-status")).to_have_text("paused")
    page.locator("#resume-button").click()
    expect(page.locator("#schedule-status")).to_have_text("active")
    page.locator("#cancel-button").click()
    expect(page.locator("#schedule-status")).to_have_text("cancelled")
    expect(page.locator("#cancel-button")).to_have_count(0)
    fits_the_screen(page)
    assert balance(db, asha) == (1_000_00, 0)  # nothing was due yet


def test_a_run_above_the_cap_is_paid_with_the_pin(db, runner, screen_page):  # noqa: F811
    from ..schedule_helpers import Clock, background

    make_user(db, ASHA, "Asha", deposit_paise=10_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    page = screen_page
    log_in(page, "98765 43210")
    page.goto("/schedules/new")
    page.locator("#phone").fill("98123 45678")
    page.locator("#amount").fill("6000")
    page.locator("#frequency").select_option("once")
    page.locator("#start_date").fill(dt.datetime.now(IST).date().isoformat())
    page.locator("#start_date").fill("2020-01-01")  # in the past: refused on the form
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#start_date-error")).to_contain_text("cannot be in the past")
    fits_the_screen(page)
    page.locator("#start_date").fill(dt.datetime.now(IST).date().isoformat())
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".confirm-detail").first).to_contain_text("Runs once")
    expect(page.locator("#confirm")).to_contain_text("each run waits for your PIN")
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="Approve schedule").click()
    expect(page.locator("#schedule-status")).to_have_text("active")
    # The workers, a day later: the run is above ₹5,000, so it waits for the PIN.
    background(runner, Clock(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))) \
        .sweep_schedules()
    page.reload()
    expect(page.locator("tr.run").first).to_have_attribute("data-status", "awaiting_pin")
    page.get_by_role("link", name="Pay with PIN").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Pay ₹6,000.00 to Ravi Kumar (+91 ••••• 45678)?")
    fits_the_screen(page)
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="Pay now").click()
    expect(page).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
    assert balance(db, ravi) == (6_000_00, 0)
