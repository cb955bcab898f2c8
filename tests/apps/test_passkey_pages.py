"""Passkeys in the user app (webapp/views/passkeys.py), through its WSGI app
with a software authenticator (tests/passkey_helpers.py) in place of the
browser's: /me/passkeys adds, renames and removes them; the log-in page
signs in with one into a server session as a password does; a replayed
answer, a request without its CSRF token and a removed passkey are refused
on the page, never with a 500; without a relying party there are none."""
from __future__ import annotations

import re

import pytest
import webtest
from sqlalchemy import func, select

from wallet.core.models import Notification
from wallet.core.notifications import Notice
from wallet.identity.models import Passkey, WebSession

from ..conftest import dispose_app_engine
from ..passkey_helpers import SoftAuthenticator
from ..wallet_helpers import PASSWORD, PIN, login, make_user

ORIGIN = "http://localhost"
PASSKEY_SETTINGS = {"wallet.webauthn_rp_id": "localhost", "wallet.webauthn_origin": ORIGIN}
ASHA = "+919876543210"


@pytest.fixture
def app(web_settings):
    import webapp

    wsgi = webapp.main({}, **{**web_settings, **PASSKEY_SETTINGS})
    yield webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
    dispose_app_engine(wsgi)


@pytest.fixture
def asha(db):
    return make_user(db, ASHA, "Asha Verma")


def token(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def add_passkey(app, device: SoftAuthenticator, name: str = "My phone"):
    page = app.get("/me/passkeys")
    options = app.post("/me/passkeys/options", headers={"X-CSRF-Token": token(page)})
    assert options.content_type == "application/json"
    form = page.forms["passkey-add-form"]
    form["name"], form["pin"] = name, PIN
    form["credential"] = device.create(options.text)
    return form.submit(expect_errors=True)


def passkey_sign_in(app, device: SoftAuthenticator, *, next_path: str = "", answer=None):
    page = app.get("/login" + (f"?next={next_path}" if next_path else ""))
    options = app.post("/login/passkey/options", headers={"X-CSRF-Token": token(page)})
    form = page.forms["passkey-login-form"]
    form["credential"] = answer or device.get(options.text)
    return form.submit(expect_errors=True), form["credential"].value


def log_out(app) -> None:
    page = app.get("/dashboard")
    page.forms["logout-form"].submit()


def signed_in(app) -> bool:
    return app.get("/dashboard", expect_errors=True).status_int == 200


def test_add_a_passkey_then_sign_in_with_it(app, db, asha):
    assert app.get("/me/passkeys").status_int == 303  # signed out: the log-in page
    login(app, ASHA)
    page = app.get("/me/passkeys")
    assert page.html.select_one("#no-passkeys") and page.html.select_one("#passkey-add-form")
    phone = SoftAuthenticator(rp_id="localhost", origin=ORIGIN)
    added = add_passkey(app, phone)
    assert added.status_int == 303, added.text
    listed = added.follow()
    assert "Passkey “My phone” added" in listed.text
    assert listed.html.select_one(".passkey-name").get_text(" ", strip=True) == "My phone"
    assert "Not used yet" in listed.html.select_one(".passkey-used").get_text(" ", strip=True)

    log_out(app)
    assert not signed_in(app)
    done, _ = passkey_sign_in(app, phone, next_path="/transactions")
    assert done.status_int == 303 and done.location.endswith("/transactions")
    assert signed_in(app)
    used = app.get("/me/passkeys").html.select_one(".passkey-used")
    assert "Last used" in used.get_text(" ", strip=True)
    with db() as session:  # a server session, as a password's sign-in starts
        live = session.scalars(select(WebSession).where(
            WebSession.principal_id == asha, WebSession.revoked_at.is_(None))).all()
        assert len(live) == 1


def test_a_replayed_answer_is_refused_on_the_page(app, asha):
    login(app, ASHA)
    phone = SoftAuthenticator(rp_id="localhost", origin=ORIGIN)
    add_passkey(app, phone)
    log_out(app)
    done, answer = passkey_sign_in(app, phone)
    assert done.status_int == 303
    log_out(app)
    again, _ = passkey_sign_in(app, phone, answer=answer)  # a fresh challenge, an old answer
    assert again.status_int == 400
    assert "did not work" in again.html.select_one(".error.banner").get_text(" ", strip=True)
    assert not signed_in(app)


def test_the_options_need_the_csrf_token(app, asha):
    app.get("/login")
    assert app.post("/login/passkey/options", expect_errors=True).status_int == 400
    login(app, ASHA)
    assert app.post("/me/passkeys/options", expect_errors=True).status_int == 400


def test_rename_and_remove_with_the_pin_or_password(app, db, asha):
    login(app, ASHA)
    phone = SoftAuthenticator(rp_id="localhost", origin=ORIGIN)
    add_passkey(app, phone)
    page = app.get("/me/passkeys")
    rename = page.forms[1]
    rename["name"] = "\u202eevil"
    refused = rename.submit(expect_errors=True)
    assert refused.status_int == 400 and "ordinary characters" in refused.text
    rename = app.get("/me/passkeys").forms[1]
    rename["name"] = "Pixel 8"
    assert "Renamed to “Pixel 8”" in rename.submit().follow().text

    remove = app.get("/me/passkeys").forms[2]
    refused = remove.submit(expect_errors=True)
    assert refused.status_int == 400 and "PIN or your password" in refused.text
    remove = app.get("/me/passkeys").forms[2]
    remove["pin"] = "0000"
    refused = remove.submit(expect_errors=True)
    assert refused.status_int == 400 and "Wrong PIN" in refused.text
    remove = app.get("/me/passkeys").forms[2]
    remove["password"] = "not it at all"
    refused = remove.submit(expect_errors=True)
    assert refused.status_int == 400 and "not your password" in refused.text
    remove = app.get("/me/passkeys").forms[2]
    remove["pin"] = PIN
    removed = remove.submit().follow()
    assert "Passkey removed" in removed.text and removed.html.select_one("#no-passkeys")
    with db() as session:
        assert session.scalars(select(Passkey)).all() == []
        kinds = session.scalars(select(Notification.kind).where(
            Notification.user_id == asha)).all()
        assert Notice.PASSKEY_ADDED in kinds and Notice.PASSKEY_REMOVED in kinds

    log_out(app)
    refused, _ = passkey_sign_in(app, phone)
    assert refused.status_int == 400 and "not registered" in refused.text
    assert not signed_in(app)


def test_a_password_removes_one_too(app, db, asha):
    login(app, ASHA)
    add_passkey(app, SoftAuthenticator(rp_id="localhost", origin=ORIGIN))
    remove = app.get("/me/passkeys").forms[2]
    remove["password"] = PASSWORD
    assert "Passkey removed" in remove.submit().follow().text


def test_a_junk_answer_is_a_page_not_a_500(app, asha):
    login(app, ASHA)
    page = app.get("/me/passkeys")
    app.post("/me/passkeys/options", headers={"X-CSRF-Token": token(page)})
    form = page.forms["passkey-add-form"]
    form["credential"], form["pin"] = '{"id": "AA", "response": []}', PIN
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 400 and "could not be added" in refused.text
    log_out(app)
    page = app.get("/login")
    form = page.forms["passkey-login-form"]  # no options asked: no challenge kept
    form["credential"] = "x" * 40_000
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 400 and "expired or was used" in refused.text


def test_without_a_relying_party_there_are_no_passkeys(user_app, asha):
    assert "passkey-login-form" not in user_app.get("/login").text
    login(user_app, ASHA)
    assert user_app.get("/me/passkeys", expect_errors=True).status_int == 404


def test_a_session_alone_cannot_add_a_passkey(app, db, asha):
    """A borrowed browser or a stolen cookie must not add a way in that
    outlives a password reset: the PIN (or the password) is asked."""
    device = SoftAuthenticator(rp_id="localhost", origin=ORIGIN)
    login(app, ASHA)
    page = app.get("/me/passkeys")
    options = app.post("/me/passkeys/options", headers={"X-CSRF-Token": token(page)})
    form = page.forms["passkey-add-form"]
    form["name"], form["credential"] = "Not mine", device.create(options.text)
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 400 and "Enter your PIN or your password" in refused.text
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Passkey)) == 0
