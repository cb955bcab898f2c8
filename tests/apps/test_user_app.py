"""WebTest functional tests of the user app: every flow and every error path.
Each refused request is checked to have changed nothing."""
from __future__ import annotations

import re
import urllib.parse

import pytest
from sqlalchemy import select

from wallet.core.models import Transaction, User

from ..wallet_helpers import (
    PASSWORD,
    PinForm,
    balance,
    count,
    csrf_token,
    login,
    make_user,
    sign_up_with_code,
    state,
)

ASHA = "+919876543210"
RAVI = "+919812345678"


@pytest.fixture
def asha_app(user_app, asha, ravi):
    assert login(user_app, "98765 43210").status_int == 303
    return user_app


def send_form(app, phone="98123 45678", amount="250.50", note=""):
    page = app.get("/send")
    form = PinForm(page.forms["send-form"])
    form["phone"], form["amount"], form["note"] = phone, amount, note
    return form


# ------------------------------------------------------------------ sign-up


def test_signup_opens_an_empty_wallet_and_logs_in(user_app, db):
    # (the phone's code from the development outbox: tests/apps/test_phone_pages.py)
    response = sign_up_with_code(user_app, db, "Meera Iyer", "+91-99887 76655", "s3cret-pass")
    assert response.status_int == 303 and response.location.endswith("/dashboard")
    dashboard = response.follow()
    assert "Welcome, Meera Iyer" in dashboard.text
    assert 'id="available">₹0.00<' in dashboard.text
    with db() as session:
        user = session.scalar(select(User))
        assert user.phone == "+919988776655"
        assert user.password_hash.startswith("$2b$04$")  # bcrypt, cost from settings
    assert balance(db, user.id) == (0, 0)


@pytest.mark.parametrize(
    "name, phone, password, message",
    [
        ("Meera", "12345", "s3cret-pass", "10-digit Indian mobile"),
        ("Meera", "5988776655", "s3cret-pass", "10-digit Indian mobile"),
        ("Meera", "99887766550", "s3cret-pass", "10-digit Indian mobile"),
        ("", "9988776655", "s3cret-pass", "Enter your name"),
        ("Meera", "9988776655", "short", "at least 8 characters"),
        ("Meera", "9988776655", "x" * 73, "too long"),
        ("Meera", "98765 43210", "s3cret-pass", "already has an account"),
    ],
)
def test_signup_errors_write_nothing(user_app, db, asha, name, phone, password, message):
    before = state(db)
    page = user_app.get("/signup")
    form = page.forms["signup-form"]
    form["name"], form["phone"], form["password"] = name, phone, password
    response = form.submit(status=400)
    assert message in response.text
    assert state(db) == before


# ------------------------------------------------------------- log in / out


def test_login_rotates_the_session_and_logout_ends_it(user_app, asha):
    user_app.get("/login")
    anonymous_cookie = user_app.cookies["wallet_user"]
    response = login(user_app, "98765 43210")
    assert response.status_int == 303
    assert user_app.cookies["wallet_user"] != anonymous_cookie
    dashboard = response.follow()
    assert "Hello, Asha Verma" in dashboard.text and "₹1,000.00" in dashboard.text
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    dashboard.forms["logout-form"].submit(status=303)
    assert user_app.get("/dashboard").status_int == 303


def test_old_csrf_token_dies_at_login(user_app, asha, ravi, db):
    token_before_login = csrf_token(user_app, "/login")
    login(user_app, "98765 43210")
    before = state(db)
    user_app.post("/send", {"csrf_token": token_before_login, "phone": RAVI,
                            "amount": "10", "request_key": "k" * 22}, status=400)
    assert state(db) == before


def test_wrong_password_and_unknown_phone_look_the_same(user_app, asha):
    wrong = login(user_app, "98765 43210", "not-the-password")
    unknown = login(user_app, "99999 99999", "not-the-password")
    assert wrong.status_int == unknown.status_int == 400
    for response in (wrong, unknown):
        assert "That phone number and password do not match." in response.text


def test_login_is_throttled_per_phone(user_app, asha):
    for _ in range(5):
        assert login(user_app, "98765 43210", "guess").status_int == 400
    throttled = login(user_app, "98765 43210")  # even the right password now
    assert throttled.status_int == 429 and "Too many failed attempts" in throttled.text


def test_login_is_throttled_per_address(user_app, asha):
    for i in range(20):
        login(user_app, f"9{i:09d}", "guess")
    assert login(user_app, "98765 43210").status_int == 429


def test_login_never_redirects_off_site(user_app, asha):
    page = user_app.get("/login?next=//evil.example/steal")
    form = page.forms["login-form"]
    form["phone"], form["password"] = ASHA, PASSWORD
    response = form.submit()
    assert response.location.endswith("/dashboard")


def test_login_returns_to_the_page_asked_for(user_app, asha):
    redirect = user_app.get("/transactions")
    assert redirect.status_int == 303 and "next=%2Ftransactions" in redirect.location
    form = redirect.follow().forms["login-form"]
    form["phone"], form["password"] = ASHA, PASSWORD
    assert form.submit().location.endswith("/transactions")


@pytest.mark.parametrize("path", ["/dashboard", "/send", "/transactions", "/transactions/1"])
def test_pages_need_a_login(user_app, path):
    assert "/login" in user_app.get(path, status=303).location


def test_logged_out_post_moves_nothing(user_app, asha, ravi, db):
    token = csrf_token(user_app, "/login")
    before = state(db)
    user_app.post("/send", {"csrf_token": token, "phone": RAVI, "amount": "10",
                            "request_key": "k" * 22}, status=303)
    assert state(db) == before


def test_a_disabled_account_loses_access_at_once(asha_app, db, asha):
    with db() as session, session.begin():
        session.get(User, asha).is_active = False
    assert asha_app.get("/dashboard", status=303)


# -------------------------------------------------------------- send money


def test_send_money_moves_it_once_and_both_see_it(asha_app, user_app, db, asha, ravi):
    response = send_form(asha_app, amount="250.50", note="chai  and\tsamosa").submit()
    assert response.status_int == 303
    receipt = response.follow()
    assert "Sent!" in receipt.text and 'id="done-amount">₹250.50<' in receipt.text
    assert "Ravi Kumar (+91 ••••• 45678)" in receipt.text
    assert balance(db, asha) == (749_50, 0)
    assert balance(db, ravi) == (250_50, 0)
    history = asha_app.get("/transactions").text
    assert "chai and samosa" in history and "IST" in history

    asha_app.get("/dashboard").forms["logout-form"].submit()
    login(user_app, RAVI)
    ravi_home = user_app.get("/dashboard").text
    assert "₹250.50" in ravi_home and "Asha Verma" in ravi_home and "+₹250.50" in ravi_home


@pytest.mark.parametrize(
    "amount, message",
    [
        ("1e3", "like 250 or 250.50"),
        ("-5", "must be positive"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("10.005", "two decimal places"),
        ("abc", "like 250 or 250.50"),
        ("1" + "0" * 30, "at most ₹1,00,000.00"),
        ("100000.01", "at most ₹1,00,000.00"),
        ("१००", "like 250 or 250.50"),
        ("1,000", "like 250 or 250.50"),
        ("", "Enter an amount"),
    ],
)
def test_bad_amounts_are_form_errors(asha_app, db, amount, message):
    before = state(db)
    response = send_form(asha_app, amount=amount).submit(status=400)
    assert message in response.text
    assert state(db) == before


@pytest.mark.parametrize(
    "phone, message",
    [
        ("98765 00000", "No wallet is registered with that number."),
        ("98765 43210", "You cannot send money to yourself."),
        ("+91 98765 43210", "You cannot send money to yourself."),
        ("12345", "10-digit Indian mobile"),
        ("", "Enter your friend"),
    ],
)
def test_bad_recipients_are_form_errors(asha_app, db, phone, message):
    before = state(db)
    response = send_form(asha_app, phone=phone).submit(status=400)
    assert message in response.text
    assert state(db) == before


def test_insufficient_funds_is_a_form_error(asha_app, db):
    before = state(db)
    response = send_form(asha_app, amount="1000.01").submit(status=400)
    assert "Your available balance is ₹1,000.00: not enough to send ₹1,000.01." in response.text
    assert state(db) == before
    assert send_form(asha_app, amount="1000").submit().status_int == 303


def test_more_than_the_balance_is_refused_before_the_pin_is_asked(asha_app, db):
    """The first step says it: no confirm page, no PIN typed for nothing."""
    before = state(db)
    form = send_form(asha_app, amount="1000.01").form
    response = form.submit(status=400)
    assert "confirm-form" not in response.forms
    assert "not enough to send ₹1,000.01" in response.text
    assert state(db) == before


@pytest.mark.parametrize("password", ["nehasharma", "Sharma123", "Neha2026", "Neha@1990",
                                      "SharmaNeha!"])
def test_signup_refuses_a_password_built_from_the_name(user_app, db, password):
    before = state(db)
    form = user_app.get("/signup").forms["signup-form"]
    form["name"], form["phone"], form["password"] = "Neha Sharma", "9988776655", password
    response = form.submit(status=400)
    assert "your name or your own details" in response.text
    assert state(db) == before


def test_sending_to_a_number_with_no_wallet_offers_an_invite(asha_app, db):
    before = state(db)
    refused = send_form(asha_app, phone="90000 12345", amount="10").submit(status=400)
    assert "No wallet is registered with that number." in refused.text
    whatsapp = refused.html.select_one("#invite-whatsapp")["href"]
    assert whatsapp.startswith("https://wa.me/919000012345?text=")
    assert "Asha" in urllib.parse.unquote(whatsapp) and "/signup" in whatsapp
    assert refused.html.select_one("#invite-sms")["href"].startswith("sms:+919000012345?body=")
    assert state(db) == before
    # A registered number is no occasion for an invite.
    assert "invite" not in send_form(asha_app, amount="1000.01").submit(status=400).text.lower()


def test_too_long_note_is_a_form_error(asha_app, db):
    before = state(db)
    form = send_form(asha_app)
    form.fields["note"][0].force_value("n" * 141)
    response = form.submit(status=400)
    assert "140 characters" in response.text
    assert state(db) == before


@pytest.mark.parametrize("token", [None, "", "forged-token-0123456789"])
def test_missing_or_forged_csrf_token_changes_nothing(asha_app, db, token):
    before = state(db)
    params = {"phone": RAVI, "amount": "10", "request_key": "k" * 22}
    if token is not None:
        params["csrf_token"] = token
    response = asha_app.post("/send", params, status=400)
    assert "nothing was done" in response.text
    assert state(db) == before


def test_double_submit_moves_money_once(asha_app, db, asha, ravi):
    form = send_form(asha_app, amount="100")
    first = form.submit(status=303)
    second = form.submit(status=303)  # the same form again: same request_key
    assert first.location == second.location
    assert balance(db, asha) == (900_00, 0) and balance(db, ravi) == (100_00, 0)
    assert count(db, Transaction) == 2  # Asha's deposit and one transfer


def test_resubmitted_form_with_other_amount_is_refused(asha_app, db):
    form = send_form(asha_app, amount="100")
    form.submit(status=303)
    before = state(db)
    form["amount"] = "200"
    response = form.submit(status=400)
    assert "already submitted" in response.text
    assert state(db) == before


@pytest.mark.parametrize("key", ["", "short", "x" * 65, "bad key with spaces!!"])
def test_malformed_request_key_is_refused(asha_app, db, key):
    before = state(db)
    form = send_form(asha_app)
    form["request_key"].force_value(key)
    assert "out of date" in form.submit(status=400).text
    assert state(db) == before


# ---------------------------------------------------------------- history


def test_history_pages_with_a_cursor(asha_app, db, asha, ravi):
    for i in range(23):
        send_form(asha_app, amount=f"{i + 1}", note=f"payment {i + 1}").submit(status=303)
    first = asha_app.get("/transactions")
    assert first.text.count('class="activity ') == 20
    assert "payment 23" in first.text and "payment 4<" in first.text
    assert "payment 3<" not in first.text
    older = first.click(description="Older transactions")
    assert older.text.count('class="activity ') == 4  # 3 payments and the deposit
    assert "payment 3<" in older.text and "Opening" not in older.text
    assert "Older transactions" not in older.text
    asha_app.get("/transactions?cursor=notanumber", status=404)


def test_another_users_transaction_is_a_404(asha_app, user_app, db, asha, ravi):
    meera = make_user(db, "+919988776655", "Meera", deposit_paise=50_00)
    with db() as session:
        meera_deposit = session.scalar(select(Transaction.id).where(
            Transaction.payee_user_id == meera))
    receipt = send_form(asha_app, amount="5").submit().follow()
    own_id = int(re.search(r"TXN(\d+)", receipt.text).group(1))
    assert asha_app.get(f"/transactions/{own_id}").status_int == 200
    not_found = asha_app.get(f"/transactions/{meera_deposit}", status=404)
    assert "Meera" not in not_found.text
    asha_app.get("/transactions/999999", status=404)


# ------------------------------------------------------------------- misc


def test_health_and_not_found(user_app):
    assert user_app.get("/healthz").json == {"status": "ok"}
    assert "Page not found" in user_app.get("/nope", status=404).text


def test_home_redirects(user_app, asha):
    assert user_app.get("/").location.endswith("/login")
    login(user_app, ASHA)
    assert user_app.get("/").location.endswith("/dashboard")
