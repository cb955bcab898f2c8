"""Shared fixtures.

The suite runs on SQLite by default. With ``WALLET_TEST_DATABASE_URL`` set to
a PostgreSQL URL it runs the same tests there (each test file family in its own
schema), plus the PostgreSQL-only concurrency tests (marked ``postgres``).
A configured database that cannot be reached is an error, never a skip.
With ``WALLET_TEST_PGBOUNCER=1`` that URL is a PgBouncer in transaction mode
(bin/test.sh starts one, tests/pgbouncer.py), and each schema is reached
through a database alias of its own (:func:`schema_url`).
"""
from __future__ import annotations

import os

import hypothesis
import pytest
import sqlalchemy as sa

import ledgerlib

# ledgerlib's test kit (its fixtures; tests/domain/test_ledger_kit.py runs its tests).
pytest_plugins = ["ledgerlib.testing"]

# Hypothesis: in CI the examples are derived from each test itself
# (derandomize), so a run is repeatable and a red CI is red again on a re-run;
# no deadline (a loaded 2-core machine makes timings meaningless). Locally the
# default profile keeps exploring new examples. HYPOTHESIS_PROFILE=ci picks it.
hypothesis.settings.register_profile("ci", derandomize=True, deadline=None,
                                     print_blob=True)
hypothesis.settings.load_profile(os.environ.get(
    "HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "default"))

TEST_DATABASE_URL = os.environ.get("WALLET_TEST_DATABASE_URL", "").strip()
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
VIA_PGBOUNCER = ON_POSTGRES and os.environ.get("WALLET_TEST_PGBOUNCER") == "1"


def pytest_report_header(config):
    where = TEST_DATABASE_URL or "SQLite (per-test temporary file)"
    return f"wallet test database: {where}" + (" (PgBouncer, transaction mode)"
                                               if VIA_PGBOUNCER else "")


def pytest_collection_modifyitems(config, items):
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="PostgreSQL-only: set WALLET_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def schema_url(schema: str) -> str:
    """The URL of the test database whose connections live in ``schema``."""
    url = sa.make_url(TEST_DATABASE_URL)
    if VIA_PGBOUNCER:
        from .pgbouncer import TEST_SCHEMAS, alias

        assert schema in TEST_SCHEMAS, f"add {schema} to tests.pgbouncer.TEST_SCHEMAS"
        return url.set(database=alias(url.database, schema)).render_as_string(
            hide_password=False)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


def postgres_engine(schema: str, **kwargs) -> sa.Engine:
    """An engine whose connections live in ``schema`` of the test database."""
    return ledgerlib.create_engine(schema_url(schema), **kwargs)


def reset_postgres_schema(schema: str) -> None:
    engine = sa.create_engine(TEST_DATABASE_URL)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:
        pytest.fail(f"WALLET_TEST_DATABASE_URL is set but unreachable: {exc}", pytrace=False)
    finally:
        engine.dispose()


LEDGER_SCHEMA = "ledgerlib_tests"


@pytest.fixture(scope="session")
def _ledger_pg_engine():
    if not ON_POSTGRES:
        yield None
        return
    reset_postgres_schema(LEDGER_SCHEMA)
    engine = postgres_engine(LEDGER_SCHEMA, pool_size=10)
    ledgerlib.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ledger_engine(tmp_path, _ledger_pg_engine):
    """An engine with the ledger tables, empty at the start of each test."""
    if _ledger_pg_engine is None:
        engine = ledgerlib.create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
        ledgerlib.create_all(engine)
        yield engine
        engine.dispose()
        return
    with _ledger_pg_engine.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE ledger_holds, ledger_postings, ledger_entries, ledger_accounts "
            "RESTART IDENTITY CASCADE"
        )
    yield _ledger_pg_engine


@pytest.fixture
def session(ledger_engine):
    """A session in an open transaction; rolled back at the end of the test."""
    from sqlalchemy.orm import Session

    with Session(ledger_engine) as session:
        session.begin()
        yield session
        session.rollback()


@pytest.fixture
def ledger(session):
    return ledgerlib.Ledger(session)


@pytest.fixture
def fast_path_calls(monkeypatch):
    """Counts attempts of the PostgreSQL fast path and how many applied (thread-safe)."""
    import threading

    from ledgerlib import fastpath

    calls = {"tried": 0, "applied": 0}
    lock = threading.Lock()
    real = fastpath.try_post

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        with lock:
            calls["tried"] += 1
            calls["applied"] += result is not None
        return result

    monkeypatch.setattr(fastpath, "try_post", counting)
    return calls


# ------------------------------------------------------------------ web apps

WEB_SCHEMA = "webapp_tests"
TEST_SESSION_SECRET = "test-session-secret-" + "x" * 32
ALL_APP_TABLES = None  # filled from the metadata on first use


def migrate(url: str) -> None:
    from wallet.migrations import upgrade_url

    upgrade_url(url)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """A database migrated to head by alembic once per run: on SQLite a file
    copied for each test, on PostgreSQL a schema truncated for each test."""
    if ON_POSTGRES:
        reset_postgres_schema(WEB_SCHEMA)
        url = schema_url(WEB_SCHEMA)
        migrate(url)
        return url
    path = tmp_path_factory.mktemp("template") / "wallet.sqlite"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def app_db_url(migrated_template, tmp_path):
    """URL of an empty, fully migrated wallet database for this test."""
    import shutil

    if ON_POSTGRES:
        from wallet.db import target_metadata

        tables = [t.name for md in target_metadata for t in md.sorted_tables]
        engine = sa.create_engine(migrated_template)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        engine.dispose()
        return migrated_template
    path = tmp_path / "wallet.sqlite"
    shutil.copy(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_engine(app_db_url):
    from wallet.db import get_engine

    engine = get_engine({"sqlalchemy.url": app_db_url})
    yield engine
    engine.dispose()


@pytest.fixture
def db(app_engine):
    """A function returning a new session on the test database (commit yourself)."""
    from wallet.db import get_session_factory

    factory = get_session_factory(app_engine)
    sessions = []

    def open_session():
        session = factory()
        sessions.append(session)
        return session

    yield open_session
    for session in sessions:
        session.close()


BANK_SETTINGS = {
    "banks.enabled": "hdfc axis",
    "banks.hdfc.name": "HDFC Bank",
    "banks.hdfc.netbanking_url": "http://127.0.0.1:9/hdfc/netbanking",
    "banks.hdfc.api_url": "http://127.0.0.1:9/hdfc/api",
    "banks.hdfc.api_key": "test-hdfc-api-key-" + "k" * 20,
    "banks.hdfc.webhook_secrets": "test-hdfc-secret-new-" + "s" * 20
    + " test-hdfc-secret-old-" + "s" * 20,
    "banks.hdfc.ifsc_prefixes": "HDFC",
    "banks.axis.ifsc_prefixes": "UTIB",
    "banks.hdfc.allowed_networks": "127.0.0.0/8 ::1/128 203.0.113.0/24",
    "banks.axis.name": "Axis Bank",
    "banks.axis.netbanking_url": "http://127.0.0.1:9/axis/netbanking",
    "banks.axis.api_url": "http://127.0.0.1:9/axis/api",
    "banks.axis.api_key": "test-axis-api-key-" + "k" * 20,
    "banks.axis.webhook_secrets": "test-axis-secret-" + "s" * 20,
    "banks.axis.allowed_networks": "198.51.100.0/24",
}


#: The tests' PAN keys (wallet.identity.pan_vault): two encryption keys, t2 current.
TEST_PAN_SETTINGS = {
    "wallet.pan_keys": "t1:test-pan-key-one-" + "p" * 20 + "0123456789"
                       + " t2:test-pan-key-two-" + "q" * 20 + "9876543210",
    "wallet.pan_key_id": "t2",
    "wallet.pan_hmac_key": "test-pan-fingerprint-key-" + "h" * 20 + "abcdefgh",
}

#: The tests' receipt keys (wallet.money.receipt_keys): test-r2 signs; test-r1 was
#: retired on 2026-01-01 (its public key only, as production keeps retired keys).
TEST_RECEIPT_SETTINGS = {
    "wallet.receipt_signing_keys": "test-r2:A-n9HHUfNMhsYQgcXPS7JLfWxfLlUEPOBp7hv75MIWs",
    "wallet.receipt_key_id": "test-r2",
    "wallet.receipt_retired_keys":
        "test-r1:fVknqxw0CYPOr5xCohZgRKfP4HULLRTLuz9z-wZHz7Y:2026-01-01T00:00:00Z",
    "wallet.receipt_key_grace_days": "30",
}

#: What production needs for KYC: a verifier that is not the approve-all one
#: (tests.wallet_helpers.RegistryStub) and strong PAN keys of its own.
PRODUCTION_KYC_SETTINGS = {
    "wallet.kyc_verifier": "tests.wallet_helpers:RegistryStub",
    "wallet.pan_keys": "2026a:Zq8vN3xR7tLw2pKc9YhB4mFs6Dj1GaUe",
    "wallet.pan_key_id": "2026a",
    "wallet.pan_hmac_key": "Hn5Wc2Qx8Ls4Rb7Tz1Vm3Ky6Pd9Fg0Ja",
    # Payment receipts' signing key (wallet.money.receipt_keys): production needs one.
    "wallet.receipt_signing_keys": "2026a:hvmWYsUhw5l0DafvUwGZSZVizEpFqewxcRgLG2ocgqo",
    "wallet.receipt_key_id": "2026a",
    # One-time codes by SMS: a real provider and a strong key of the codes' hashes.
    "wallet.otp_secret": "Ot7pQ2vX9mK4rL8wN3sB6yH1cF5jD0gZ",
    "wallet.sms_gateway": "msg91",
    "wallet.sms_msg91_auth_key": "412345AbCdEfGhIjKlMnOpQr",
    "wallet.sms_msg91_template_id": "6650a1b2c3d4e5f6a7b8c9d0",
    "wallet.sms_outbox_page": "false",
    # The counter's announcer (wallet.merchants.counter): the merchant app needs both.
    "wallet.counter_token_secret": "Ct4rK8vQ2mX7pL1wN9sB3yH6fJ5dG0zA",
    "announcer.stream_url": "https://counter.wallet.example/stream",
}
#: The same, as production.ini reads it from the environment.
PRODUCTION_KYC_ENV = {
    "WALLET_KYC_VERIFIER": PRODUCTION_KYC_SETTINGS["wallet.kyc_verifier"],
    "WALLET_PAN_KEYS": PRODUCTION_KYC_SETTINGS["wallet.pan_keys"],
    "WALLET_PAN_KEY_ID": PRODUCTION_KYC_SETTINGS["wallet.pan_key_id"],
    "WALLET_PAN_HMAC_KEY": PRODUCTION_KYC_SETTINGS["wallet.pan_hmac_key"],
    "WALLET_RECEIPT_SIGNING_KEYS": PRODUCTION_KYC_SETTINGS["wallet.receipt_signing_keys"],
    "WALLET_RECEIPT_KEY_ID": PRODUCTION_KYC_SETTINGS["wallet.receipt_key_id"],
    "WALLET_OTP_SECRET": PRODUCTION_KYC_SETTINGS["wallet.otp_secret"],
    "WALLET_MSG91_AUTH_KEY": PRODUCTION_KYC_SETTINGS["wallet.sms_msg91_auth_key"],
    "WALLET_MSG91_TEMPLATE_ID": PRODUCTION_KYC_SETTINGS["wallet.sms_msg91_template_id"],
    "WALLET_COUNTER_TOKEN_SECRET": PRODUCTION_KYC_SETTINGS["wallet.counter_token_secret"],
    "WALLET_ANNOUNCER_STREAM_URL": PRODUCTION_KYC_SETTINGS["announcer.stream_url"],
    "WALLET_MERCHANT_APP_ORIGIN": "https://business.wallet.example",
}


@pytest.fixture
def runner(db):
    """``run_in_transaction(fn)``: fn(session) in one committed transaction, as workers do."""
    def run_in_transaction(fn):
        with db() as session, session.begin():
            return fn(session)
    return run_in_transaction


@pytest.fixture
def web_settings(app_db_url):
    return {
        **BANK_SETTINGS,
        **TEST_PAN_SETTINGS,
        **TEST_RECEIPT_SETTINGS,
        "sqlalchemy.url": app_db_url,
        "wallet.environment": "test",
        "wallet.session_secret": TEST_SESSION_SECRET,
        "wallet.session_cookie_name": "wallet_user",
        "wallet.bcrypt_rounds": "4",
        "wallet.pin_keys": TEST_PIN_KEYS,
        "wallet.pin_key_id": TEST_PIN_KEY_ID,
        # SMS go to the outbox (tests.wallet_helpers.sms_code reads a code); /dev/sms shows them.
        "wallet.sms_outbox_page": "true",
        "retry.attempts": "3",
        # Tasks are queued in memory and run by the tests that want them.
        "huey.backend": "memory",
        "huey.immediate": "false",
    }


def dispose_app_engine(wsgi_app) -> None:
    factory = wsgi_app.registry["dbsession_factory"]
    factory.kw["bind"].dispose()


@pytest.fixture
def user_wsgi(web_settings):
    import webapp

    app = webapp.main({}, **web_settings)
    yield app
    dispose_app_engine(app)


@pytest.fixture
def user_app(user_wsgi):
    import webtest

    return webtest.TestApp(user_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"})


@pytest.fixture
def api_settings(web_settings):
    return {**web_settings, "api.rate_limit_backend": "memory"}


@pytest.fixture
def api_wsgi(api_settings):
    import api_app

    app = api_app.main({}, **api_settings)
    yield app
    dispose_app_engine(app)


#: Every test user's wallet PIN (wallet_helpers.make_user sets it).
TEST_PIN = "1357"
#: The tests' key of PIN hashes (wallet.identity.pin_hashes), as the ini gives it.
TEST_PIN_KEY_ID = "t1"
TEST_PIN_KEYS = f"{TEST_PIN_KEY_ID}:test-pin-key-" + "p" * 24
#: The API's requests that move money out of a wallet: they need the PIN.
PIN_PATHS = ("/v1/transfers", "/v1/payments", "/v1/withdrawals")


def pin_test_app(wsgi, **kwargs):
    """A webtest app whose JSON money requests carry the test users' PIN,
    unless the body names one itself (to test a missing or wrong PIN, send
    ``"pin"`` or use a plain ``webtest.TestApp``)."""
    import webtest

    class PinTestApp(webtest.TestApp):
        def post_json(self, url, params=webtest.utils.NoDefault, **kw):
            if url in PIN_PATHS and isinstance(params, dict) and "pin" not in params:
                params = {**params, "pin": TEST_PIN}
            return super().post_json(url, params, **kw)

    return PinTestApp(wsgi, **kwargs)


@pytest.fixture
def api(api_wsgi):
    return pin_test_app(api_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.8"})


# -------------------------------------------------------------- browser tests


@pytest.fixture
def live_server(user_wsgi):
    """The user app on a free port of 127.0.0.1, served from a background thread."""
    import threading
    import urllib.request

    import waitress

    server = waitress.create_server(user_wsgi, host="127.0.0.1", port=0, threads=4)
    base_url = f"http://127.0.0.1:{server.effective_port}"
    thread = threading.Thread(target=server.run, name="waitress-loop", daemon=True)
    thread.start()
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=10) as response:
        assert response.status == 200  # answered by the server thread: it is up
    yield base_url
    server.close()  # stops listening; the loop thread ends with the last connection
    server.task_dispatcher.shutdown()  # close() leaves the 4 worker threads running
    thread.join(timeout=5)
    assert not thread.is_alive()


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, driven by Playwright's sync API, once per run (shared
    by every browser test module: a second sync Playwright cannot start)."""
    from playwright.sync_api import sync_playwright

    from .live_servers import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


# ------------------------------------------------------------- common people


@pytest.fixture
def asha(db):
    """Asha (+91 98765 43210), ₹1,000 in her wallet."""
    from .wallet_helpers import make_user

    return make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)


@pytest.fixture
def ravi(db):
    """Ravi (+91 98123 45678), an empty wallet."""
    from .wallet_helpers import make_user

    return make_user(db, "+919812345678", "Ravi Kumar")


@pytest.fixture
def user_id(db):
    """Asha's id, her wallet empty."""
    from .wallet_helpers import make_user

    return make_user(db, "+919876543210", "Asha")


@pytest.fixture
def webhook(web_settings):
    """The webhook app (the banks' door) on the test database."""
    import webtest

    import webhook_app

    app = webhook_app.main({}, **web_settings)
    yield webtest.TestApp(app)
    dispose_app_engine(app)
