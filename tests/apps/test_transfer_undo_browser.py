"""A first payment to someone new in Chromium: the confirm page names the
payee as verified (masked) and says it is a first payment; the success page
offers Undo until the window ends; the recipient's dashboard says the money
is incoming and when it is available; Undo gives it all back."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from ..schedule_helpers import Clock
from ..wallet_helpers import PIN, balance, make_user
from .test_browser import log_in

pytestmark = pytest.mark.browser

ASHA, RAVI = "+919876543210", "+919812345678"
#: 08:32 UTC is 14:02 in India: sent then, it lands at 14:32 IST.
NOW = dt.datetime(2026, 12, 10, 8, 32, tzinfo=dt.timezone.utc)


def test_first_payment_confirm_undo_and_incoming(db, chromium, live_server, user_wsgi):
    user_wsgi.registry["clock"] = Clock(NOW)
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=10_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    sender = chromium.new_context(base_url=live_server, locale="en-IN")
    receiver = chromium.new_context(base_url=live_server, locale="en-IN")
    try:
        page = sender.new_page()
        log_in(page, "98765 43210")
        page.goto("/send")
        page.locator("#phone").fill("98123 45678")
        page.locator("#amount").fill("2500")
        page.locator("#send-form").get_by_role("button").first.click()
        details = page.locator("#confirm")
        expect(details).to_contain_text("Verified name: Ravi K•••••")
        expect(details).to_contain_text("This is your first payment to this person")
        page.locator("#pin").fill(PIN)
        page.locator("#confirm-button").click()
        expect(page.locator("#sent-held")).to_contain_text("It reaches them at 14:32 IST")
        expect(page.locator("#held-note")).to_have_text("Undo until 14:32 IST")
        expect(page.locator("#undo-button")).to_be_visible()

        theirs = receiver.new_page()
        log_in(theirs, "98123 45678")
        expect(theirs.locator(".held-transfer").first).to_have_text(
            "Incoming, available at 14:32 IST")
        assert balance(db, ravi) == (0, 0)

        page.locator("#undo-button").click()
        expect(page.locator("#undone")).to_contain_text("the money is back in your wallet")
        expect(page.locator("#undo-button")).to_have_count(0)
        assert balance(db, asha) == (10_000_00, 0)
    finally:
        sender.close()
        receiver.close()
