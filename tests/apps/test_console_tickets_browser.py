"""Users' tickets in the console, in headless Chromium: an operator signs in
with a TOTP code, opens the queue (the overdue one first, in red), opens that
ticket and rejects it with a reason the user then reads on its timeline."""
from __future__ import annotations

import datetime as dt
import pathlib

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from wallet.care.models import Ticket
from wallet.operations.models import AuditEntry

from ..conftest import dispose_app_engine
from ..live_servers import BrowserThread, serving
from ..wallet_helpers import make_user
from .test_admin_console import ADMIN_SECRET, OP_PASSWORD, add_operator
from .test_console_tickets import RAVI, Clock, report, send

pytestmark = pytest.mark.browser
#: Where the screenshots go (looked at by a person; absent: not taken).
SHOTS = pathlib.Path(__file__).resolve().parents[3] / "_notes"


@pytest.fixture
def browser():
    browser = BrowserThread()
    yield browser
    browser.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def console_url(web_settings, clock):
    import admin_app

    app = admin_app.main({}, **{**web_settings, "admin.session_secret": ADMIN_SECRET})
    app.registry["clock"] = clock
    with serving(app) as url:
        yield url
    dispose_app_engine(app)


def shot(page, name: str) -> None:
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"console-tickets-{name}.png"), full_page=True)


def test_an_operator_rejects_a_ticket_with_a_reason(db, clock, console_url, browser):
    asha = make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi Kumar")
    earlier = Clock()
    earlier.now = clock.now - dt.timedelta(hours=29)  # a 24 h deadline: 5 h late
    late = report(db, earlier, asha, send(db, earlier, asha, RAVI, 300_00), "not_received",
                  "Ravi says he never got it")
    report(db, clock, asha, send(db, clock, asha, RAVI, 120_00), "wrong_person")
    totp: pyotp.TOTP = add_operator(db, "olga", "operator")
    answer = "Ravi's bank statement shows the ₹300.00 arrived at 10:02."

    def operator(page):
        page.goto("/")
        page.fill("input[name=name]", "olga")
        page.fill("input[name=password]", OP_PASSWORD)
        page.fill("input[name=code]", totp.now())
        page.click("form button[type=submit] >> text=Sign in")
        expect(page.locator("#who")).to_have_text("olga (operator)")

        page.click("header >> text=Tickets")
        first = page.locator("#tickets tr.ticket").first
        expect(first.locator("td.sla")).to_have_text("overdue by 5 h")
        expect(first.locator("td.sla")).to_have_class("sla overdue")
        expect(page.locator("#count-overdue")).to_have_text("1")
        shot(page, "queue")

        first.locator("a").first.click()
        expect(page.locator("h1")).to_have_text(f"Ticket {late}")
        expect(page.locator("#note")).to_have_text("Ravi says he never got it")
        expect(page.locator("#postings")).to_contain_text("₹300.00")
        shot(page, "ticket")

        reject = page.locator("#act-reject")
        reject.locator("button").click()  # no reason: the browser asks for one
        expect(page.locator("#status")).to_have_text("open")
        reject.locator("input[name=reason]").fill(answer)
        reject.locator("button").click()
        expect(page.locator(".flash")).to_contain_text("Done: rejected")
        expect(page.locator("#status")).to_have_text("rejected")
        expect(page.locator("#timeline")).to_contain_text(answer)
        expect(page.locator("#act-reject")).to_have_count(0)
        shot(page, "rejected")

    browser.run(console_url, operator)

    with db() as session:
        found = session.scalars(select(Ticket).where(Ticket.public_id == late)).one()
        assert (found.status, found.resolution) == ("rejected", answer)
        rows = session.scalars(select(AuditEntry)).all()
    assert [(r.actor, r.action, r.object_id, r.outcome) for r in rows] == [
        ("olga", "ticket_reject", late, "done")]
