"""AutoPay in Chromium, on a desktop screen and a 375×812 phone: a shop's
mandate request approved with the PIN at the mandate page (a wrong PIN
first), then revoked from the user's AutoPay list."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from wallet.merchants.models import Mandate

from ..mandate_helpers import Clock, create_mandate, event_types, make_shop
from ..wallet_helpers import PIN, make_user
from .test_browser import log_in

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


@pytest.fixture(params=list(SCREENS))
def screen_page(request, chromium, live_server):
    context = chromium.new_context(base_url=live_server, locale="en-IN",
                                   viewport=SCREENS[request.param])
    yield context.new_page()
    context.close()


def fits_the_screen(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def status_of(db, public_id: str) -> str:
    with db() as session:
        return session.scalar(select(Mandate.status).where(Mandate.public_id == public_id))


def test_approve_with_the_pin_then_revoke_from_the_list(db, screen_page, tmp_path):
    make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    shop = make_shop(db)
    public_id = create_mandate(db, Clock(), shop)
    page = screen_page
    log_in(page, "98765 43210")
    page.goto(f"/mandates/{public_id}")
    expect(page.locator("#shop-name")).to_have_text("Streamflix")
    expect(page.locator("#description")).to_have_text("Streamflix monthly plan")
    expect(page.locator("#max-amount")).to_have_text("₹499.00")
    fits_the_screen(page)
    page.locator("#pin").fill("9753")  # a wrong PIN: nothing approved
    page.get_by_role("button", name="Approve AutoPay").click()
    expect(page.locator("#pin-error")).to_contain_text("Wrong PIN")
    assert status_of(db, public_id) == "created"
    page.locator("#pin").fill(PIN)
    page.get_by_role("button", name="Approve AutoPay").click()
    expect(page).to_have_url(re.compile(r"/autopay$"))
    mandate = page.locator(f"#mandate-{public_id}")
    expect(mandate.locator(".mandate-status")).to_have_text("active")
    fits_the_screen(page)
    page.screenshot(path=tmp_path / "autopay.png", full_page=True)
    assert status_of(db, public_id) == "active"

    mandate.get_by_role("button", name="Revoke").click()
    expect(page).to_have_url(re.compile(r"/autopay$"))
    expect(page.locator(f"#mandate-{public_id} .mandate-status")).to_have_text("revoked")
    expect(page.locator(f"#mandate-{public_id}").get_by_role("button")).to_have_count(0)
    fits_the_screen(page)
    assert status_of(db, public_id) == "revoked"
    assert event_types(db, shop) == ["mandate.approved", "mandate.revoked"]
