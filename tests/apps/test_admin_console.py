"""The operators' console: sign-in needs the password AND a fresh TOTP code;
a viewer reads but cannot act (403, nothing changes, the attempt audited);
every action writes exactly one audit row with its reason; the audit log is
append-only, down to the database."""
from __future__ import annotations

import csv
import io
import re

import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from wallet.core.models import Transaction, User
from wallet.identity.accounts import AccountService
from wallet.operations.audit import Actor, AuditLog
from wallet.operations.ledger_checks import run_ledger_check
from wallet.operations.models import AuditEntry
from wallet.operations.operators import OperatorService

from ..conftest import PRODUCTION_KYC_SETTINGS, dispose_app_engine
from ..wallet_helpers import count, deposit_service, make_user, state
from . import test_admin
from .test_admin import needs_review

bank = test_admin.bank  # a live fake bank (fixture)
OP_PASSWORD = "operator password 1"
ADMIN_SECRET = "test-admin-session-secret-" + "a" * 32
ASHA = "+919876543210"


@pytest.fixture
def admin_settings(web_settings):
    return {**web_settings, "admin.session_secret": ADMIN_SECRET}


@pytest.fixture
def admin_wsgi(admin_settings):
    import admin_app

    app = admin_app.main({}, **admin_settings)
    yield app
    dispose_app_engine(app)


@pytest.fixture
def console(admin_wsgi):
    import webtest

    return webtest.TestApp(admin_wsgi, extra_environ={"REMOTE_ADDR": "127.0.0.1"})


def add_operator(db, name: str, role: str) -> pyotp.TOTP:
    with db() as session, session.begin():
        made = OperatorService(session, bcrypt_rounds=4).add(name, role, OP_PASSWORD)
    assert made.provisioning_uri.startswith("otpauth://totp/")
    return pyotp.TOTP(made.totp_secret)


def sign_in(console, name: str, code: str | None, password: str = OP_PASSWORD):
    form = console.get("/login").forms[0]
    form["name"], form["password"] = name, password
    if code is not None:
        form["code"] = code
    return form.submit(expect_errors=True)


def csrf(console, path="/") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', console.get(path).text).group(1)


def audit_rows(db) -> list[AuditEntry]:
    with db() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def frozen(db, user_id) -> bool:
    with db() as session:
        return session.get(User, user_id).frozen_at is not None


@pytest.fixture
def operator(db, console):
    totp = add_operator(db, "olga", "operator")
    assert sign_in(console, "olga", totp.now()).status_int == 303
    return console


# ------------------------------------------------------------------ sign-in


def test_sign_in_needs_the_password_and_a_fresh_code(console, db):
    totp = add_operator(db, "olga", "operator")
    console.get("/", status=303)  # not signed in: to the login page
    assert sign_in(console, "olga", None).status_int == 400  # no code
    assert sign_in(console, "olga", "000000" if totp.now() != "000000" else "111111"
                   ).status_int == 400  # a wrong code
    assert sign_in(console, "olga", totp.now(), "wrong password").status_int == 400
    code = totp.now()
    assert sign_in(console, "olga", code).status_int == 303
    assert "olga (operator)" in console.get("/").text
    console.post("/logout", {"csrf_token": csrf(console)}, status=303)
    console.get("/", status=303)
    refused = sign_in(console, "olga", code)  # the same code again: replayed
    assert refused.status_int == 400 and "do not match" in refused.text
    console.get("/", status=303)


def test_sign_in_is_throttled(console, db):
    totp = add_operator(db, "olga", "operator")
    for _ in range(5):
        assert sign_in(console, "olga", totp.now(), "wrong password").status_int == 400
    assert sign_in(console, "olga", totp.now()).status_int == 429  # even the right one


def test_the_console_sends_the_security_headers_and_no_inline_style(console):
    page = console.get("/login")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<style" not in page.text and 'style="' not in page.text
    stylesheet = re.search(r'href="([^"]+console\.css)"', page.text).group(1)
    assert "table" in console.get(stylesheet).text


def test_addresses_off_the_allow_list_are_refused(admin_wsgi, db):
    import webtest

    outsider = webtest.TestApp(admin_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    outsider.get("/login", status=403)
    outsider.get("/healthz", status=403)


def test_production_refuses_a_weak_or_missing_secret(admin_settings):
    import admin_app
    from wallet.settings import ConfigurationError

    production = {**admin_settings, **PRODUCTION_KYC_SETTINGS, "wallet.environment": "production"}
    for secret in ("", "short", "development-only-" + "x" * 40):
        with pytest.raises(ConfigurationError, match="admin.session_secret"):
            admin_app.main({}, **{**production, "admin.session_secret": secret})


# ------------------------------------------------------------------- roles


def test_a_viewer_reads_but_cannot_act(console, db, runner):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    review = needs_review(db, runner, asha)
    totp = add_operator(db, "vera", "viewer")
    assert sign_in(console, "vera", totp.now()).status_int == 303
    assert "Money by account kind" in console.get("/").text
    assert "Asha" in console.get("/lookup", {"q": "98765 43210"}).text
    assert "needs_review" in console.get(f"/payouts/{review}").text
    token = csrf(console)
    before = state(db)
    for path, form in ((f"/users/{asha}/freeze", {}),
                       (f"/payouts/{review}/retry", {}),
                       (f"/payouts/{review}/resolve", {"paid": "not_paid"})):
        console.post(path, {"csrf_token": token, "reason": "just looking", **form}, status=403)
    assert state(db) == before and not frozen(db, asha)
    with db() as session:
        assert session.get(Transaction, review).status == "needs_review"
    rows = audit_rows(db)
    assert [(r.actor, r.action, r.outcome, r.reason) for r in rows] == [
        ("vera", "freeze", "refused", "just looking"),
        ("vera", "retry", "refused", "just looking"),
        ("vera", "resolve_not_paid", "refused", "just looking")]
    assert all("viewer may not act" in r.detail for r in rows)


# ----------------------------------------------------------------- actions


def test_each_action_writes_one_audit_row_with_its_reason(operator, db, runner):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    review = needs_review(db, runner, asha)
    token = csrf(operator)

    def act(path, reason, status=303, **form):
        before = count(db, AuditEntry)
        operator.post(path, {"csrf_token": token, "reason": reason, **form}, status=status)
        rows = audit_rows(db)
        assert len(rows) == before + 1
        return rows[-1]

    row = act(f"/users/{asha}/freeze", "  suspected   fraud ")
    assert (row.actor, row.source, row.action, row.object_type, row.object_id, row.reason,
            row.outcome) == ("olga", "console", "freeze", "user", str(asha), "suspected fraud",
                             "done")
    assert frozen(db, asha)
    assert act(f"/users/{asha}/unfreeze", "cleared by KYC").outcome == "done"
    assert not frozen(db, asha)
    # A blank reason is refused (and the attempt recorded); nothing changes.
    row = act(f"/users/{asha}/freeze", "   ", status=400)
    assert (row.outcome, row.reason) == ("refused", "") and not frozen(db, asha)
    row = act(f"/payouts/{review}/retry", "bank says try again")
    assert (row.action, row.object_id, row.outcome) == ("retry", str(review), "done")
    with db() as session:
        assert session.get(Transaction, review).status == "queued"
    # The domain refuses a second retry (no longer needs_review): refused, one row.
    row = act(f"/payouts/{review}/retry", "again", status=409)
    assert row.outcome == "refused" and "not needs_review" in row.detail

    # The log, in the console and as CSV (newest first / oldest first).
    page = operator.get("/audit")
    assert page.text.index("again") < page.text.index("suspected fraud")
    exported = operator.get("/audit.csv")
    assert exported.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == ["freeze", "unfreeze", "freeze", "retry", "retry"]
    assert rows[0]["reason"] == "suspected fraud" and rows[0]["actor"] == "olga"


def test_csrf_is_required_on_every_form(operator, db):
    asha = make_user(db, ASHA, "Asha")
    operator.post(f"/users/{asha}/freeze", {"reason": "no token"}, status=400)
    assert not frozen(db, asha) and count(db, AuditEntry) == 0


def test_pages_render(operator, db, runner, app_engine):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    needs_review(db, runner, asha)
    overview = operator.get("/")
    assert "user wallets" in overview.text and "needs_review" in overview.text
    assert "Not run yet" in overview.text
    run_ledger_check(app_engine)
    verified = operator.get("/").text
    assert re.search(r'id="ledger-verify">Last run [^<]*<span class="ok">clean', verified)
    assert "needs_review" in operator.get("/payouts", {"status": "needs_review"}).text
    operator.get("/deposits")
    operator.get("/reconciliation")
    operator.get("/lookup", {"q": "nobody-here"}, status=404)
    with db() as session, session.begin():
        AccountService(session, bcrypt_rounds=4).signup_merchant(
            "dosa-corner", "Dosa Corner", "dosa@example.com", "shop password 1")
    shop = operator.get("/lookup", {"q": "@dosa-corner"})
    assert "Dosa Corner" in shop.text and 'id="available">₹0.00<' in shop.text
    user = operator.get("/lookup", {"q": "98765 43210"})
    assert 'id="available">₹700.00<' in user.text and "Freeze the wallet" in user.text
    operator.get("/payouts/999999", status=404)


# ------------------------------------------------------------- append-only


def test_the_audit_log_refuses_update_and_delete(db, app_engine):
    with db() as session, session.begin():
        AuditLog(session).record(Actor.cli("root"), "freeze", "user", 1, "why", "done")
    for statement in ("UPDATE audit_log SET reason = 'rewritten'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with app_engine.begin() as conn:
                conn.exec_driver_sql(statement)
    rows = audit_rows(db)
    assert [(r.reason, r.actor) for r in rows] == [("why", "root")]


@pytest.mark.postgres
def test_the_append_only_trigger_on_postgres(app_engine):
    with app_engine.begin() as conn:
        triggers = conn.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass "
            "AND NOT tgisinternal").scalars().all()
    assert triggers == ["audit_log_append_only"]


# ------------------------------------------------------------- wallet-admin


def test_wallet_admin_records_its_actions_in_the_same_log(db, web_settings, tmp_path,
                                                          monkeypatch, capsys, console):
    from wallet_cli.admin import main as admin

    from ..wallet_helpers import write_ini

    ini = write_ini(tmp_path / "admin.ini", web_settings)
    asha = make_user(db, ASHA, "Asha")
    assert admin([ini, "--as", "ci-bot", "freeze", "98765 43210", "--reason", "fraud alert"]) == 0
    assert frozen(db, asha)
    monkeypatch.setattr("getpass.getuser", lambda: "deploy")
    assert admin([ini, "unfreeze", ASHA]) == 0
    assert admin([ini, "retry", "999"]) == 1  # refused by the domain: audited too
    monkeypatch.setattr("sys.stdin", io.StringIO(OP_PASSWORD + "\n"))
    assert admin([ini, "operator", "add", "vera", "--role", "viewer", "--password-stdin"]) == 0
    out = capsys.readouterr().out
    secret = re.search(r"secret: ([A-Z2-7]+)", out).group(1)
    assert "otpauth://totp/" in out
    rows = audit_rows(db)
    assert [(r.actor, r.source, r.action, r.reason, r.outcome) for r in rows] == [
        ("ci-bot", "cli", "freeze", "fraud alert", "done"),
        ("deploy", "cli", "unfreeze", "via wallet-admin unfreeze", "done"),
        ("deploy", "cli", "retry", "via wallet-admin retry", "refused"),
        ("deploy", "cli", "operator_add", "via wallet-admin operator", "done")]
    # The new viewer signs in with the secret printed once.
    assert sign_in(console, "vera", pyotp.TOTP(secret).now()).status_int == 303


def test_production_ini_console_needs_its_own_real_secret(monkeypatch, app_db_url):
    from pyramid.paster import get_appsettings

    import admin_app
    from wallet.settings import ConfigurationError, resolve_settings

    from ..conftest import PRODUCTION_KYC_ENV
    from .test_settings import BANK_ENV, GOOD_SECRET, ROOT

    def settings(**env):
        for name, value in {**BANK_ENV, **PRODUCTION_KYC_ENV, "WALLET_DATABASE_URL": app_db_url,
                            "WALLET_SESSION_SECRET": GOOD_SECRET,
                            "WALLET_USER_APP_URL": "https://wallet.example",
                            "WALLET_REDIS_URL": "redis://127.0.0.1:6379/5",  # (never connected)
                            "WALLET_ADMIN_ALLOWED_NETWORKS": "10.0.0.0/8", **env}.items():
            monkeypatch.setenv(name, value)
        found = get_appsettings(str(ROOT / "production.ini"), name="admin")
        return resolve_settings(found.global_conf, dict(found))

    monkeypatch.delenv("WALLET_ADMIN_SESSION_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="WALLET_ADMIN_SESSION_SECRET"):
        settings()
    with pytest.raises(ConfigurationError, match="admin.session_secret"):
        admin_app.main({}, **settings(WALLET_ADMIN_SESSION_SECRET="short"))
    app = admin_app.main({}, **settings(WALLET_ADMIN_SESSION_SECRET=GOOD_SECRET[::-1]))
    assert not app.registry["admin_settings"].allows("127.0.0.1")
    assert app.registry["admin_settings"].allows("10.1.2.3")
    dispose_app_engine(app)


# ------------------------------------------------- with a live (fake) bank


@pytest.fixture
def banked_console(web_settings, bank, db):
    import webtest

    import admin_app

    _, bank_url = bank
    app = admin_app.main({}, **{**web_settings, "admin.session_secret": ADMIN_SECRET,
                                "wallet.deposit_stuck_after_s": "0",
                                "banks.hdfc.api_url": f"{bank_url}/hdfc/api"})
    console = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    totp = add_operator(db, "olga", "operator")
    assert sign_in(console, "olga", totp.now()).status_int == 303
    yield console
    dispose_app_engine(app)


def test_ask_the_bank_about_a_stuck_deposit_and_reconcile(banked_console, bank, db):
    import datetime as dt

    from wallet.core.codes import IST
    from wallet.operations.models import ReconciliationRun

    from ..live_servers import http
    from ..wallet_helpers import TEST_BANKS, balance

    _, bank_url = bank
    asha = make_user(db, ASHA, "Asha")
    with db() as session, session.begin():
        service = deposit_service(session, TEST_BANKS)
        paid = service.start(session.get(User, asha), "hdfc", 250_00, "form-key-console-0001")
        unreachable = service.start(session.get(User, asha), "axis", 100_00,
                                    "form-key-console-0002")
    # The customer paid at the bank; its webhook never came.
    http("GET", f"{bank_url}/hdfc/netbanking?reference={paid.token}&amount_paise=25000"
                "&return_url=http://127.0.0.1/x")
    http("POST", f"{bank_url}/hdfc/netbanking/{paid.token}",
         form={"action": "approve", "customer_id": "1"})
    page = banked_console.get("/deposits")
    assert page.text.count("Ask the bank now") == 2
    token = csrf(banked_console, "/deposits")

    banked_console.post(f"/deposits/{paid.id}/ask-bank",
                        {"csrf_token": token, "reason": "customer called"}, status=303)
    assert balance(db, asha) == (250_00, 0)
    # Axis cannot be reached: an error, audited; nothing changes.
    banked_console.post(f"/deposits/{unreachable.id}/ask-bank",
                        {"csrf_token": token, "reason": "customer called"}, status=503)
    with db() as session:
        assert session.get(Transaction, unreachable.id).status == "pending"
    rows = audit_rows(db)
    assert [(r.action, r.object_id, r.outcome) for r in rows] == [
        ("ask_bank", str(paid.id), "done"), ("ask_bank", str(unreachable.id), "error")]
    assert rows[0].detail.startswith("credited")

    today = dt.datetime.now(IST).date().isoformat()
    banked_console.post("/reconciliation", {"csrf_token": token, "bank": "hdfc",
                                            "date": today, "reason": "daily check"},
                        status=303)
    with db() as session:
        run = session.scalars(select(ReconciliationRun)).one()
    assert (run.bank_code, run.statement_lines, run.mismatch_count) == ("hdfc", 1, 0)
    assert "No mismatches" in banked_console.get(f"/reconciliation/{run.id}").text
    exported = banked_console.get(f"/reconciliation/{run.id}.csv")
    assert exported.text.splitlines() == ["bank,day,reference,problem,detail"]
    assert audit_rows(db)[-1].action == "reconcile"


def test_an_idle_session_is_signed_out(operator, monkeypatch):
    import time
    import types

    import pyramid.session

    assert "Overview" in operator.get("/").text
    later = time.time() + 15 * 60 + 5  # past the 15-minute idle timeout
    monkeypatch.setattr(pyramid.session, "time", types.SimpleNamespace(time=lambda: later))
    operator.get("/", status=303)
