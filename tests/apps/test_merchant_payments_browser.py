"""The merchant app's dashboard charts, payments list and refund confirm step
in a real browser (Chromium), on a desktop screen and a 375×812 phone:
axis labels that say ₹ amounts and days/months without running into each
other, the list's totals/search/stores on the screen, a large refund
confirmed with the shop PIN. Screenshots under /tmp."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from wallet.core.models import Merchant, MerchantStore, Transaction
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import serving
from ..wallet_helpers import SHOP_PIN, balance, make_user, ready_to_settle, refunds
from .test_merchant_app import make_merchant, pay_at
from .test_merchant_layout_browser import box, log_in, shot, within
from .test_stepup_browser import SCREENS, fits_the_screen

pytestmark = pytest.mark.browser

#: The visible labels' text boxes, left to right: "a runs into b", or how many.
NO_OVERLAP_JS = """labels => {
  const boxes = labels
    .filter(l => getComputedStyle(l).visibility !== 'hidden' && l.textContent)
    .map(l => {
      const range = document.createRange();
      range.selectNodeContents(l);
      const r = range.getBoundingClientRect();
      return [r.left, r.right, l.textContent];
    });
  for (let i = 1; i < boxes.length; i++)
    if (boxes[i][0] < boxes[i - 1][1] + 2) return `${boxes[i - 1][2]} runs into ${boxes[i][2]}`;
  return boxes.length;
}"""


@pytest.fixture
def merchant_url(web_settings):
    app = merchant_main({}, **{**web_settings,
                               "wallet.merchant_refund_confirm_above_paise": "50000"})
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
    page.screen_name = request.param
    yield page
    context.close()


@pytest.fixture
def book(db):
    """Chai Point's last weeks: payments on several days (one of ₹90,000
    by Ravi at the airport kiosk), a refund."""
    shop = make_merchant(db)
    asha = make_user(db, "+919876543210", "Asha Verma", deposit_paise=20_000_00)
    ravi = make_user(db, "+919812345678", "Ravi Kumar", deposit_paise=1_00_000_00)
    now = dt.datetime.now(dt.timezone.utc)
    for days, amount in ((0, 2_500_00), (1, 800_00), (4, 12_000_00), (9, 450_00)):
        pay_at(db, asha, "chai-point", amount, now - dt.timedelta(days=days),
               f"form-key-browser-{days:05d}")
    pay_at(db, ravi, "chai-point", 90_000_00, now - dt.timedelta(days=2),
           "form-key-browser-ravi1")
    with db() as session, session.begin():
        kiosk = MerchantStore(merchant_id=shop, name="Airport kiosk", handle="chai-airport",
                              created_at=now)
        session.add(kiosk)
        session.flush()
        session.execute(update(Transaction).where(Transaction.amount_paise == 90_000_00)
                        .values(payee_store_id=kiosk.id))
        payment = session.scalar(select(Transaction).where(Transaction.amount_paise == 12_000_00))
        refunds(session).refund(session.get(Merchant, shop), payment.id, 2_000_00,
                                "form-key-browser-refund")
    return {"shop": shop, "asha": asha, "ravi": ravi, "kiosk": kiosk.id, "big": payment.id}


def test_the_dashboard_charts_have_readable_axes(db, book, shop_page):
    page: Page = shop_page
    log_in(page)
    for chart_id in ("daily-chart", "monthly-chart"):
        chart = page.locator(f"#{chart_id}")
        ticks = chart.locator(".y-axis .tick").all_text_contents()
        assert "₹0" in ticks and all(re.fullmatch(r"-?₹[0-9]{1,3}(,[0-9]{2})*(,[0-9]{3})?", t)
                                     for t in ticks), ticks
        assert any("," in t for t in ticks)  # Indian grouping: ₹1,50,000
        labels = chart.locator(".x-axis span")
        shown = labels.evaluate_all(NO_OVERLAP_JS)
        assert isinstance(shown, int) and shown >= (3 if chart_id == "daily-chart" else 6), shown
        within(chart.locator(".x-axis"), chart)
        within(chart.locator(".y-axis"), chart)
        # the labels beside the plot: the first tick level with its top, the last its bottom
        svg, axis = box(chart.locator("svg")), box(chart.locator(".y-axis"))
        assert abs((axis["y"] + axis["height"] / 2) - (svg["y"] + svg["height"] / 2)) < 2
    days = page.locator("#daily-chart .x-axis span").all_text_contents()
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=5, minutes=30))).date()
    assert days[-1] == f"{today.day} {today:%b}"
    months = [m for m in page.locator("#monthly-chart .x-axis span").all_text_contents() if m]
    assert len(months) == 12 and re.fullmatch(r"[A-Z][a-z]{2} ’\d\d", months[0])
    fits_the_screen(page)
    page.locator("#daily-chart").scroll_into_view_if_needed()
    shot(page, "dashboard")


def test_the_payments_list_finds_sums_and_shows_stores(db, book, shop_page):
    page: Page = shop_page
    log_in(page)
    page.get_by_role("link", name="Payments", exact=True).click()
    expect(page.locator("#total-count")).to_have_text("5")
    expect(page.locator("#total-gross")).to_have_text("₹1,05,750.00")
    expect(page.locator("#total-refunded")).to_have_text("₹2,000.00")
    expect(page.locator("#total-net")).to_have_text("₹1,03,750.00")
    expect(page.locator("#payments")).to_contain_text("Partly refunded")
    expect(page.locator("#payments")).to_contain_text("Airport kiosk")
    fits_the_screen(page)
    shot(page, "payments")
    page.locator("#q").fill("12")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#q-error")).to_contain_text("4 to 10 digits")
    fits_the_screen(page)
    page.locator("#q").fill("ravi")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#total-count")).to_have_text("1")
    page.locator("#q").fill("")
    page.locator("#store").select_option(label="Airport kiosk")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#total-gross")).to_have_text("₹90,000.00")
    assert f"store={book['kiosk']}" in page.locator("#csv-link").get_attribute("href")
    fits_the_screen(page)


def test_a_large_refund_is_confirmed_with_the_shop_pin(db, book, shop_page):
    ready_to_settle(db, book["shop"])  # (sets the shop PIN)
    page: Page = shop_page
    log_in(page)
    page.goto(f"/payments/{book['big']}")
    page.locator("#amount").fill("600")
    page.locator("#reason").fill("two cups broken")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Refund ₹600.00 to Asha Verma (+91 ••••• 43210)?")
    fits_the_screen(page)
    shot(page, "refund-confirm")
    page.locator("#pin").fill("9753")
    page.get_by_role("button", name="Refund now").click()
    expect(page.locator("#pin-error")).to_contain_text("Wrong PIN: 4 tries left")
    page.locator("#pin").fill(SHOP_PIN)
    page.get_by_role("button", name="Refund now").click()
    flash = page.locator("main > .flash")
    expect(flash).to_have_text("Refunded ₹600.00 to the payer.")
    within(flash, page.locator("section.card").first)
    expect(page.locator("#refunded")).to_have_text("₹2,600.00")
    fits_the_screen(page)
    shot(page, "refunded")
    assert balance(db, book["asha"])[0] == 20_000_00 - 15_750_00 + 2_600_00
