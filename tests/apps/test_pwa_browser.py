"""The installable user app in headless Chromium: the manifest is linked and
valid, the service worker registers and controls the pages, the browser finds
the app installable; offline, a page becomes the offline page (nothing was
sent) and a form says it may not have arrived; and after browsing the money
pages the worker's cache holds the offline pages, the stylesheet and the icons:
no page of a signed-in user, no figure, no name."""
from __future__ import annotations

import re
import struct

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..wallet_helpers import balance, make_user
from .test_browser import ASHA, RAVI, expect_sent, log_in, send

pytestmark = pytest.mark.browser

#: What the worker keeps (webapp/static/sw.js SHELL), relative to the app's root.
SHELL = {"offline", "offline/form", "static/style.css", "static/favicon.svg",
         "static/icon-192.png", "static/icon-512.png"}
OFFLINE_PAGE = "Your wallet needs a connection; nothing was sent."

ALL_CACHED = """async () => {
  const found = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      const type = response.headers.get("Content-Type") || "";
      const text = type.startsWith("image/") ? "" : await response.text();
      found.push({cache: name, url: request.url, text: text});
    }
  }
  return found;
}"""
WORKER = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return {scope: registration.scope, state: registration.active.state,
          script: registration.active.scriptURL,
          controlled: navigator.serviceWorker.controller !== null};
}"""


@pytest.fixture
def phone(chromium, live_server):
    """A phone-sized browser context on the live user app."""
    context = chromium.new_context(base_url=live_server, locale="en-IN",
                                   viewport={"width": 375, "height": 812}, is_mobile=True,
                                   has_touch=True)
    yield context
    context.close()  # before live_server stops


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def controlled_page(context: BrowserContext, path: str) -> Page:
    """A page at ``path`` once the service worker is active and controls it."""
    page = context.new_page()
    page.goto(path)
    worker = page.evaluate(WORKER)
    if not worker["controlled"]:  # the first visit installs it; it claims the page
        page.wait_for_function("navigator.serviceWorker.controller !== null")
    return page


def test_the_app_is_installable(phone, live_server):
    page = controlled_page(phone, "/login")
    worker = page.evaluate(WORKER)
    assert worker == {"scope": live_server + "/", "state": "activated",
                      "script": live_server + "/sw.js", "controlled": True}
    answer = page.request.get("/sw.js")
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["service-worker-allowed"] == "/"
    assert 'addEventListener("fetch"' in answer.text()  # what makes it installable

    href = page.locator("link[rel=manifest]").get_attribute("href")
    answer = page.request.get(href)
    assert answer.ok and answer.headers["content-type"] == "application/manifest+json"
    manifest = answer.json()
    assert (manifest["name"], manifest["short_name"]) == ("Wallet", "Wallet")
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/", "/", "standalone")
    # The top bar's blue and the page's background (webapp/static/style.css).
    assert (manifest["theme_color"], manifest["background_color"]) == ("#002e6e", "#f3f6fa")
    expect(page.locator("body")).to_have_css("background-color", "rgb(243, 246, 250)")
    sizes = set()
    for icon in manifest["icons"]:
        answer = page.request.get(icon["src"])
        assert answer.ok and answer.headers["content-type"] == icon["type"] == "image/png"
        width, height = png_size(answer.body())
        assert icon["sizes"] == f"{width}x{height}"
        sizes.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes

    # Chromium's own verdict (the install prompt cannot be opened headless).
    cdp = phone.new_cdp_session(page)
    found = cdp.send("Page.getAppManifest")
    assert found["url"] == live_server + "/manifest.webmanifest" and found["errors"] == []
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # A Playwright context is incognito, where nothing installs; nothing else is missing.
    assert [error["errorId"] for error in errors if error["errorId"] != "in-incognito"] == []


def test_offline_a_page_says_nothing_was_sent_and_no_money_is_cached(db, phone, live_server,
                                                                     tmp_path):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi")
    page = controlled_page(phone, "/login")
    log_in(page, "98765 43210")
    send(page, "9812345678", "120.00", note="Dinner")
    expect_sent(page, "₹120.00", to="Ravi (+91 ••••• 45678)")
    for path in ("/dashboard", "/transactions", "/add-money", "/withdraw", "/send",
                 "/notifications", "/account", "/requests", "/autopay"):
        page.goto(path)
    page.goto("/transactions")
    page.locator(".activity a").first.click()
    expect(page).to_have_url(re.compile(r"/transactions/\d+$"))

    cached = page.evaluate(ALL_CACHED)
    assert {item["url"] for item in cached} == {f"{live_server}/{path}" for path in SHELL}
    for item in cached:  # the same for everyone: no name, no phone, no figure
        for secret in ("Asha", "Ravi", "45678", "43210", "₹", "Dinner", "csrf"):
            if item["url"].endswith(".css"):
                continue
            assert secret not in item["text"].replace("₹ Wallet", ""), (secret, item["url"])

    phone.set_offline(True)
    for path in ("/dashboard", "/transactions", "/no-such-page"):
        page.goto(path)  # never the cached page: the offline page
        expect(page.locator("h1")).to_have_text("You are offline")
        expect(page.locator("#offline-message")).to_have_text(OFFLINE_PAGE)
        expect(page.locator("#available")).to_have_count(0)
        # Styled from the worker's copy of the stylesheet.
        expect(page.locator("body")).to_have_css("background-color", "rgb(243, 246, 250)")
    expect(page.locator(".topbar")).to_have_css("background-color", "rgb(0, 46, 110)")
    page.screenshot(path=tmp_path / "offline.png", full_page=True)
    phone.set_offline(False)
    page.goto("/dashboard")
    expect(page.locator("#available")).to_have_text("₹880.00")
    assert balance(db, asha)[0] == 880_00


def test_a_form_sent_offline_says_to_check_the_history(db, phone):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi")
    page = controlled_page(phone, "/login")
    log_in(page, "98765 43210")
    page.goto("/send")
    form = page.locator("#send-form")
    form.locator("#phone").fill("9812345678")
    form.locator("#amount").fill("50.00")
    form.get_by_role("button", name="Send").click()
    page.locator("#confirm-form").wait_for()
    page.locator("#pin").fill("1357")
    phone.set_offline(True)
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("h1")).to_have_text("You are offline")
    expect(page.locator("#offline-message")).to_contain_text("could not reach it")
    phone.set_offline(False)
    assert balance(db, asha)[0] == 1_000_00  # it never left the phone
