"""The counter page in Chromium on a 375×812 phone (and a desktop screen):
the merchant app's page, the announcer's stream on another port (CORS, the
page's CSP), a payment shown and said aloud the moment it is committed.
``speechSynthesis.speak`` is replaced by an init script that keeps what
would have been said, so the spoken text and language are checked."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from announcer_app import AnnouncerApp
from announcer_app.stream import StreamTiming
from wallet.core.models import MerchantStore
from wallet.settings import WalletSettings
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import free_ports, serving
from ..wallet_helpers import PASSWORD, make_user
from .test_announcer import SECRET, Clock, pay, wait_until_final
from .test_merchant_app import make_merchant
from .test_stepup_browser import SCREENS, fits_the_screen

pytestmark = pytest.mark.browser

#: How long a payment may take to reach the page: on a PostgreSQL server shared
#: with others, a transaction of another database still running holds the
#: horizon back a moment (docs/operations.md).
ARRIVAL_MS = 20_000

#: What the page would have said: each utterance's text and language.
SPEECH_STUB = """
window.__spoken = [];
Object.defineProperty(window, "speechSynthesis", {configurable: true, value: {
  speak: function (u) { window.__spoken.push({text: u.text, lang: u.lang}); },
  cancel: function () {}, getVoices: function () { return []; }
}});
"""


@pytest.fixture
def clock():
    return Clock(dt.datetime.now(dt.timezone.utc))


@pytest.fixture
def servers(web_settings, clock):
    """The merchant app and the announcer, each on a port of its own."""
    merchant_port, announcer_port = free_ports(2)
    merchant_url = f"http://127.0.0.1:{merchant_port}"
    settings = {**web_settings, "wallet.counter_token_secret": SECRET,
                "announcer.stream_url": f"http://127.0.0.1:{announcer_port}/stream"}
    merchant = merchant_main({}, **settings)
    merchant.registry["clock"] = clock
    announcer = AnnouncerApp(WalletSettings.from_dict(settings),
                             allowed_origins=frozenset({merchant_url}),
                             timing=StreamTiming(poll_interval_s=0.1, heartbeat_s=5,
                                                 retry_ms=500),
                             max_streams=5, clock=clock)
    try:
        with serving(announcer, port=announcer_port), serving(merchant, port=merchant_port):
            try:
                yield merchant_url
            finally:
                announcer.stop()
    finally:
        announcer.engine.dispose()
        dispose_app_engine(merchant)


@pytest.fixture(params=list(SCREENS))
def counter_page(request, chromium, servers):
    context = chromium.new_context(base_url=servers, locale="en-IN",
                                   viewport=SCREENS[request.param])
    context.add_init_script(SPEECH_STUB)
    yield context.new_page()
    context.close()


def spoken(page: Page) -> list[dict[str, str]]:
    return page.evaluate("window.__spoken")


def test_a_payment_is_shown_and_said_aloud_in_english_then_hindi(db, clock, counter_page,
                                                                 tmp_path):
    make_merchant(db)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=5_000_00)
    before = pay(db, clock, asha, 40_00, "form-key-browser-01")  # today's, before the page
    wait_until_final(db)
    page = counter_page
    page.goto("/login")
    page.locator("#email").fill("chai@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    page.get_by_role("link", name="Counter").click()
    expect(page.locator("#store-name")).to_have_text("Chai Point")
    expect(page.locator("#counter-status")).to_contain_text("Live")
    # Today's payment so far is listed and counted, not said.
    expect(page.locator(f"#payment-{before}")).to_contain_text("₹40.00", timeout=ARRIVAL_MS)
    expect(page.locator("#today-count")).to_have_text("1")
    page.locator("#sound").click()  # a tap: browsers speak only after one
    expect(page.locator("#sound")).to_contain_text("Sound on")
    assert spoken(page) == [{"text": "Sound on", "lang": "en-IN"}]
    fits_the_screen(page)

    paid = pay(db, clock, asha, 250_00, "form-key-browser-02")
    expect(page.locator("#latest-amount")).to_have_text("₹250.00", timeout=ARRIVAL_MS)
    expect(page.locator(f"#payment-{paid}")).to_contain_text("₹250.00")
    expect(page.locator("#today-count")).to_have_text("2")
    expect(page.locator("#today-total")).to_have_text("₹290.00")
    page.wait_for_function("window.__spoken.length === 2", timeout=ARRIVAL_MS)
    assert spoken(page)[1] == {"text": "Chai Point: two hundred and fifty rupees received",
                               "lang": "en-IN"}

    page.locator("#lang-hi").click()
    expect(page.locator("#lang-hi")).to_have_attribute("aria-pressed", "true")
    again = pay(db, clock, asha, 1_200_50, "form-key-browser-03")
    expect(page.locator("#latest-amount")).to_have_text("₹1,200.50", timeout=ARRIVAL_MS)
    expect(page.locator("#today-total")).to_have_text("₹1,490.50")
    page.wait_for_function("window.__spoken.length === 3", timeout=ARRIVAL_MS)
    assert spoken(page)[2] == {"text": "Chai Point: एक हज़ार दो सौ रुपये पचास पैसे प्राप्त हुए",
                               "lang": "hi-IN"}
    assert page.locator("#today li").count() == 3
    assert page.locator(f"#payment-{again}").count() == 1
    fits_the_screen(page)
    page.screenshot(path=tmp_path / "counter.png", full_page=True)


def test_the_page_picks_up_after_the_stream_drops(db, clock, counter_page):
    """The announcer ends a stream whose token ran out: the page gets a new
    token and resumes after the last payment it had (nothing twice)."""
    shop = make_merchant(db)
    with db() as session, session.begin():
        session.add(MerchantStore(merchant_id=shop, name="Chai Point Station",
                                  handle="chai-station", created_at=clock()))
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=5_000_00)
    page = counter_page
    page.goto("/login")
    page.locator("#email").fill("chai@example.com")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    page.goto("/counter")
    expect(page.locator("#store option")).to_have_count(2)
    expect(page.locator("#counter-status")).to_contain_text("Live")
    page.locator("#sound").click()
    first = pay(db, clock, asha, 10_00, "form-key-browser-11")
    expect(page.locator(f"#payment-{first}")).to_be_visible(timeout=ARRIVAL_MS)
    clock.move(minutes=11)  # the token runs out: the stream ends, the page renews it
    second = pay(db, clock, asha, 20_00, "form-key-browser-12")
    expect(page.locator(f"#payment-{second}")).to_be_visible(timeout=ARRIVAL_MS)
    expect(page.locator("#today-count")).to_have_text("2")
    page.wait_for_function("window.__spoken.length === 3", timeout=ARRIVAL_MS)
    assert [s["text"] for s in spoken(page)[1:]] == [
        "Chai Point: ten rupees received", "Chai Point: twenty rupees received"]
    fits_the_screen(page)
