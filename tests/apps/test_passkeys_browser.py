"""Passkeys in a real browser (headless Chromium with its virtual
authenticator, driven over the DevTools protocol) on a 375×812 phone: a
passkey added from /me/passkeys, signing out, then "Sign in with a passkey"
lands on the dashboard. WebAuthn needs a secure context and a domain:
the app is browsed at http://localhost:<port> (rp id ``localhost``)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import webapp

from ..conftest import dispose_app_engine
from ..live_servers import free_ports, serving
from ..wallet_helpers import PASSWORD, PIN, make_user
from .test_stepup_browser import SCREENS, fits_the_screen

pytestmark = pytest.mark.browser
ASHA = "+919876543210"
#: Screenshots for a person to look at (WALLET_TEST_SHOTS=<dir>; absent: in tmp_path).
SHOTS = os.environ.get("WALLET_TEST_SHOTS")


@pytest.fixture
def site(web_settings):
    """The user app on http://localhost:<port>, its relying party that origin."""
    port = free_ports(1)[0]
    origin = f"http://localhost:{port}"
    app = webapp.main({}, **{**web_settings, "wallet.webauthn_rp_id": "localhost",
                             "wallet.webauthn_origin": origin})
    try:
        with serving(app, port):
            yield origin
    finally:
        dispose_app_engine(app)


@pytest.fixture
def phone(chromium, site):
    """A phone-sized page whose browser has a platform authenticator with a
    verified user (a fingerprint that always matches)."""
    context = chromium.new_context(base_url=site, locale="en-IN", viewport=SCREENS["phone"])
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True}})
    page.authenticator = (cdp, added["authenticatorId"])
    yield page
    context.close()


def shot(page: Page, tmp_path: Path, name: str) -> None:
    folder = Path(SHOTS) if SHOTS else tmp_path
    page.screenshot(path=str(folder / f"passkeys-{name}.png"), full_page=True)


def test_add_a_passkey_sign_out_and_sign_in_with_it(db, phone, tmp_path):
    make_user(db, ASHA, "Asha Verma")
    page: Page = phone
    page.goto("/login")
    page.locator("#phone").fill("98765 43210")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    page.goto("/me/passkeys")
    expect(page.locator("#no-passkeys")).to_be_visible()
    expect(page.locator("[data-passkey-unsupported]")).to_be_hidden()
    page.locator("#passkey-name").fill("My phone")
    page.locator("#passkey-pin").fill(PIN)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Passkey “My phone” added: you can sign in with it now.")
    expect(page.locator(".passkey-name")).to_have_text("My phone")
    expect(page.locator(".passkey-used")).to_have_text("Not used yet")
    fits_the_screen(page)
    shot(page, tmp_path, "list")
    cdp, authenticator = page.authenticator
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1 and stored["credentials"][0]["isResidentCredential"]

    page.goto("/me")  # (on a phone, signing out is on the Me tab)
    page.locator("#me-logout-form button").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    passkey_button = page.get_by_role("button", name="Sign in with a passkey")
    expect(passkey_button).to_be_visible()
    fits_the_screen(page)
    shot(page, tmp_path, "login")
    passkey_button.click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    fits_the_screen(page)
    shot(page, tmp_path, "dashboard")

    page.goto("/me/passkeys")
    expect(page.locator(".passkey-used")).to_contain_text("Last used")


def test_a_removed_passkey_no_longer_signs_in(db, phone, tmp_path):
    make_user(db, ASHA, "Asha Verma")
    page: Page = phone
    page.goto("/login?next=/me/passkeys")
    page.locator("#phone").fill("98765 43210")
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button").click()
    expect(page).to_have_url(re.compile(r"/me/passkeys$"))
    page.locator("#passkey-pin").fill(PIN)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator(".passkey-name")).to_have_text("Passkey 1")

    page.locator(".passkey-change summary").click()
    page.locator(".passkey-remove input[name=password]").fill(PASSWORD)
    fits_the_screen(page)
    shot(page, tmp_path, "remove")
    page.get_by_role("button", name="Remove passkey").click()
    expect(page.locator("#no-passkeys")).to_be_visible()

    page.goto("/me")  # (on a phone, signing out is on the Me tab)
    page.locator("#me-logout-form button").click()
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator(".error.banner")).to_contain_text("not registered with us")
    expect(page).to_have_url(re.compile(r"/login/passkey$"))
    fits_the_screen(page)
    shot(page, tmp_path, "removed")
