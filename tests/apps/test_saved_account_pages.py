"""The user app's saved bank accounts (/me/bank-accounts) and the withdraw
form offering them first, through WebTest: the bank's name shown back before
the PIN, a wrong PIN counted with nothing written, every bad input a 4xx,
the bank out of reach a clear message; a withdrawal to a saved account."""
from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select

from wallet.banking.bank_client import BankClient, BankUnavailable
from wallet.banking.models import UserBankAccount, Withdrawal
from wallet.core.models import Notification, Transaction
from wallet.core.notifications import Notice
from wallet.identity.models import WalletPin

from ..wallet_helpers import PIN, login, make_user

NUMBER, IFSC = "50100012345678", "HDFC0001234"
NAMES = {NUMBER: "ASHA VERMA", "50100012345679": "A VERMA"}


@pytest.fixture
def bank_names(monkeypatch):
    """The banks' account-holder API, stubbed: NAMES, else no such account;
    ``down`` in the returned dict makes every call time out."""
    state = {"down": False, "asked": 0}

    def account_holder(self, account_number, ifsc):
        state["asked"] += 1
        if state["down"]:
            raise BankUnavailable("timed out")
        name = NAMES.get(account_number)
        return None if name is None else {"name": name}

    monkeypatch.setattr(BankClient, "account_holder", account_holder)
    return state


@pytest.fixture
def asha_id(db):
    return make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)


@pytest.fixture
def app(user_app, asha_id):
    login(user_app, "+919876543210")
    return user_app


def rows(db):
    with db() as session:
        return list(session.scalars(select(UserBankAccount).order_by(UserBankAccount.id)))


def written(db):
    """What a refused add or remove must not change: saved rows (and their
    removal) and the notifications."""
    with db() as session:
        return ([(r.id, r.removed_at) for r in rows(db)],
                len(session.scalars(select(Notification.id)).all()))


def tries(db, user_id):
    with db() as session:
        return session.get(WalletPin, user_id).failed_tries


def add_form(app, number=NUMBER, repeat=NUMBER, ifsc=IFSC, bank="hdfc", status=200):
    form = app.get("/me/bank-accounts").forms["saved-account-form"]
    form["bank"], form["account_number"] = bank, number
    form["repeat_account_number"], form["ifsc"] = repeat, ifsc
    return form.submit(status=status)


def test_adding_shows_the_banks_name_then_saves_with_the_pin(app, db, asha_id, bank_names):
    confirm = add_form(app)
    assert "HDFC Bank says this account is in the name of ASHA VERMA" in confirm.text
    assert confirm.forms["confirm-form"]["pin"]  # the PIN field
    before = written(db)
    form = confirm.forms["confirm-form"]
    form["pin"] = "9999"
    wrong = form.submit(status=400)
    assert "Wrong PIN" in wrong.text and "ASHA VERMA" in wrong.text
    assert written(db) == before and tries(db, asha_id) == 1  # counted, nothing else
    form = wrong.forms["confirm-form"]
    form["pin"] = PIN
    page = form.submit(status=303).follow()
    assert "HDFC Bank ••••5678 (ASHA VERMA) saved." in page.text
    [row] = rows(db)
    assert (row.holder_name, row.account_number, row.ifsc) == ("ASHA VERMA", NUMBER, IFSC)
    with db() as session:
        kinds = session.scalars(select(Notification.kind).where(
            Notification.user_id == asha_id)).all()
    assert Notice.BANK_ACCOUNT_SAVED in kinds


def test_the_name_saved_is_the_banks_never_the_pages(app, db, bank_names):
    confirm = add_form(app)
    form = confirm.forms["confirm-form"]
    form["pin"] = PIN
    # (the page carries no name: a forged field is ignored)
    app.post("/me/bank-accounts", {**dict(form.submit_fields()), "holder_name": "Mallory"},
             status=303)
    assert [r.holder_name for r in rows(db)] == ["ASHA VERMA"]


@pytest.mark.parametrize("fields, error", [
    ({"number": "12ab", "repeat": "12ab"}, "9 to 18 digits"),
    ({"repeat": "50100012345679"}, "The two account numbers differ"),
    ({"ifsc": "UTIB0000123"}, "IFSC of Axis Bank"),
    ({"ifsc": "HDFC01"}, "11-character IFSC"),
    ({"bank": "sbi"}, "Choose one of the listed banks"),
])
def test_bad_details_are_refused_before_the_bank_is_asked(app, db, bank_names, fields, error):
    page = app.get("/me/bank-accounts")
    answer = app.post("/me/bank-accounts", {
        "csrf_token": page.forms["saved-account-form"]["csrf_token"].value,
        "bank": fields.get("bank", "hdfc"), "account_number": fields.get("number", NUMBER),
        "repeat_account_number": fields.get("repeat", NUMBER),
        "ifsc": fields.get("ifsc", IFSC)}, status=400)
    assert error in answer.text
    assert bank_names["asked"] == 0 and rows(db) == []


def test_an_unknown_account_or_a_bank_down_is_said_plainly(app, db, bank_names):
    answer = add_form(app, number="50100099999999", repeat="50100099999999", status=400)
    assert "HDFC Bank has no account 50100099999999" in answer.text
    bank_names["down"] = True
    answer = add_form(app, status=503)
    assert "HDFC Bank did not answer whose account this is" in answer.text
    assert rows(db) == []


def test_a_bank_out_of_reach_really_times_out(app, db):
    # (no stub: the test banks' API is a closed port)
    answer = add_form(app, status=503)
    assert "try again in a minute" in answer.text and rows(db) == []


def test_no_csrf_no_change(app, db, bank_names):
    app.post("/me/bank-accounts", {"bank": "hdfc", "account_number": NUMBER,
                                   "repeat_account_number": NUMBER, "ifsc": IFSC,
                                   "pin": PIN}, status=400)
    assert rows(db) == [] and bank_names["asked"] == 0


def save(app):
    form = add_form(app).forms["confirm-form"]
    form["pin"] = PIN
    form.submit(status=303)


def test_removing_needs_the_pin(app, db, asha_id, bank_names):
    save(app)
    [row] = rows(db)
    page = app.get("/me/bank-accounts")
    assert "ASHA VERMA" in page.text
    confirm = app.get(f"/me/bank-accounts/{row.id}/remove")
    before = written(db)
    form = confirm.forms["remove-form"]
    form["pin"] = "9999"
    assert "Wrong PIN" in form.submit(status=400).text
    assert written(db) == before and tries(db, asha_id) == 1
    form["pin"] = PIN
    assert "removed from your saved accounts" in form.submit(status=303).follow().text
    assert rows(db)[0].removed_at is not None
    app.get(f"/me/bank-accounts/{row.id}/remove", status=404)
    app.get("/me/bank-accounts/999/remove", status=404)


def test_someone_elses_account_is_not_found(app, user_wsgi, db, bank_names):
    save(app)
    [row] = rows(db)
    make_user(db, "+919812345678", "Ravi Kumar")
    ravi = webtest.TestApp(user_wsgi)
    login(ravi, "+919812345678")
    ravi.get(f"/me/bank-accounts/{row.id}/remove", status=404)
    page = ravi.get("/me/bank-accounts/999/remove".replace("999", str(row.id)), status=404)
    assert "ASHA" not in page.text


def test_the_withdraw_form_offers_saved_accounts_first(app, db, bank_names):
    form = app.get("/withdraw").forms["withdraw-form"]
    assert form["account"].value == "new"  # none saved: the typed details
    save(app)
    [row] = rows(db)
    page = app.get("/withdraw")
    form = page.forms["withdraw-form"]
    assert form["account"].value == str(row.id)  # the saved one, chosen first
    assert page.text.index("ASHA VERMA") < page.text.index("Account number")
    form["amount"] = "400"
    confirm = form.submit(status=200)
    assert "Withdraw ₹400.00 to ASHA VERMA, HDFC Bank a/c ••••••5678?" in confirm.text
    form = confirm.forms["confirm-form"]
    form["pin"] = PIN
    done = form.submit(status=303)
    tx_id = int(done.location.rsplit("/", 1)[1])
    with db() as session:
        wd = session.get(Withdrawal, tx_id)
        assert (wd.account_number, wd.ifsc) == (NUMBER, IFSC)
        assert session.get(Transaction, tx_id).amount_paise == 400_00


def test_typed_details_still_work_beside_saved_ones(app, db, bank_names):
    save(app)
    form = app.get("/withdraw").forms["withdraw-form"]
    form["account"] = "new"
    form["bank"], form["account_number"], form["ifsc"] = "axis", "91701234567890", "UTIB0000123"
    form["amount"] = "100"
    confirm = form.submit(status=200)
    assert "Axis Bank a/c ••••••7890?" in confirm.text


@pytest.mark.parametrize("account", ["999", "abc", "1" * 30])
def test_an_unknown_saved_account_is_a_form_error(app, db, bank_names, account):
    save(app)
    page = app.get("/withdraw")
    answer = app.post("/withdraw", {
        "csrf_token": page.forms["withdraw-form"]["csrf_token"].value,
        "request_key": "k" * 22, "account": account, "amount": "100"}, status=400)
    assert "Choose one of your saved bank accounts" in answer.text
    with db() as session:
        assert session.scalars(select(Withdrawal)).all() == []


def test_looking_up_whose_account_a_number_is_is_rate_limited(app, db, bank_names):
    """Each try asks the bank for the holder's name: a script with a session
    must not harvest names (the API's look-up is rate-limited too)."""
    from webapp.views.saved_accounts import LOOKUPS_PER_MINUTE
    for _ in range(LOOKUPS_PER_MINUTE):
        add_form(app)
    asked = bank_names["asked"]
    before = written(db)
    refused = add_form(app, status=429)
    assert "Too many accounts looked up just now" in refused.text
    assert bank_names["asked"] == asked and written(db) == before
