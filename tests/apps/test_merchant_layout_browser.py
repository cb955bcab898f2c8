"""The merchant app's layout in a real browser (Chromium), on a desktop screen
and a 375×812 phone, measured rather than looked at: buttons that read on
their card (#3), tables and flash messages within their cards, the confirm
step's buttons lined up (#13). Screenshots go to /tmp for a person to look at."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Locator, Page, expect

from wallet.core.codes import Event
from wallet.merchants.webhooks import MerchantWebhooks, WebhookPolicy
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import serving
from ..wallet_helpers import PASSWORD, make_user, ready_to_settle
from .test_merchant_app import make_merchant, pay_at
from .test_merchant_webhooks import Recorder, pay_request
from .test_stepup_browser import SCREENS, fits_the_screen

pytestmark = pytest.mark.browser

#: WCAG's least contrast for the parts of a control one must see (1.4.11).
MIN_CONTRAST = 3.0

#: The contrast of an element's text colour with the colour behind it (the
#: first ancestor's opaque background), as WCAG computes it.
CONTRAST_JS = """element => {
  const rgb = text => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  let behind = null;
  for (let node = element; node; node = node.parentElement) {
    const colour = rgb(getComputedStyle(node).backgroundColor);
    if (colour.length < 4 || colour[3] > 0) { behind = colour; break; }
  }
  behind = behind || [255, 255, 255];
  const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(behind)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.fixture
def merchant_url(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.settlement_account_cooling_off_s": "0"})
    try:
        with serving(app) as url:
            yield url
    finally:
        dispose_app_engine(app)


@pytest.fixture(params=list(SCREENS))
def shop_page(request, chromium, merchant_url):
    context = chromium.new_context(base_url=merchant_url, locale="en-IN",
                                   viewport=SCREENS[request.param])
    page = context.new_page()
    page.screen_name = request.param  # (for the screenshots' names)
    yield page
    context.close()


def log_in(page: Page) -> None:
    page.goto("/login")
    page.locator("#email").fill("chai@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def contrast(element: Locator) -> float:
    return float(element.evaluate(CONTRAST_JS))


def box(element: Locator) -> dict[str, float]:
    found = element.bounding_box()
    assert found is not None, "not displayed"
    return found


def within(inner: Locator, outer: Locator) -> None:
    """``inner``'s box inside ``outer``'s (to the pixel's rounding)."""
    a, b = box(inner), box(outer)
    assert a["x"] >= b["x"] - 0.5, (a, b)
    assert a["x"] + a["width"] <= b["x"] + b["width"] + 0.5, (a, b)


def shot(page: Page, name: str) -> None:
    page.screenshot(path=f"/tmp/merchant-{name}-{page.screen_name}.png", full_page=True)


def test_revoke_and_resend_read_on_their_cards(db, shop_page):
    shop = make_merchant(db)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    with db() as session, session.begin():
        endpoint_id = MerchantWebhooks(session, WebhookPolicy(require_https=False)).create(
            shop, "https://shop.example/hook", Event.ALL).id
    pay_request(db, shop, asha, tasks=Recorder())
    page = shop_page
    log_in(page)
    page.goto("/api-keys")
    page.locator("#name").fill("web shop server")
    page.locator("#create-key").click()
    revoke = page.get_by_role("button", name="Revoke")
    expect(revoke).to_be_visible()
    shot(page, "api-keys")
    assert contrast(revoke) >= MIN_CONTRAST
    page.goto(f"/webhooks/{endpoint_id}")
    resend = page.locator("#deliveries").get_by_role("button", name="Resend").first
    shot(page, "webhook")
    assert contrast(resend) >= MIN_CONTRAST
    # (the top bar's own "Log out" stays white on the dark bar)
    assert contrast(page.get_by_role("button", name="Log out")) >= MIN_CONTRAST


def test_the_delivery_log_stays_within_its_card(db, shop_page):
    shop = make_merchant(db)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    with db() as session, session.begin():
        endpoint_id = MerchantWebhooks(session, WebhookPolicy(require_https=False)).create(
            shop, "https://shop.example/hook", Event.ALL).id
    for reference in ("order-1", "order-2"):
        pay_request(db, shop, asha, reference, tasks=Recorder())
    page = shop_page
    log_in(page)
    page.goto(f"/webhooks/{endpoint_id}")
    table = page.locator("#deliveries")
    card = page.locator("section.card", has=table)
    within(table, card)
    fits_the_screen(page)
    shot(page, "delivery-log")


def test_a_flash_is_no_wider_than_the_cards(db, shop_page):
    make_merchant(db)
    page = shop_page
    log_in(page)
    page.goto("/settings/checkout")
    page.locator("#return_origins").fill("https://shop.example")
    page.get_by_role("button", name="Save").click()
    flash = page.locator("main > .flash")
    expect(flash).to_have_text("Checkout settings saved.")
    within(flash, page.locator("section.card"))
    fits_the_screen(page)
    shot(page, "flash")


def test_the_confirm_steps_buttons_line_up(db, shop_page):
    shop = make_merchant(db)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    pay_at(db, asha, "chai-point", 600_00, dt.datetime.now(dt.timezone.utc), "form-key-shop-01")
    ready_to_settle(db, shop)
    page = shop_page
    log_in(page)
    page.goto("/settle")
    page.locator("#amount").fill("250")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Settle ₹250.00")
    shot(page, "confirm")
    first = box(page.locator("#confirm-button"))
    second = box(page.get_by_role("button", name="Change details"))
    side_by_side = abs(first["y"] - second["y"]) < 1
    stacked = abs(first["x"] - second["x"]) < 1 and abs(first["width"] - second["width"]) < 1
    assert side_by_side or stacked, (first, second)
    within(page.get_by_role("button", name="Change details"), page.locator("#confirm"))
    fits_the_screen(page)
