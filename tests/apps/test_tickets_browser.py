"""Tickets in Chromium, on a 375×812 phone and at desktop size: a problem
reported from a transaction's page, then the ticket's page with its status,
deadline and timeline (a line from the wallet's checks added meanwhile);
screenshots of it for a look at the layout (_notes/ui-ticket-*.png)."""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from wallet.core.codes import TicketActor, TicketStatus
from wallet.core.models import User

from ..wallet_helpers import PIN, make_user, services_for_tests
from .test_browser import log_in

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
SHOTS = {"phone": "ui-ticket-375.png", "desktop": "ui-ticket-desktop.png"}
FORM_SHOTS = {"phone": "ui-ticket-report-375.png", "desktop": "ui-ticket-report-desktop.png"}
#: Where the screenshots go (a folder outside the repository, if it is there).
SHOT_DIR = os.environ.get("WALLET_TEST_SHOTS", "/work/wt/_notes")
ASHA, RAVI = "+919876543210", "+919812345678"


@pytest.fixture(params=list(SCREENS))
def screen(request):
    return request.param


@pytest.fixture
def page(screen, chromium, live_server):
    context = chromium.new_context(base_url=live_server, locale="en-IN",
                                   viewport=SCREENS[screen])
    yield context.new_page()
    context.close()


def fits_the_screen(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_report_a_problem_then_follow_the_ticket(db, page, screen):
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi Kumar")
    with db() as session, session.begin():
        tx = services_for_tests(session).transfers.send_money(
            session.get(User, asha), RAVI, 250_00, "k" * 22, pin=PIN, note="Rent share")
        tx_id = tx.id
    log_in(page, "98765 43210")
    page.goto(f"/transactions/{tx_id}")
    page.get_by_role("link", name="Report a problem").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a problem")
    fits_the_screen(page)
    page.get_by_role("button", name="Send report").click()  # nothing chosen: the browser asks
    expect(page).to_have_url(re.compile(rf"/transactions/{tx_id}/report$"))
    page.get_by_label("Money debited but not received").check()
    page.locator("#note").fill("Ravi says the money never reached his wallet.")
    if os.path.isdir(SHOT_DIR):
        page.screenshot(path=os.path.join(SHOT_DIR, FORM_SHOTS[screen]), full_page=True)
    page.get_by_role("button", name="Send report").click()
    expect(page).to_have_url(re.compile(r"/tickets/tk_[A-Za-z0-9_-]+$"))
    expect(page.locator("#ticket-status")).to_have_text("Open")
    expect(page.locator("#ticket-due")).to_contain_text("Answer due by")
    expect(page.locator("#timeline li")).to_have_count(1)
    expect(page.locator("#timeline li").first).to_contain_text("You")

    public_id = page.url.rsplit("/", 1)[1]
    with db() as session, session.begin():
        tickets = services_for_tests(session).tickets
        ticket = tickets.locked(tickets.by_public_id(public_id).id)
        tickets.move(ticket, TicketStatus.INVESTIGATING,
                     "We are checking the transfer with Ravi's wallet.",
                     actor=TicketActor.SYSTEM)
    page.reload()
    expect(page.locator("#ticket-status")).to_have_text("Being looked into")
    expect(page.locator("#timeline li .who")).to_have_text(["You", "Wallet checks"])
    fits_the_screen(page)
    if os.path.isdir(SHOT_DIR):
        page.screenshot(path=os.path.join(SHOT_DIR, SHOTS[screen]), full_page=True)

    page.goto(f"/transactions/{tx_id}")
    page.get_by_role("link", name="You reported a problem: see its progress").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{public_id}$"))
    page.get_by_role("link", name="All your reports").click()
    expect(page.locator("#ticket-list li")).to_have_count(1)
    fits_the_screen(page)
