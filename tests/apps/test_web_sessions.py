"""Sessions of the three page apps (user, merchant, console) are records on
the server (wallet.identity.web_sessions): a copy of a cookie taken before its owner
signed out is refused after; "sign out everywhere else" leaves only the
session that asked; a password change or a PIN reset ends the others (a
user's API tokens too); a session ends at its absolute lifetime however busy
it is. Time moves by the apps' injected clock (``registry["clock"]``), never
by sleeping."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

import pytest
import webtest
from sqlalchemy import select

from wallet.core.codes import utcnow
from wallet.identity.models import WebSession
from wallet.operations.models import AuditEntry

from ..wallet_helpers import PASSWORD, login, make_user
from .test_admin_console import OP_PASSWORD, add_operator, admin_settings, admin_wsgi  # noqa: F401 (fixtures)
from .test_admin_console import sign_in as console_sign_in
from .test_merchant_app import make_merchant, merchant_login, merchant_wsgi  # noqa: F401

ASHA_PHONE = "98765 43210"
NEW_PASSWORD = "violet kettle harbour 42"


class Clock:
    """The apps' one clock in a test: the real time moved on by ``advance``."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@dataclass
class Site:
    """One page app under test: how to open a browser on it, sign in, and
    tell whether a browser is signed in."""

    name: str
    wsgi: object
    cookie: str
    address: str
    home: str  # a page only a signed-in browser sees
    sign_in_with: Callable[..., webtest.TestResponse]  # (browser, password=...)
    lifetime: dt.timedelta
    idle: dt.timedelta

    def browser(self) -> webtest.TestApp:
        return webtest.TestApp(self.wsgi, extra_environ={"REMOTE_ADDR": self.address})

    def signed_in_browser(self) -> webtest.TestApp:
        browser = self.browser()
        assert self.sign_in_with(browser).status_int == 303
        assert self.signed_in(browser)
        return browser

    def copy_of(self, browser: webtest.TestApp) -> webtest.TestApp:
        """Another browser holding a copy of ``browser``'s cookie."""
        thief = self.browser()
        thief.set_cookie(self.cookie, browser.cookies[self.cookie])
        return thief

    def signed_in(self, browser: webtest.TestApp) -> bool:
        status = browser.get(self.home, expect_errors=True).status_int
        assert status in (200, 303), status
        return status == 200

    def sign_out(self, browser: webtest.TestApp) -> None:
        browser.post("/logout", {"csrf_token": csrf(browser, self.home)}, status=303)


def csrf(browser: webtest.TestApp, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path).text).group(1)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def user_site(user_wsgi, db, clock):
    user_wsgi.registry["clock"] = clock
    make_user(db, "+919876543210", "Asha Verma")
    return Site("user", user_wsgi, "wallet_user", "203.0.113.7", "/dashboard",
                lambda browser, password=PASSWORD: login(browser, ASHA_PHONE, password),
                dt.timedelta(hours=12), dt.timedelta(minutes=30))


@pytest.fixture
def merchant_site(merchant_wsgi, db, clock):  # noqa: F811 (a fixture)
    merchant_wsgi.registry["clock"] = clock
    make_merchant(db)
    return Site("merchant", merchant_wsgi, "wallet_merchant", "203.0.113.9", "/dashboard",
                lambda browser, password=PASSWORD: merchant_login(browser, password=password),
                dt.timedelta(hours=12), dt.timedelta(minutes=30))


@pytest.fixture
def console_site(admin_wsgi, db, clock):  # noqa: F811 (a fixture)
    admin_wsgi.registry["clock"] = clock
    totp = add_operator(db, "olga", "operator")

    def sign_in(browser, password=OP_PASSWORD):
        # A TOTP code is good once per 30-second step: each sign-in is a step later.
        clock.advance(seconds=30)
        return console_sign_in(browser, "olga", totp.at(clock()), password)

    return Site("console", admin_wsgi, "wallet_admin", "127.0.0.1", "/", sign_in,
                dt.timedelta(hours=8), dt.timedelta(minutes=15))


@pytest.fixture(params=["user", "merchant", "console"])
def site(request) -> Site:
    return request.getfixturevalue(f"{request.param}_site")


def test_a_copied_cookie_is_refused_after_sign_out(site):
    owner = site.signed_in_browser()
    thief = site.copy_of(owner)
    assert site.signed_in(thief)  # the copy works while the session lives...
    site.sign_out(owner)
    assert not site.signed_in(owner)
    assert not site.signed_in(thief)  # ...and not after its owner signed out


def test_a_new_sign_in_ends_the_browsers_previous_session(user_site):
    browser = user_site.signed_in_browser()
    before = user_site.copy_of(browser)
    again = browser.post("/login", {"csrf_token": csrf(browser, "/dashboard"),
                                    "phone": ASHA_PHONE, "password": PASSWORD})
    assert again.status_int == 303
    assert user_site.signed_in(browser) and not user_site.signed_in(before)


def test_sign_out_everywhere_else_leaves_only_this_session(site):
    laptop, phone, office = (site.signed_in_browser() for _ in range(3))
    copy_of_phone = site.copy_of(phone)
    account = laptop.get("/account")
    assert 'id="other-sessions" data-count="2"' in account.text
    done = account.forms["sign-out-others-form"].submit(status=303).follow()
    assert 'id="other-sessions" data-count="0"' in done.text
    assert site.signed_in(laptop)
    assert not any(site.signed_in(b) for b in (phone, office, copy_of_phone))


def test_the_absolute_lifetime_ends_even_a_busy_session(site, clock):
    browser = site.signed_in_browser()
    step = min(site.idle / 2, dt.timedelta(minutes=10))
    busy_for = dt.timedelta()
    while busy_for + step < site.lifetime:
        clock.advance(seconds=step.total_seconds())
        busy_for += step
        assert site.signed_in(browser), f"signed out after {busy_for} of activity"
    clock.advance(seconds=(site.lifetime - busy_for).total_seconds())
    assert not site.signed_in(browser)
    # Signing in again starts a new lifetime.
    assert site.sign_in_with(browser).status_int == 303 and site.signed_in(browser)


def test_an_idle_session_ends_on_the_server_too(site, clock):
    browser = site.signed_in_browser()
    clock.advance(seconds=(site.idle + dt.timedelta(minutes=2)).total_seconds())
    assert not site.signed_in(browser)


# -------------------------------------------------------- password and PIN


def change_password(browser, current=PASSWORD, new=NEW_PASSWORD, repeat=None):
    form = browser.get("/account").forms["password-form"]
    form["current_password"], form["password"] = current, new
    form["repeat"] = new if repeat is None else repeat
    return form.submit(expect_errors=True)


@pytest.mark.parametrize("name", ["user", "merchant"])
def test_a_password_change_ends_the_other_sessions(request, name, db):
    site: Site = request.getfixturevalue(f"{name}_site")
    here, elsewhere = site.signed_in_browser(), site.signed_in_browser()
    response = change_password(here)
    assert response.status_int == 303
    assert "signed out everywhere else" in response.follow().text
    assert site.signed_in(here) and not site.signed_in(elsewhere)
    with db() as session:
        reasons = session.scalars(select(WebSession.revoked_reason)
                                  .where(WebSession.revoked_at.is_not(None))).all()
    assert reasons == ["password_changed"]
    # The new password signs in, the old one no longer does.
    site.sign_out(here)
    assert site.sign_in_with(here).status_int == 400
    assert site.sign_in_with(here, NEW_PASSWORD).status_int == 303


@pytest.mark.parametrize("name", ["user", "merchant"])
def test_a_refused_password_change_changes_nothing(request, name):
    site: Site = request.getfixturevalue(f"{name}_site")
    here, elsewhere = site.signed_in_browser(), site.signed_in_browser()
    wrong = change_password(here, current="not my password")
    assert wrong.status_int == 400 and "not your current password" in wrong.text
    weak = change_password(here, new="password")
    assert weak.status_int == 400 and "too easy to guess" in weak.text
    typo = change_password(here, repeat=NEW_PASSWORD + "!")
    assert typo.status_int == 400 and "differ" in typo.text
    assert site.signed_in(here) and site.signed_in(elsewhere)
    site.sign_out(here)
    assert site.sign_in_with(here).status_int == 303  # the old password still works


def test_wrong_current_passwords_are_throttled_as_log_ins_are(user_site):
    here = user_site.signed_in_browser()
    for _ in range(5):
        assert change_password(here, current="guess").status_int == 400
    throttled = change_password(here)  # even the right one now
    assert throttled.status_int == 429 and "Too many failed attempts" in throttled.text


def api_token(api, device="Asha's phone") -> str:
    response = api.post_json("/v1/tokens", {"phone": ASHA_PHONE, "password": PASSWORD,
                                            "device_name": device}, status=201)
    return response.json["token"]


def api_signed_in(api, token) -> bool:
    status = api.get("/v1/me", headers={"Authorization": f"Bearer {token}"},
                     expect_errors=True).status_int
    assert status in (200, 401)
    return status == 200


def test_a_password_change_signs_the_phone_app_out(user_site, api):
    phone = api_token(api)
    here = user_site.signed_in_browser()
    assert change_password(here).status_int == 303
    assert not api_signed_in(api, phone)
    assert user_site.signed_in(here)


def test_a_pin_reset_ends_the_other_sessions_and_the_phone_app(user_site, api, db):
    phone = api_token(api)
    here, elsewhere = user_site.signed_in_browser(), user_site.signed_in_browser()
    form = here.get("/pin/reset").forms["pin-reset-form"]
    form["password"], form["pin"], form["repeat"] = PASSWORD, "2468", "2468"
    assert form.submit().status_int == 303
    assert user_site.signed_in(here)
    assert not user_site.signed_in(elsewhere) and not api_signed_in(api, phone)
    with db() as session:
        assert set(session.scalars(select(WebSession.revoked_reason))) == {None, "pin_reset"}


def test_sign_out_everywhere_else_signs_the_phone_app_out_too(user_site, api):
    phone = api_token(api)
    here = user_site.signed_in_browser()
    here.get("/account").forms["sign-out-others-form"].submit(status=303)
    assert not api_signed_in(api, phone) and user_site.signed_in(here)


def test_a_shops_api_keys_outlive_its_password_change(merchant_site, db):
    from wallet.core.models import Merchant
    from wallet.merchants.keys import MerchantKeys

    with db() as session, session.begin():
        shop = session.scalars(select(Merchant)).one()
        key = MerchantKeys(session).issue(shop, "till").secret
    assert change_password(merchant_site.signed_in_browser()).status_int == 303
    with db() as session:
        assert MerchantKeys(session).authenticate(key) is not None


def test_the_account_page_needs_a_session_and_a_csrf_token(site):
    anonymous = site.browser()
    assert anonymous.get("/account", expect_errors=True).status_int == 303
    browser = site.signed_in_browser()
    other = site.signed_in_browser()
    forged = browser.post("/account/sign-out-others", {"csrf_token": "forged"},
                          expect_errors=True)
    assert forged.status_int == 400
    assert site.signed_in(other)


def test_api_sign_out_revokes_the_token(api, user_site):
    token = api_token(api)
    with_token = {"Authorization": f"Bearer {token}"}
    token_id = api.get("/v1/tokens", headers=with_token).json["items"][0]["id"]
    api.delete(f"/v1/tokens/{token_id}", headers=with_token, status=204)
    assert not api_signed_in(api, token)


# ------------------------------------------------------- the console's action


def support_signs_out(console, query, reason="stolen phone, owner called", status=303):
    form = console.get("/lookup", {"q": query}).forms["sign-out-form"]
    form["reason"] = reason
    return form.submit(status=status)


def test_an_operator_signs_a_user_out_everywhere(user_site, console_site, api, db):
    phone = api_token(api)
    laptop = user_site.signed_in_browser()
    console = console_site.signed_in_browser()
    done = support_signs_out(console, ASHA_PHONE).follow()
    assert "Done: 2 sessions ended" in done.text  # the browser's and the phone app's
    assert not user_site.signed_in(laptop) and not api_signed_in(api, phone)
    assert console_site.signed_in(console)
    with db() as session:
        row = session.scalars(select(AuditEntry)).one()
    assert (row.actor, row.action, row.object_type, row.outcome, row.reason) == (
        "olga", "sign_out", "user", "done", "stolen phone, owner called")


def test_an_operator_signs_a_shop_out_everywhere(merchant_site, console_site):
    till = merchant_site.signed_in_browser()
    console = console_site.signed_in_browser()
    assert "Done: 1 session ended" in support_signs_out(console, "@chai-point").follow().text
    assert not merchant_site.signed_in(till)


def test_a_viewer_cannot_sign_anyone_out(user_site, admin_wsgi, db):  # noqa: F811
    laptop = user_site.signed_in_browser()
    totp = add_operator(db, "vera", "viewer")
    viewer = webtest.TestApp(admin_wsgi, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    assert console_sign_in(viewer, "vera", totp.now()).status_int == 303
    support_signs_out(viewer, ASHA_PHONE, status=403)
    assert user_site.signed_in(laptop)
    with db() as session:
        assert session.scalars(select(AuditEntry.outcome)).one() == "refused"


# ----------------------------------------------------------------- settings


@pytest.mark.parametrize("value", ["twelve hours", "1800", "0", str(8 * 24 * 3600)])
def test_a_lifetime_out_of_range_is_refused_at_start_up(web_settings, value):
    import webapp
    from wallet.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="wallet.session_lifetime_s"):
        webapp.main({}, **{**web_settings, "wallet.session_lifetime_s": value})


def test_the_console_lifetime_must_outlast_its_idle_timeout(admin_settings):  # noqa: F811
    import admin_app
    from wallet.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="admin.session_lifetime_s"):
        admin_app.main({}, **{**admin_settings, "admin.session_lifetime_s": "600"})


def test_the_lifetime_setting_is_honoured(web_settings, db, clock):
    import webapp

    from ..conftest import dispose_app_engine

    wsgi = webapp.main({}, **{**web_settings, "wallet.session_lifetime_s": "7200"})
    try:
        wsgi.registry["clock"] = clock
        make_user(db, "+919876543210", "Asha Verma")
        site = Site("user", wsgi, "wallet_user", "203.0.113.7", "/dashboard",
                    lambda browser: login(browser, ASHA_PHONE), dt.timedelta(hours=2),
                    dt.timedelta(minutes=30))
        browser = site.signed_in_browser()
        for _ in range(11):
            clock.advance(minutes=10)
            assert site.signed_in(browser)
        clock.advance(minutes=10)
        assert not site.signed_in(browser)
    finally:
        dispose_app_engine(wsgi)
