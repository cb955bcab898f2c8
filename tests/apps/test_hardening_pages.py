"""Issue 15's hardening and "every state explained" items, each by the request
that showed it (webtest and unit tests; the browser's view is in
test_states_browser.py)."""
from __future__ import annotations

import datetime as dt
import pathlib
import random
import re

import pytest
import webtest
from sqlalchemy import select

import api_app
import webhook_app
from wallet.banking.payouts import PayoutPolicy
from wallet.banking.withdrawals import Owner
from wallet.core.errors import WalletError
from wallet.core.models import Notification, Transaction, User
from wallet.core.notifications import NotificationService
from wallet.identity.accounts import AccountService
from wallet.identity.errors import AccountError
from wallet_cli.dev import worker_max_delay_s
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    SHOP_PIN,
    TEST_BANKS,
    PinForm,
    balance,
    deposit_service,
    login,
    make_user,
    payout_processor,
    ready_to_settle,
    refunds,
    shop_payments_service,
    state,
    sweep_stuck_deposits,
    transfers_service,
    withdrawal_service,
)
from .test_fake_bank import bank, bank_wsgi, make_bank, open_page  # noqa: F401 (fixtures)
from .test_merchant_app import make_merchant, merchant_login, pay_at
from .test_withdrawals import ScriptedBank, processor, withdraw

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAST = PayoutPolicy(lease_s=30, retry_budget=3, backoff_base_s=0.0, backoff_cap_s=0.0)
ASHA, RAVI = "+919876543210", "+919812345678"


@pytest.fixture
def merchant_app(web_settings):
    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test"})
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(app)


@pytest.fixture
def asha(db):
    return make_user(db, ASHA, "Asha", deposit_paise=1_000_00)


@pytest.fixture
def asha_app(user_app, asha):
    assert login(user_app, "98765 43210").status_int == 303
    return user_app


# ------------------------------------------------------------ security headers


def assert_strict_headers(response, *, hsts: bool = False):
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert ("Strict-Transport-Security" in response.headers) is hsts


def test_every_app_sends_security_headers(user_app, merchant_app, web_settings):
    assert_strict_headers(user_app.get("/login"))
    assert_strict_headers(user_app.get("/no-such-page", status=404))
    assert_strict_headers(merchant_app.get("/login"))
    api = api_app.main({}, **{**web_settings, "api.rate_limit_backend": "memory"})
    hook = webhook_app.main({}, **web_settings)
    try:
        assert_strict_headers(webtest.TestApp(api).get("/healthz"))
        assert_strict_headers(webtest.TestApp(hook).get("/healthz"))
        # Swagger UI styles its elements inline: /docs alone allows inline
        # styles, never inline scripts.
        docs = webtest.TestApp(api).get("/docs")
        assert "style-src 'self' 'unsafe-inline'" in docs.headers["Content-Security-Policy"]
        assert "script-src 'self';" in docs.headers["Content-Security-Policy"]
    finally:
        dispose_app_engine(api)
        dispose_app_engine(hook)


def test_hsts_is_sent_when_configured(web_settings):
    import webapp

    app = webapp.main({}, **{**web_settings, "wallet.hsts": "true",
                             "wallet.hsts_max_age_s": "600"})
    try:
        page = webtest.TestApp(app).get("/login")
        assert_strict_headers(page, hsts=True)
        assert page.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
    finally:
        dispose_app_engine(app)


def test_pages_have_no_inline_script_or_style():
    for template in (ROOT / "webapp" / "templates").rglob("*.jinja2"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert "<style" not in text and " style=" not in text, template
        assert not re.search(r"\son[a-z]+=", text), template


def test_favicon_is_served_by_both_apps(user_app, merchant_app):
    for app in (user_app, merchant_app):
        icon = app.get("/favicon.ico")
        assert icon.content_type == "image/svg+xml" and b"<svg" in icon.body
    assert 'rel="icon"' in user_app.get("/login").text
    user_app.get(re.search(r'rel="icon"[^>]*href="http://localhost([^"]+)"',
                           user_app.get("/login").text).group(1), status=200)


# -------------------------------------------------------------- log-in target


@pytest.mark.parametrize("target", ["/x\ny", "/x\u2028y", "/x\u0085y", "https://evil.example/",
                                    "//evil.example", "/\\evil.example", "javascript:alert(1)"])
def test_login_target_stays_on_site_without_control_characters(user_app, merchant_app, db,
                                                                asha, target):
    page = user_app.get("/login", params={"next": target})
    assert page.forms["login-form"]["next"].value == ""  # never echoed into the form
    form = page.forms["login-form"]
    form["phone"], form["password"], form["next"] = ASHA, PASSWORD, target
    assert form.submit(status=303).location == "http://localhost/dashboard"
    make_merchant(db)
    form = merchant_app.get("/login").forms["login-form"]
    form["email"], form["password"], form["next"] = "chai@example.com", PASSWORD, target
    assert form.submit(status=303).location == "http://localhost/dashboard"


# ------------------------------------------------------------------ passwords


@pytest.mark.parametrize("password", ["12345678", "password", "qwertyuiop", "iloveyou1",
                                      "9876543210", "+919876543210"])
def test_common_passwords_and_the_phone_number_are_refused(user_app, db, password):
    before = state(db)
    form = user_app.get("/signup").forms["signup-form"]
    form["name"], form["phone"], form["password"] = "Asha", "98765 43210", password
    page = form.submit(status=400)
    assert page.html.select_one("#password-error") is not None
    assert state(db) == before


def test_a_shop_password_like_its_handle_is_refused(db):
    with db() as session, pytest.raises(AccountError) as refused:
        AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", "chai-point")
    assert "password" in refused.value.errors


def test_signup_shows_every_fields_error_at_once(user_app, db):
    form = user_app.get("/signup").forms["signup-form"]
    form["name"], form["phone"], form["password"] = "", "12", "password"
    page = form.submit(status=400)
    for name in ("name", "phone", "password"):
        assert page.html.select_one(f"#{name}-error") is not None, name


def test_send_and_add_money_show_every_fields_error_at_once(asha_app, db):
    form = asha_app.get("/send").forms["send-form"]
    form["phone"], form["amount"], form["note"] = "", "1e3", "x" * 150
    page = form.submit(status=400)
    for name in ("phone", "amount", "note"):
        assert page.html.select_one(f"#{name}-error") is not None, name
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    page = asha_app.post("/add-money", {"csrf_token": token, "bank": "nope", "amount": "abc",
                                        "request_key": "k" * 22}, status=400)
    for name in ("bank", "amount"):
        assert page.html.select_one(f"#{name}-error") is not None, name


# ------------------------------------------------------------------ shop names


@pytest.mark.parametrize("name", ["Chai\u202eTnioP", "Chai\u200fPoint", "Chai\x07Point",
                                  "Chai\u2066Point"])
def test_shop_names_refuse_bidi_overrides_and_control_characters(merchant_app, db, name):
    form = merchant_app.get("/signup").forms["signup-form"]
    form["handle"], form["name"], form["email"] = "chai-point", name, "chai@example.com"
    form["password"] = PASSWORD
    page = form.submit(status=400)
    assert page.html.select_one("#name-error") is not None
    with db() as session:  # nothing of the shop written
        from wallet.core.models import Merchant
        assert session.scalar(select(Merchant)) is None


def test_notes_are_isolated_so_they_cannot_reorder_a_merchants_page(merchant_app, db, asha):
    shop = make_merchant(db)
    with db() as session, session.begin():
        tx = shop_payments_service(session).pay_merchant(
            session.get(User, asha), "chai-point", 10_00, "form-key-bidi-00001",
            "abc\u202edef", pin=PIN)
        tx_id = tx.id
    merchant_login(merchant_app)
    for path in ("/payments", f"/payments/{tx_id}"):
        assert "<bdi>abc\u202edef</bdi>" in merchant_app.get(path).text, path
    assert shop


# --------------------------------------------------------------------- IFSC


def test_an_ifsc_of_another_bank_is_refused(asha_app, db):
    before = state(db)
    form = asha_app.get("/withdraw").forms["withdraw-form"]
    form["bank"], form["account_number"], form["ifsc"], form["amount"] = (
        "hdfc", "50100012345678", "UTIB0000123", "100")
    page = form.submit(status=400)
    said = page.html.select_one("#ifsc-error").text
    assert "UTIB0000123 is an IFSC of Axis Bank, not of HDFC Bank: choose Axis Bank" in said, said
    assert state(db) == before


def test_an_ifsc_of_a_bank_not_offered_never_suggests_choosing_it(asha_app, db):
    """SBIN is no bank of ours: saying "choose its bank (codes starting SBIN)"
    sent people looking for a bank that is not in the list."""
    before = state(db)
    form = asha_app.get("/withdraw").forms["withdraw-form"]
    form["bank"], form["account_number"], form["ifsc"], form["amount"] = (
        "hdfc", "50100012345678", "SBIN0000123", "100")
    said = form.submit(status=400).html.select_one("#ifsc-error").text
    assert "SBIN0000123 is not a HDFC Bank branch, and we cannot pay out" in said, said
    assert "codes starting" not in said and "choose" not in said.lower().split("listed")[0]
    assert state(db) == before


def test_withdraw_form_shows_every_fields_error_at_once(asha_app, db):
    form = asha_app.get("/withdraw").forms["withdraw-form"]
    form["account_number"], form["ifsc"], form["amount"] = "12", "NOPE", "abc"
    page = form.submit(status=400)
    for name in ("account_number", "ifsc", "amount"):
        assert page.html.select_one(f"#{name}-error") is not None, name


def test_the_domain_refuses_a_foreign_ifsc_too(db, asha):
    with db() as session, pytest.raises(WalletError) as refused:
        withdrawal_service(session, TEST_BANKS).request(
            session.get(User, asha), "axis", "50100012345678", "HDFC0001234", 100_00, "k" * 20,
            pin=PIN)
    assert refused.value.field == "ifsc"


# ----------------------------------------------------------- statuses in lists


def test_a_declined_deposit_is_not_shown_as_money_in(asha_app, db, asha):
    with db() as session, session.begin():
        tx = deposit_service(session, TEST_BANKS).start(session.get(User, asha), "hdfc",
                                                       700_00, "form-key-declined-01")
        deposit_service(session, TEST_BANKS).settle(
            tx.token, "failed", bank_code="hdfc", amount_paise=700_00, currency="INR",
            source="test", reason="declined by customer")
        token = tx.token
    row = asha_app.get("/transactions").html.select_one(".activity.kind-deposit")
    assert "state-failed" in row["class"]
    assert row.select_one(".status").text.strip() == "Declined"
    page = asha_app.get(f"/deposits/{token}")
    explained = " ".join(page.html.select_one("#deposit-explained").text.split())
    assert explained == ("No money left your bank account and nothing was added to your "
                         "wallet. HDFC Bank's reason: declined by customer.")
    assert "Nothing was taken from your wallet" not in page.text
    with db() as session:
        assert session.scalar(select(Transaction.note).where(Transaction.token == token)) == \
            "Added from HDFC Bank"


# ---------------------------------------------------------------- deposits


def pending_deposit(db, user_id, key="form-key-pending-0001", when=None):
    with db() as session, session.begin():
        service = deposit_service(session, TEST_BANKS, **({"clock": lambda: when} if when else {}))
        return service.start(session.get(User, user_id), "hdfc", 500_00, key).token


def test_an_abandoned_deposit_can_be_cancelled_or_resumed(asha_app, db, asha):
    token = pending_deposit(db, asha)
    page = asha_app.get(f"/deposits/{token}")
    assert page.html.select_one("#return-to-bank")["href"].startswith(
        "http://127.0.0.1:9/hdfc/netbanking")
    assert page.html.select_one("#expires-at") is not None  # the promise, with its time
    page = page.forms["cancel-deposit-form"].submit(status=303).follow()
    assert page.html.select_one("#deposit-status").text.strip() == "You cancelled this deposit"
    assert balance(db, asha) == (1_000_00, 0)
    # The user paid at the bank after all: the bank's word wins, the money comes.
    with db() as session, session.begin():
        result = deposit_service(session, TEST_BANKS).settle(
            token, "success", bank_code="hdfc", amount_paise=500_00, currency="INR",
            source="test")
    assert result.verdict == "credited" and balance(db, asha) == (1_500_00, 0)


def test_someone_elses_deposit_cannot_be_cancelled(user_app, db, asha):
    make_user(db, RAVI, "Ravi")
    token = pending_deposit(db, asha)
    assert login(user_app, "98123 45678").status_int == 303
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', user_app.get("/dashboard").text)
    user_app.post(f"/deposits/{token}/cancel", {"csrf_token": csrf.group(1)}, status=404)


def test_an_unfinished_deposit_expires_after_the_configured_time(db, runner, asha):
    now = dt.datetime.now(dt.timezone.utc)
    old = pending_deposit(db, asha, "form-key-pending-0001", now - dt.timedelta(minutes=31))
    young = pending_deposit(db, asha, "form-key-pending-0002", now - dt.timedelta(minutes=29))

    class NeverHeardOfIt:
        def payment_status(self, reference):
            return None

    counts = sweep_stuck_deposits(runner, TEST_BANKS, lambda _bank: NeverHeardOfIt(),
                                  older_than=dt.timedelta(minutes=10),
                                  expire_after=dt.timedelta(minutes=30))
    assert counts["settled"] == 1 and counts["still_pending"] == 1
    with db() as session:
        expired = session.scalar(select(Transaction).where(Transaction.token == old))
        assert expired.status == "failed" and "not completed in time" in expired.status_reason
        assert session.scalar(select(Transaction.status).where(
            Transaction.token == young)) == "pending"


def test_production_expires_deposits_in_half_an_hour():
    text = (ROOT / "production.ini").read_text()
    assert re.search(r"^wallet\.deposit_expire_after_s = 1800$", text, re.M)


# --------------------------------------------------------------- withdrawals


def test_a_reversed_withdrawal_shows_the_banks_reason_and_a_returned_bar(asha_app, db,
                                                                        runner, asha):
    tx_id = withdraw(db, asha, 400_00, "form-key-000000000001")
    processor(runner, ScriptedBank(), FAST).drain(asha, "w1")
    page = asha_app.get(f"/withdrawals/{tx_id}")
    assert page.html.select_one('meta[http-equiv="refresh"]') is not None  # still watching
    with db() as session, session.begin():
        withdrawal_service(session, TEST_BANKS).settle_by_reference(
            f"wd_{tx_id}", "reversed", bank_code="hdfc", amount_paise=400_00, currency="INR",
            source="webhook", reason="beneficiary account closed")
    page = asha_app.get(f"/withdrawals/{tx_id}")
    assert page.html.select_one("#reason").text == "beneficiary account closed"
    assert page.html.select_one("#lifecycle li.stopped").text == "Returned"
    assert page.html.select_one('meta[http-equiv="refresh"]') is None  # final: stops


def test_a_bank_outage_is_explained_while_we_keep_trying(asha_app, db, runner, asha):
    tx_id = withdraw(db, asha, 400_00, "form-key-000000000001")
    slow = PayoutPolicy(lease_s=30, retry_budget=5, backoff_base_s=60, backoff_cap_s=60)
    payout_processor(runner, TEST_BANKS, ScriptedBank(sends=["timeout"], statuses=["down"]),
                    slow, rng=random.Random(1)).drain(asha, "w1")
    page = asha_app.get(f"/withdrawals/{tx_id}")
    trouble = " ".join(page.html.select_one("#bank-trouble").text.split())
    assert "HDFC Bank is not responding" in trouble and "held safely" in trouble
    assert page.html.select_one("#bank-calls") is None  # (a shop's settlement page has it)
    assert page.html.select_one('meta[http-equiv="refresh"]') is not None
    assert "updates by itself" in page.text


def test_a_paid_withdrawal_says_so_plainly_with_its_reference(asha_app, db, runner, asha):
    """Its final page said "Completed" in small grey letters, "Bank calls 0"
    and "This page updates by itself."."""
    tx_id = withdraw(db, asha, 400_00, "form-key-000000000002")
    payout_processor(runner, TEST_BANKS, ScriptedBank(sends=["accepted"]), FAST,
                     rng=random.Random(1)).drain(asha, "w1")
    page = asha_app.get(f"/withdrawals/{tx_id}")
    done = page.html.select_one("#withdrawal-done")
    assert done is not None, page.text
    text = " ".join(done.text.split())
    assert "✓ ₹400.00 Sent to HDFC Bank" in text
    with db() as session:
        from wallet.banking.models import Withdrawal
        reference = session.get(Withdrawal, tx_id).reference
    assert page.html.select_one("#done-reference").text == reference
    assert page.html.select_one("#bank-calls") is None
    assert "updates by itself" not in page.text and "Yours is at" not in page.text


def test_settlement_page_counts_the_bank_calls(merchant_app, db, runner, asha):
    shop = make_merchant(db)
    pay_at(db, asha, "chai-point", 600_00, dt.datetime.now(dt.timezone.utc), "form-key-settle-1")
    ready_to_settle(db, shop)
    merchant_login(merchant_app)
    form = PinForm(merchant_app.get("/settle").forms["settle-form"], SHOP_PIN)
    form["amount"] = "250"
    settlement = int(form.submit(status=303).location.rsplit("/", 1)[1])
    payout_processor(runner, TEST_BANKS, ScriptedBank(sends=["timeout", "accepted"]), FAST,
                    rng=random.Random(1)).drain(Owner("merchant", shop), "w1")
    page = merchant_app.get(f"/settlements/{settlement}")
    assert page.html.select_one("#bank-calls").text == "3"  # send, status, send


# ----------------------------------------------------------- merchant pages


@pytest.mark.parametrize("query, field, message", [
    ("from=yesterday", "from", "Enter a date like 2026-11-24."),
    ("to=2026-13-45", "to", "Enter a date like 2026-11-24."),
    ("from=2026-11-10&to=2026-11-01", "to", "is before"),
])
def test_bad_filter_dates_are_form_errors(merchant_app, db, query, field, message):
    make_merchant(db)
    merchant_login(merchant_app)
    page = merchant_app.get(f"/payments?{query}", status=400)
    assert message in page.html.select_one(f"#{field}-error").text
    assert page.html.select_one("link[rel=stylesheet]") is not None  # our page, styled


def test_merchant_404_page_does_not_offer_the_wallet(merchant_app):
    page = merchant_app.get("/no-such-page", status=404)
    assert "Back to your wallet" not in page.text and "Back to your dashboard" in page.text


def test_payments_csv_starts_with_a_byte_order_mark(merchant_app, db, asha):
    make_merchant(db)
    pay_at(db, asha, "chai-point", 10_00, dt.datetime.now(dt.timezone.utc), "form-key-csv-0001")
    merchant_login(merchant_app)
    body = merchant_app.get("/payments.csv").body
    assert body.startswith(b"\xef\xbb\xbf") and "•••••".encode() in body


def test_the_fake_bank_groups_rupees_the_indian_way(bank):  # noqa: F811
    page = open_page(bank, amount_paise=2_00_000_00)
    assert page.html.select_one("#bank-amount").text == "₹2,00,000.00"
    balances = [o.text for o in page.html.select("option")]
    assert balances and all(re.search(r"balance ₹[\d,]+\.\d\d$", b) for b in balances)
    assert any("," in b.rsplit("₹", 1)[1] for b in balances), balances


def test_dev_worker_polls_often():
    assert worker_max_delay_s(str(ROOT / "development.ini")) <= 1
    assert worker_max_delay_s(str(ROOT / "production.ini")) == 10


# ------------------------------------------------------------ notifications


def notes(db, user_id):
    with db() as session:
        return [(n.kind, n.text) for n in NotificationService(session).latest(user_id)][::-1]


def test_the_domain_writes_notifications_with_the_events(db, runner, asha):
    ravi = make_user(db, RAVI, "Ravi")
    with db() as session, session.begin():
        transfers_service(session).send_money(session.get(User, asha), "98123 45678", 250_00,
                                          "form-key-notify-001", "", pin=PIN)
    assert notes(db, ravi) == [("money_received", "Asha sent you ₹250.00")]
    tx_id = withdraw(db, ravi, 100_00, "form-key-notify-002")
    processor(runner, ScriptedBank(sends=["rejected"]), FAST).drain(ravi, "w1")
    tx_id = withdraw(db, ravi, 100_00, "form-key-notify-003")
    processor(runner, ScriptedBank(), FAST).drain(ravi, "w1")
    with db() as session, session.begin():
        withdrawal_service(session, TEST_BANKS).settle(tx_id, "reversed", reason="closed")
    token = pending_deposit(db, ravi)
    with db() as session, session.begin():
        deposit_service(session, TEST_BANKS).settle(token, "failed", bank_code="hdfc",
                                                   amount_paise=500_00, currency="INR",
                                                   source="test")
    kinds = [kind for kind, _ in notes(db, ravi)]
    assert kinds == ["money_received", "withdrawal_failed", "withdrawal_paid",
                     "withdrawal_returned", "deposit_failed"]
    # the asha deposit made by make_user was confirmed
    assert [kind for kind, _ in notes(db, asha)] == ["deposit_confirmed"]


def test_a_refund_notifies_the_payer(db, asha):
    shop = make_merchant(db)
    pay_at(db, asha, "chai-point", 100_00, dt.datetime.now(dt.timezone.utc), "form-key-refund-01")
    with db() as session, session.begin():
        from wallet.core.models import Merchant
        payment = session.scalar(select(Transaction).where(Transaction.kind == "payment"))
        refunds(session).refund(session.get(Merchant, shop), payment.id, 40_00,
                                "refund-key-0000001", "cold tea")
    assert notes(db, asha)[-1] == ("refund_received", "Chai Point refunded ₹40.00")


def test_a_refused_transfer_writes_no_notification(db, asha):
    ravi = make_user(db, RAVI, "Ravi")
    with db() as session, session.begin(), pytest.raises(WalletError):
        transfers_service(session).send_money(session.get(User, asha), "98123 45678", 5_000_00,
                                          "form-key-notify-004", "", pin=PIN)
    assert notes(db, ravi) == []


def test_the_bell_counts_unread_and_marks_them_read(asha_app, db, asha):
    ravi = make_user(db, RAVI, "Ravi", deposit_paise=100_00)
    with db() as session, session.begin():
        transfers_service(session).send_money(session.get(User, ravi), "98765 43210", 10_00,
                                          "form-key-notify-005", "", pin=PIN)
    dashboard = asha_app.get("/dashboard")
    assert dashboard.html.select_one("#unread-count").text == "2"  # deposit + money
    page = dashboard.click(href="/notifications")
    assert "Ravi sent you ₹10.00" in page.html.select_one("#notifications").text
    page = page.forms["mark-read-form"].submit(status=303).follow()
    assert page.html.select_one("#unread-count") is None
    with db() as session:
        assert all(n.read_at is not None for n in session.scalars(
            select(Notification).where(Notification.user_id == asha)))


# ------------------------------------------------------------ history captions


def test_history_never_says_added_for_a_deposit_not_paid(asha_app, db, asha):
    """A pending or failed deposit said "Added from HDFC Bank" in history."""
    from wallet.core.codes import Status
    from wallet.core.models import Transaction

    from ..wallet_helpers import TEST_BANKS, deposit_service
    with db() as session, session.begin():
        user = session.get(User, asha)
        deposit_service(session, TEST_BANKS).start(user, "hdfc", 500_00,
                                                   "form-key-pending-0001")
        failed = deposit_service(session, TEST_BANKS).start(user, "hdfc", 700_00,
                                                            "form-key-failing-0001")
        session.get(Transaction, failed.id).status = Status.FAILED
    history = asha_app.get("/transactions").html
    rows = {row.select_one(".amount-figure").text.strip(): row.select_one(".note").text
            for row in history.select("li.activity.kind-deposit")}
    assert rows["+₹500.00"] == "Adding from HDFC Bank: waiting for the bank", rows
    assert rows["+₹700.00"] == "Not added from HDFC Bank: the bank did not pay it", rows
