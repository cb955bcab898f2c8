"""The merchant app's integration pages: API keys (a secret shown once, kept
hashed, several per shop, revoked at once) and the checkout settings (return
origins, https only in production)."""
from __future__ import annotations

import re

import pytest
import webtest
from sqlalchemy import select

from wallet.core.errors import WalletError
from wallet.core.models import Merchant
from wallet.identity.accounts import AccountService
from wallet.merchants.keys import MAX_LIVE_KEYS, MerchantKeys
from wallet.merchants.models import MerchantApiKey
from wallet.merchants.return_origins import parse_origins
from webapp.merchant import main as merchant_main

from ..api_helpers import auth
from ..conftest import PRODUCTION_KYC_SETTINGS, dispose_app_engine
from ..wallet_helpers import PASSWORD


def make_merchant(db, handle="chai-point", email="chai@example.com") -> int:
    with db() as session, session.begin():
        return AccountService(session, bcrypt_rounds=4).signup_merchant(
            handle, "Chai Point", email, PASSWORD).id


def merchant_app_for(settings):
    wsgi = merchant_main({}, **settings)
    return wsgi, webtest.TestApp(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})


@pytest.fixture
def shop(db):
    return make_merchant(db)


@pytest.fixture
def merchant_app(web_settings, shop):
    wsgi, app = merchant_app_for(web_settings)
    log_in(app)
    yield app
    dispose_app_engine(wsgi)


def log_in(app, email="chai@example.com"):
    form = app.get("/login").forms["login-form"]
    form["email"], form["password"] = email, PASSWORD
    form.submit(status=303)


def create_key(app, name="web shop server", status=200):
    form = app.get("/api-keys").forms["new-key-form"]
    form["name"] = name
    return form.submit(status=status)


def secret_on(page) -> str:
    return re.search(r'id="new-key-secret">(sk_live_[A-Za-z0-9_-]{43})<', page.text).group(1)


# ------------------------------------------------------------------ API keys


def test_a_new_key_is_shown_once_and_stored_hashed(merchant_app, db):
    made = create_key(merchant_app)
    secret = secret_on(made)
    assert made.headers["Cache-Control"] == "no-store"
    with db() as session:
        stored = session.scalars(select(MerchantApiKey)).one()
        assert stored.name == "web shop server" and stored.prefix == secret[:16]
        assert secret not in (stored.key_sha256, stored.prefix) and len(stored.key_sha256) == 64
        assert MerchantKeys(session).authenticate(secret)[0].id == stored.id
    listed = merchant_app.get("/api-keys")
    assert secret not in listed.text and stored.prefix in listed.text
    assert "never" in listed.text  # not used yet
    assert "API keys" in merchant_app.get("/dashboard").text  # in the nav


def test_several_keys_for_rotation_and_revoking_one_stops_it_at_once(merchant_app, db,
                                                                      api):
    old = secret_on(create_key(merchant_app, "old server"))
    new = secret_on(create_key(merchant_app, "new server"))
    for secret in (old, new):
        api.get("/v1/payment_requests", headers=auth(secret), status=200)
    page = merchant_app.get("/api-keys")
    assert page.text.index("new server") < page.text.index("old server")  # newest first
    assert "never" not in page.text  # both used: last-used times shown
    with db() as session:
        old_id = session.scalar(select(MerchantApiKey.id).where(
            MerchantApiKey.name == "old server"))
    assert "Key revoked" in page.forms[f"revoke-{old_id}"].submit(status=303).follow().text
    reply = api.get("/v1/payment_requests", headers=auth(old), status=401)
    assert reply.json["code"] == "unauthorized"
    api.get("/v1/payment_requests", headers=auth(new), status=200)
    assert "old server" not in merchant_app.get("/api-keys").text


def test_keys_need_a_name_and_are_limited(merchant_app, db):
    page = create_key(merchant_app, "   ", status=400)
    assert "Name the key" in page.text and "new-key-secret" not in page.text
    for n in range(MAX_LIVE_KEYS):
        create_key(merchant_app, f"server {n}")
    page = create_key(merchant_app, "one too many", status=400)
    assert "revoke one" in page.text
    with db() as session:
        assert len(session.scalars(select(MerchantApiKey)).all()) == MAX_LIVE_KEYS


def test_another_shops_key_cannot_be_revoked(merchant_app, db, web_settings):
    other = make_merchant(db, "other-shop", "other@example.com")
    with db() as session, session.begin():
        theirs = MerchantKeys(session).issue(session.get(Merchant, other), "theirs").record.id
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      merchant_app.get("/api-keys").text).group(1)
    merchant_app.post(f"/api-keys/{theirs}/revoke", {"csrf_token": token}, status=404)
    merchant_app.post(f"/api-keys/{theirs}/revoke", {}, status=400)  # no CSRF token
    with db() as session:
        assert session.get(MerchantApiKey, theirs).revoked_at is None


def test_the_pages_need_a_login(web_settings, shop):
    wsgi, app = merchant_app_for(web_settings)
    try:
        for path in ("/api-keys", "/settings/checkout"):
            assert "/login?next=" in app.get(path, status=303).headers["Location"]
    finally:
        dispose_app_engine(wsgi)


# ------------------------------------------------------------ checkout settings


def save_origins(app, text, status=303):
    form = app.get("/settings/checkout").forms["checkout-settings-form"]
    form["return_origins"] = text
    return form.submit(status=status)


def origins_of(db, merchant_id):
    with db() as session:
        return session.get(Merchant, merchant_id).return_origins


def test_return_origins_are_saved_normalised(merchant_app, db, shop):
    saved = save_origins(merchant_app, "https://Shop.Example/\nhttps://shop.example:443 "
                                       "http://localhost:8000").follow()
    assert "Checkout settings saved" in saved.text
    assert origins_of(db, shop) == "https://shop.example http://localhost:8000"
    assert "https://shop.example\nhttp://localhost:8000" in saved.text


@pytest.mark.parametrize("text", [
    "https://shop.example/paid", "shop.example", "ftp://shop.example",
    "https://user@shop.example", "https://shop.example?x=1", "https://shop.example#top",
    "https://shop.example:99999", "https://-bad-.example", "javascript:alert(1)",
    "https://shop.example https://x.example/path",
])
def test_bad_origins_are_refused_and_nothing_changes(merchant_app, db, shop, text):
    save_origins(merchant_app, "https://shop.example")
    page = save_origins(merchant_app, text, status=400)
    assert "not an origin" in page.text or "port" in page.text
    assert origins_of(db, shop) == "https://shop.example"


def test_production_takes_https_origins_only(web_settings, db, shop):
    wsgi, app = merchant_app_for({**web_settings, **PRODUCTION_KYC_SETTINGS,
                                  "wallet.environment": "production"})
    try:
        log_in(app)
        page = save_origins(app, "https://shop.example http://shop.example", status=400)
        assert "use https://" in page.text
        save_origins(app, "https://shop.example")
        assert origins_of(db, shop) == "https://shop.example"
    finally:
        dispose_app_engine(wsgi)


def test_origins_are_limited():
    with pytest.raises(WalletError, match="Up to 10"):
        parse_origins(" ".join(f"https://s{n}.example" for n in range(11)), https_only=True)
    assert parse_origins("https://[::1]:8443 http://127.0.0.1", https_only=False) == [
        "https://[::1]:8443", "http://127.0.0.1"]
