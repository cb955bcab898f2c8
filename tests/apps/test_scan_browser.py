"""Scan and pay in Chromium on a 375×812 phone, its camera a FAKE one playing
a video of a real QR code (Chromium's ``--use-file-for-fake-video-capture``
with a Y4M file made from the picture: tests/scan_helpers.py): the shop's QR
as its dashboard shows it, scanned, lands on the shop's pay page, and is paid
with the PIN; a person's receive QR from their /me/qr page lands on the send
page to them; a QR that is not the wallet's is refused on the page, and a
photo of a wallet QR (the file picker) is read the same way."""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..live_servers import CHROMIUM, CHROMIUM_ARGS, confirm_in_browser, serving
from ..mandate_helpers import make_shop
from ..scan_helpers import qr_image, write_y4m
from ..wallet_helpers import PASSWORD, PIN, balance, make_user
from .test_stepup_browser import fits_the_screen

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
ASHA, RAVI = "+919876543210", "+919812345678"


@pytest.fixture
def servers(web_settings, user_wsgi):
    with serving(user_wsgi) as user_url:
        merchant = merchant_main({}, **{**web_settings, "wallet.user_app_url": user_url})
        try:
            with serving(merchant) as merchant_url:
                yield user_url, merchant_url
        finally:
            dispose_app_engine(merchant)


@contextlib.contextmanager
def camera_playing(chromium: Browser, video: Path) -> Iterator[Browser]:
    """A second Chromium (of the run's Playwright) whose camera plays ``video``,
    allowed without asking."""
    browser = chromium.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"])
    try:
        yield browser
    finally:
        browser.close()


def phone_page(browser: Browser, base_url: str, **options) -> Page:
    context = browser.new_context(base_url=base_url, locale="en-IN", viewport=PHONE, **options)
    return context.new_page()


def user_login(page: Page, phone: str) -> None:
    page.goto("/login")
    page.locator("#phone").fill(phone)
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def screenshot_of(page: Page, selector: str, path: Path) -> Image.Image:
    """The element as the browser drew it: the QR code a camera would see."""
    page.locator(selector).screenshot(path=str(path))
    return Image.open(path)


def test_scanning_a_shops_qr_opens_its_pay_page_and_pays(db, chromium, servers, tmp_path):
    user_url, merchant_url = servers
    make_shop(db, "chai-point", endpoint=False)
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    # The shop's QR, as its dashboard draws it (sharp: 3 device pixels a pixel).
    shop = phone_page(chromium, merchant_url, device_scale_factor=3)
    shop.goto("/login")
    shop.locator("#email").fill("chai-point@example.com")
    shop.locator("#password").fill(PASSWORD)
    shop.locator("#login-form button").click()
    expect(shop.locator("#pay-url")).to_have_text(f"{user_url}/pay/chai-point")
    code = screenshot_of(shop, "img[alt^='QR code for']", tmp_path / "shop-qr.png")
    shop.context.close()

    with camera_playing(chromium, write_y4m(tmp_path / "shop.y4m", code)) as camera:
        page = phone_page(camera, user_url)
        user_login(page, "98765 43210")
        page.goto("/scan")
        expect(page).to_have_url(f"{user_url}/pay/chai-point", timeout=15_000)
        expect(page.locator("h1")).to_contain_text("Chai-Point")
        fits_the_screen(page)
        page.locator("#amount").fill("120")
        page.locator("#pay-form button[type=submit]").click()
        confirm_in_browser(page, PIN, "Pay now")
        expect(page).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
        page.screenshot(path=str(tmp_path / "paid.png"), full_page=True)
        fits_the_screen(page)
    assert balance(db, asha) == (880_00, 0)


def test_scanning_a_persons_qr_opens_the_send_page_to_them(db, chromium, live_server,
                                                          tmp_path):
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    # Ravi chooses his handle and shows his QR code.
    ravis = phone_page(chromium, live_server, device_scale_factor=2)
    user_login(ravis, "98123 45678")
    ravis.goto("/me/qr")
    ravis.locator("#handle").fill("ravi-k")
    ravis.get_by_role("button", name="Choose this handle").click()
    expect(ravis.locator("#my-handle")).to_have_text("ravi-k@wallet")
    expect(ravis.locator("#my-qr-url")).to_have_text(f"{live_server}/to/ravi-k")
    fits_the_screen(ravis)
    ravis.screenshot(path=str(tmp_path / "my-qr.png"), full_page=True)
    code = screenshot_of(ravis, "#my-qr-code", tmp_path / "ravi-qr.png")
    ravis.context.close()

    with camera_playing(chromium, write_y4m(tmp_path / "ravi.y4m", code)) as camera:
        page = phone_page(camera, live_server)
        user_login(page, "98765 43210")
        page.goto("/scan")
        expect(page).to_have_url(f"{live_server}/to/ravi-k", timeout=15_000)
        expect(page.locator("h1")).to_have_text("Send money to Ravi K•••••")
        expect(page.locator("#recipient-verified")).to_have_text("(verified name)")
        fits_the_screen(page)
        page.screenshot(path=str(tmp_path / "send-to-ravi.png"), full_page=True)
        page.locator("#amount").fill("75.50")
        page.locator("#send-form button[type=submit]").click()
        expect(page.locator("#confirm-question")).to_have_text(
            "Send ₹75.50 to Ravi Kumar (+91 ••••• 45678)?")
        confirm_in_browser(page, PIN, "Send now")
        expect(page).to_have_url(re.compile(r"/transactions/\d+\?sent=1$"))
    assert balance(db, ravi) == (75_50, 0) and balance(db, asha) == (924_50, 0)


def test_a_qr_that_is_not_the_wallets_is_refused_and_a_photo_works(db, chromium,
                                                                    live_server, tmp_path):
    make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    make_shop(db, "chai-point", endpoint=False)
    other = qr_image("https://evil.example/pay/chai-point", scale=6)
    with camera_playing(chromium, write_y4m(tmp_path / "other.y4m", other)) as camera:
        page = phone_page(camera, live_server)
        user_login(page, "98765 43210")
        page.goto("/scan")
        expect(page.locator("#scan-status")).to_have_text(
            "This QR is not a wallet payment code.", timeout=15_000)
        expect(page).to_have_url(f"{live_server}/scan")
        assert page.evaluate("document.getElementById('scan-video').videoWidth") > 0
        fits_the_screen(page)
        page.screenshot(path=str(tmp_path / "scan-refused.png"), full_page=True)
        # A photo of the shop's QR code, picked from the phone's files.
        photo = tmp_path / "photo.png"
        qr_image(f"{live_server}/pay/chai-point").save(photo)
        page.locator("#scan-file").set_input_files(str(photo))
        expect(page).to_have_url(f"{live_server}/pay/chai-point", timeout=15_000)
