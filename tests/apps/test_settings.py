"""Configuration: secrets come from the environment and are checked at start-up."""
import pathlib

import pytest
from pyramid.paster import get_appsettings

import webapp
from wallet.settings import ConfigurationError, resolve_settings

from ..conftest import PRODUCTION_KYC_ENV

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOOD_SECRET = "a-real-random-secret-" + "z" * 32
#: Production's PIN keys (WALLET_PIN_KEYS, WALLET_PIN_KEY_ID): one real-looking key.
GOOD_PIN_KEYS = {"WALLET_PIN_KEYS": "1:a-real-random-pin-key-0123456789abcdef",
                 "WALLET_PIN_KEY_ID": "1"}
#: Production's passkeys' relying party (the user app's section).
PASSKEY_ENV = {"WALLET_WEBAUTHN_RP_ID": "wallet.example",
               "WALLET_WEBAUTHN_ORIGIN": "https://wallet.example"}


BANK_ENV = {
    f"WALLET_{bank}_{key}": value
    for bank in ("HDFC", "AXIS")
    for key, value in {
        "NETBANKING_URL": "https://netbanking.example/pay",
        "API_URL": "https://api.bank.example",
        "API_KEY": "a-real-api-key-" + "q" * 32,
        "WEBHOOK_SECRETS": "a-real-webhook-secret-" + "w" * 32,
        "WEBHOOK_NETWORKS": "192.0.2.0/24",
        }.items()
}


def production(monkeypatch, **env):
    for name in ("WALLET_DATABASE_URL", "WALLET_SESSION_SECRET", "WALLET_REDIS_URL",
                 "WALLET_USER_APP_URL", "WALLET_PIN_KEYS", "WALLET_PIN_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    env = {**BANK_ENV, **PRODUCTION_KYC_ENV, **GOOD_PIN_KEYS, **PASSKEY_ENV,
           "WALLET_REDIS_URL": "redis://127.0.0.1:6379/15",
           "WALLET_USER_APP_URL": "https://wallet.example", **env}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = get_appsettings(str(ROOT / "production.ini"), name="user")
    return resolve_settings(settings.global_conf, dict(settings))


def test_production_reads_urls_and_secrets_from_the_environment(monkeypatch, app_db_url):
    settings = production(monkeypatch, WALLET_DATABASE_URL=app_db_url,
                          WALLET_SESSION_SECRET=GOOD_SECRET)
    assert settings["sqlalchemy.url"] == app_db_url
    assert settings["wallet.secure_cookies"] == "true"
    app = webapp.main({}, **settings)
    app.registry["dbsession_factory"].kw["bind"].dispose()


def test_production_refuses_a_missing_secret(monkeypatch, app_db_url):
    with pytest.raises(ConfigurationError, match="WALLET_SESSION_SECRET"):
        production(monkeypatch, WALLET_DATABASE_URL=app_db_url)


@pytest.mark.parametrize(
    "secret", ["short", "development-only-session-secret-never-use-in-production"])
def test_production_refuses_weak_or_development_secrets(monkeypatch, app_db_url, secret):
    settings = production(monkeypatch, WALLET_DATABASE_URL=app_db_url,
                          WALLET_SESSION_SECRET=secret)
    with pytest.raises(ConfigurationError, match="wallet.session_secret"):
        webapp.main({}, **settings)


@pytest.mark.parametrize("secret", [" " * 40, "\t" * 40, " " * 31 + "x", "a" * 40])
def test_production_refuses_blank_or_whitespace_secrets(monkeypatch, app_db_url, secret):
    # Set in the environment, but blank (or long yet not random): refused at start-up.
    with pytest.raises(ConfigurationError, match="WALLET_SESSION_SECRET|wallet.session_secret"):
        settings = production(monkeypatch, WALLET_DATABASE_URL=app_db_url,
                              WALLET_SESSION_SECRET=secret)
        webapp.main({}, **settings)


@pytest.mark.parametrize("key", ["wallet.session_secret", "banks.hdfc.api_key"])
def test_blank_secrets_are_refused_in_the_ini_too(key):
    from wallet.settings import check_secret
    for production_ in (True, False):
        with pytest.raises(ConfigurationError, match="blank"):
            check_secret("   \t ", key, production=production_)


def test_development_ini_shares_its_default_section():
    settings = get_appsettings(str(ROOT / "development.ini"), name="user")
    resolved = resolve_settings(settings.global_conf, dict(settings))
    assert resolved["sqlalchemy.url"].startswith("sqlite:///")
    assert resolved["wallet.session_cookie_name"] == "wallet_user"


def test_production_refuses_development_bank_secrets(monkeypatch, app_db_url):
    settings = production(monkeypatch, WALLET_DATABASE_URL=app_db_url,
                          WALLET_SESSION_SECRET=GOOD_SECRET,
                          WALLET_HDFC_WEBHOOK_SECRETS="development-only-hdfc-webhook-secret")
    with pytest.raises(ConfigurationError, match="banks.hdfc.webhook_secrets"):
        webapp.main({}, **settings)
