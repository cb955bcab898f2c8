"""Report fraud in Chromium on a 375×812 phone: the sender opens a transfer
they sent, taps "Report fraud", reads what happens and confirms (then the
ticket's page); the recipient, on their own phone, sees the notification and
the hold on the payment's page, and answers on the report's page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from wallet.core.models import User

from ..wallet_helpers import PIN, balance, make_user, services_for_tests
from .test_browser import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"


@pytest.fixture
def person(chromium, live_server):
    contexts = []

    def signed_in(phone: str) -> Page:
        context = chromium.new_context(base_url=live_server, locale="en-IN", viewport=PHONE)
        contexts.append(context)
        page = context.new_page()
        log_in(page, phone)
        return page

    yield signed_in
    for context in contexts:
        context.close()


def fits_the_screen(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_sender_reports_fraud_and_the_recipient_sees_the_hold(db, person):
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    make_user(db, ZOYA, "Zoya Khan")
    with db() as session, session.begin():
        services = services_for_tests(session)
        tx = services.transfers.send_money(session.get(User, asha), RAVI, 500_00,
                                           "b" * 22, pin=PIN)
        services.transfers.send_money(session.get(User, ravi), ZOYA, 120_00, "c" * 22, pin=PIN)
        tx_id = tx.id

    sender = person("98765 43210")
    sender.goto(f"/transactions/{tx_id}")
    fits_the_screen(sender)
    sender.get_by_role("link", name="Report fraud").click()
    expect(sender.get_by_role("heading", level=1)).to_have_text("Report fraud")
    expect(sender.locator("#what-happens")).to_contain_text("put on hold at once")
    fits_the_screen(sender)
    sender.locator("#note").fill("He said he was from the bank and needed a refund fee.")
    sender.get_by_role("button", name="Report fraud").click()
    expect(sender).to_have_url(re.compile(r"/tickets/tk_[A-Za-z0-9_-]+$"))
    assert balance(db, ravi) == (0, 380_00)
    sender.goto(f"/transactions/{tx_id}")
    expect(sender.locator("#fraud-reported")).to_contain_text("₹380.00 is on hold")

    recipient = person("98123 45678")
    recipient.goto("/notifications")
    expect(recipient.locator("body")).to_contain_text("reported it as fraud: ₹380.00 of it")
    recipient.goto(f"/transactions/{tx_id}")
    expect(recipient.locator("#fraud-hold")).to_contain_text(
        "₹380.00 of this payment is on hold pending review")
    fits_the_screen(recipient)
    recipient.locator("#fraud-report-link").click()
    expect(recipient.locator("#hold-notice")).to_contain_text(
        "₹380.00 of this payment is on hold pending review")
    fits_the_screen(recipient)
    recipient.locator("#text").fill("I sold her a phone; I have the chat and the courier slip.")
    recipient.get_by_role("button", name="Send my answer").click()
    expect(recipient.locator("#fraud-lines")).to_contain_text("I sold her a phone")
    fits_the_screen(recipient)
