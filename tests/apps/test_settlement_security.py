"""A shop's settlement needs more than the merchant app's cookie: it goes only
to a bank account the shop registered (number typed twice, an IFSC of that
bank, the shop PIN; notified; usable after a cooling-off), through a confirm
step that asks for the shop PIN -- the wallet PIN's rules and code
(wallet.identity.pins): each try counted before the comparison, a lock after N wrong."""
from __future__ import annotations

import datetime as dt

import pytest
import webtest
from sqlalchemy import select

from wallet.banking.errors import AccountCoolingOff, AccountNotRegistered
from wallet.banking.merchant_bank_accounts import BankAccountPolicy
from wallet.banking.models import MerchantBankAccount
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, MerchantNotification, Transaction, User
from wallet.identity.accounts import AccountService
from wallet.identity.errors import PinLocked, PinNotSet, PinRefused, WrongPin
from wallet.identity.merchant_pins import MerchantPins
from wallet.identity.models import MerchantPin
from wallet.identity.pins import PinPolicy, Pins
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    SHOP_ACCOUNT,
    SHOP_PIN,
    TEST_BANKS,
    TEST_PIN_POLICY,
    count,
    make_user,
    merchant_bank_accounts,
    ready_to_settle,
    state,
    withdrawal_service,
)
from .test_merchant_app import make_merchant, merchant_login, pay_at

POLICY = PinPolicy(max_tries=5, lock_s=900, keys=TEST_PIN_POLICY.keys)
OTHER_ACCOUNT = ("axis", "91702003456789", "UTIB0000123")


@pytest.fixture
def merchant_app(web_settings):
    app = merchant_main({}, **web_settings)
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(app)


@pytest.fixture
def shop(db):
    """A shop with ₹600 in its wallet (no PIN, no registered account yet)."""
    shop = make_merchant(db)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    pay_at(db, asha, "chai-point", 600_00, dt.datetime.now(dt.timezone.utc), "form-key-shop-01")
    return shop


def settle(db, shop_id, account, amount_paise, pin, key="settle-key-000000001", *,
           clock=None):
    """A settlement in a committed transaction; the refusal, if any, returned
    after commit (as the page's answer commits it)."""
    with db() as session, session.begin():
        service = withdrawal_service(session, **({"clock": clock} if clock else {}))
        bank, number, ifsc = account
        try:
            return service.request(session.get(Merchant, shop_id), bank, number, ifsc,
                                   amount_paise, key, pin=pin)
        except WalletError as exc:
            return exc


def tries(db, shop_id):
    with db() as session:
        row = session.get(MerchantPin, shop_id)
        return row.failed_tries, row.locked_until


def notices(db, shop_id):
    with db() as session:
        return [(n.kind, n.text) for n in session.scalars(
            select(MerchantNotification).where(MerchantNotification.merchant_id == shop_id)
            .order_by(MerchantNotification.id))]


def written(db):
    """Everything a refused change of accounts or settlement must leave alone."""
    return (state(db), count(db, MerchantBankAccount), count(db, MerchantNotification))


# -------------------------------------------------------------- the domain


def test_settling_to_an_unregistered_account_is_refused_and_costs_no_try(db, shop):
    ready_to_settle(db, shop)
    before = state(db)
    for account in (OTHER_ACCOUNT, ("hdfc", "50100099887767", "HDFC0001234"),
                    ("hdfc", SHOP_ACCOUNT[1], "HDFC0009999")):  # another branch: not it
        refused = settle(db, shop, account, 100_00, SHOP_PIN)
        assert isinstance(refused, AccountNotRegistered), refused
    assert state(db) == before and tries(db, shop) == (0, None)
    assert not isinstance(settle(db, shop, SHOP_ACCOUNT, 100_00, SHOP_PIN), WalletError)


def test_without_or_with_a_wrong_shop_pin_nothing_moves_and_the_try_counts(db, shop):
    ready_to_settle(db, shop)
    before = state(db)
    for n, pin in enumerate((None, "", "1357", PIN), start=1):  # (a user's PIN is not it)
        refused = settle(db, shop, SHOP_ACCOUNT, 100_00, pin)
        assert isinstance(refused, WrongPin), refused
        assert "settlements are locked" in str(refused)
        assert state(db) == before and tries(db, shop) == (n, None)
    tx = settle(db, shop, SHOP_ACCOUNT, 100_00, SHOP_PIN)
    assert isinstance(tx, Transaction) and tx.payer_merchant_id == shop
    assert tries(db, shop) == (0, None)  # a right PIN clears the count


def test_a_shop_without_a_pin_cannot_settle(db, shop):
    with db() as session, session.begin():  # (an account added before PINs existed)
        merchant = session.get(Merchant, shop)
        MerchantPins(session, policy=POLICY).set_first(merchant, SHOP_PIN, SHOP_PIN)
        merchant_bank_accounts(session, TEST_BANKS, MerchantPins(session, policy=POLICY),
                             BankAccountPolicy(cooling_off_s=0)).add(
            merchant, *SHOP_ACCOUNT[:2], SHOP_ACCOUNT[1], SHOP_ACCOUNT[2], pin=SHOP_PIN)
        session.delete(session.get(MerchantPin, shop))
    before = state(db)
    assert isinstance(settle(db, shop, SHOP_ACCOUNT, 100_00, SHOP_PIN), PinNotSet)
    assert state(db) == before


def test_five_wrong_shop_pins_lock_settlements_until_the_lock_ends(db, shop):
    ready_to_settle(db, shop)
    now = dt.datetime.now(dt.timezone.utc)  # one clock: settle() below runs on the real one

    def at(minutes):
        return lambda: now + dt.timedelta(minutes=minutes)

    results = [settle(db, shop, SHOP_ACCOUNT, 100_00, "0000", clock=at(0)) for _ in range(5)]
    assert [type(r) for r in results] == [WrongPin] * 4 + [PinLocked]
    assert "settlements are locked for 15 more minutes" in str(results[-1])
    before = state(db)
    assert isinstance(settle(db, shop, SHOP_ACCOUNT, 100_00, SHOP_PIN, clock=at(14)), PinLocked)
    assert state(db) == before  # even the right PIN, while locked
    tx = settle(db, shop, SHOP_ACCOUNT, 100_00, SHOP_PIN, clock=at(16))
    assert isinstance(tx, Transaction) and tries(db, shop) == (0, None)


def test_shop_pins_and_wallet_pins_are_apart(db, shop):
    """Shop 1 and user 1 share an id, not a PIN, nor an approval."""
    ready_to_settle(db, shop)
    with db() as session, session.begin():
        user = session.get(User, 1)
        merchant = session.get(Merchant, 1)
        user_approval = Pins(session, policy=POLICY).approve(user, PIN)
        with pytest.raises(PinRefused):
            MerchantPins(session, policy=POLICY).approve(merchant, user_approval)
        with pytest.raises(WrongPin):
            Pins(session, policy=POLICY).approve(user, SHOP_PIN)
        MerchantPins(session, policy=POLICY).approve(merchant, SHOP_PIN)


def test_a_new_account_waits_for_its_cooling_off(db, shop):
    now = dt.datetime.now(dt.timezone.utc)  # the account's clock; settle() runs on the real one
    with db() as session, session.begin():
        merchant = session.get(Merchant, shop)
        pins = MerchantPins(session, policy=POLICY)
        pins.set_first(merchant, SHOP_PIN, SHOP_PIN)
        accounts = merchant_bank_accounts(session, TEST_BANKS, pins,
                                        BankAccountPolicy(cooling_off_s=3600), clock=lambda: now)
        account_id = accounts.add(merchant, *SHOP_ACCOUNT[:2], SHOP_ACCOUNT[1],
                                  SHOP_ACCOUNT[2], pin=SHOP_PIN).id
    before = state(db)
    refused = settle(db, shop, SHOP_ACCOUNT, 100_00, SHOP_PIN)
    assert isinstance(refused, AccountCoolingOff) and "can start on" in str(refused)
    assert state(db) == before and tries(db, shop) == (0, None)  # no try spent
    with db() as session:
        later = merchant_bank_accounts(session, TEST_BANKS, MerchantPins(session, policy=POLICY),
                                     clock=lambda: now + dt.timedelta(minutes=59))
        with pytest.raises(AccountCoolingOff):
            later.payable(session.get(Merchant, shop), account_id)
        after = merchant_bank_accounts(session, TEST_BANKS, MerchantPins(session, policy=POLICY),
                                     clock=lambda: now + dt.timedelta(minutes=61))
        assert after.payable(session.get(Merchant, shop), account_id).id == account_id
    assert "can go there from" in notices(db, shop)[0][1]


def test_changing_the_registered_accounts_needs_the_pin_and_is_notified(db, shop):
    account_id = ready_to_settle(db, shop)
    assert [kind for kind, _ in notices(db, shop)] == ["bank_account_added"]
    before = written(db)
    with db() as session, session.begin():
        accounts = merchant_bank_accounts(session, TEST_BANKS, MerchantPins(session, policy=POLICY))
        merchant = session.get(Merchant, shop)
        for pin in (None, "9999"):
            with pytest.raises(WrongPin):
                accounts.add(merchant, *OTHER_ACCOUNT[:2], OTHER_ACCOUNT[1], OTHER_ACCOUNT[2],
                             pin=pin)
            with pytest.raises(WrongPin):
                accounts.remove(merchant, account_id, pin)
    assert written(db) == before and tries(db, shop) == (4, None)
    with db() as session, session.begin():
        accounts = merchant_bank_accounts(session, TEST_BANKS, MerchantPins(session, policy=POLICY))
        merchant = session.get(Merchant, shop)
        added = accounts.add(merchant, *OTHER_ACCOUNT[:2], OTHER_ACCOUNT[1], OTHER_ACCOUNT[2],
                             pin=SHOP_PIN)
        accounts.remove(merchant, account_id, SHOP_PIN)
        assert [a.id for a in accounts.registered(merchant)] == [added.id]
    kinds_texts = notices(db, shop)
    assert [kind for kind, _ in kinds_texts] == ["bank_account_added", "bank_account_added",
                                                 "bank_account_removed"]
    assert "Axis Bank ••••6789 (IFSC UTIB0000123) was added" in kinds_texts[1][1]
    assert "HDFC Bank ••••7766 was removed" in kinds_texts[2][1]
    before = state(db)  # the removed account takes no more settlements
    assert isinstance(settle(db, shop, SHOP_ACCOUNT, 100_00, SHOP_PIN), AccountNotRegistered)
    assert state(db) == before


@pytest.mark.parametrize("bank, number, repeat, ifsc, field", [
    ("hdfc", "50100099887766", "50100099887767", "HDFC0001234", "repeat"),
    ("hdfc", "5010", "5010", "HDFC0001234", "account_number"),
    ("axis", "50100099887766", "50100099887766", "HDFC0001234", "ifsc"),  # not an Axis branch
    ("sbi", "50100099887766", "50100099887766", "SBIN0001234", "bank"),
])
def test_an_account_is_typed_twice_with_an_ifsc_of_its_bank(db, shop, bank, number, repeat,
                                                           ifsc, field):
    ready_to_settle(db, shop)
    before = written(db)
    with db() as session, session.begin():
        accounts = merchant_bank_accounts(session, TEST_BANKS, MerchantPins(session, policy=POLICY))
        with pytest.raises(WalletError) as refused:
            accounts.add(session.get(Merchant, shop), bank, number, repeat, ifsc, SHOP_PIN)
    assert field in refused.value.errors
    assert written(db) == before and tries(db, shop) == (0, None)  # checked before the PIN


def test_a_shop_has_at_most_max_accounts(db, shop):
    ready_to_settle(db, shop)
    before = written(db)
    with db() as session, session.begin():
        accounts = merchant_bank_accounts(session, TEST_BANKS, MerchantPins(session, policy=POLICY),
                                        BankAccountPolicy(max_accounts=1))
        with pytest.raises(WalletError, match="the most a shop may have"):
            accounts.add(session.get(Merchant, shop), *OTHER_ACCOUNT[:2], OTHER_ACCOUNT[1],
                         OTHER_ACCOUNT[2], SHOP_PIN)
    assert written(db) == before and tries(db, shop) == (0, None)


def test_the_same_account_twice_is_refused(db, shop):
    ready_to_settle(db, shop)
    with db() as session, session.begin():
        accounts = merchant_bank_accounts(session, TEST_BANKS, MerchantPins(session, policy=POLICY))
        with pytest.raises(WalletError, match="registered already"):
            accounts.add(session.get(Merchant, shop), "hdfc", "5010 0099 8877 66",
                         "50100099887766", "hdfc0001234", SHOP_PIN)


def test_the_shop_pin_is_set_and_reset_with_the_password_and_notified(db, shop):
    with db() as session, session.begin():
        merchant = session.get(Merchant, shop)
        pins = MerchantPins(session, policy=POLICY)
        accounts = AccountService(session, bcrypt_rounds=4)
        with pytest.raises(WalletError) as refused:
            pins.set_with_password(merchant, accounts, "not-the-password", "203.0.113.9",
                                   "2580", "2580")
        assert refused.value.field == "password" and not pins.has_pin(merchant)
        with pytest.raises(WalletError) as easy:
            pins.set_with_password(merchant, accounts, PASSWORD, "203.0.113.9", "1111", "1111")
        assert easy.value.field == "pin"
        pins.set_with_password(merchant, accounts, PASSWORD, "203.0.113.9", "2580", "2580")
    with db() as session, session.begin():  # five wrong tries lock it...
        for _ in range(5):
            with pytest.raises(PinRefused):
                MerchantPins(session, policy=POLICY).approve(session.get(Merchant, shop), "0000")
    assert tries(db, shop)[1] is not None
    with db() as session, session.begin():  # ...and the password resets it
        MerchantPins(session, policy=POLICY).set_with_password(
            session.get(Merchant, shop), AccountService(session, bcrypt_rounds=4), PASSWORD,
            "203.0.113.9", "975310", "975310")
    assert tries(db, shop) == (0, None)
    with db() as session:
        MerchantPins(session, policy=POLICY).approve(session.get(Merchant, shop), "975310")
    assert [kind for kind, _ in notices(db, shop)] == ["shop_pin_set", "shop_pin_changed"]


# --------------------------------------------------------------- the pages


def test_an_existing_shop_sets_its_pin_and_registers_an_account_before_settling(
        merchant_app, db, shop):
    merchant_login(merchant_app)
    assert "/pin?next=%2Fsettle" in merchant_app.get("/settle", status=303).location
    form = merchant_app.get("/pin?next=/settle").forms["pin-form"]
    form["password"], form["pin"], form["repeat"] = "wrong password", SHOP_PIN, SHOP_PIN
    assert "not your password" in form.submit(status=400).text
    form = merchant_app.get("/pin?next=/settle").forms["pin-form"]
    form["password"], form["pin"], form["repeat"] = PASSWORD, SHOP_PIN, SHOP_PIN
    assert form.submit(status=303).location.endswith("/settle")
    page = merchant_app.get("/settle")
    assert "settle-form" not in page.forms and page.html.select_one("#no-accounts")


def test_the_settle_page_quotes_then_asks_for_the_shop_pin(merchant_app, db, shop):
    ready_to_settle(db, shop)
    merchant_login(merchant_app)
    form = merchant_app.get("/settle").forms["settle-form"]
    form["amount"] = "250"
    before = written(db)
    quote = form.submit(status=200)
    assert quote.html.select_one("#confirm-question").text == \
        "Settle ₹250.00 to HDFC Bank ••••7766?"
    assert "Shop PIN" in quote.text and written(db) == before
    for pin, n in (("", 1), ("1357", 2)):  # none, a wrong one: nothing moves, counted
        confirm = quote.forms["confirm-form"]
        confirm["pin"] = pin
        refused = confirm.submit(status=400)
        assert "Wrong PIN" in refused.html.select_one("#pin-error").text
        assert written(db) == before and tries(db, shop) == (n, None)
    confirm = quote.forms["confirm-form"]
    confirm["pin"] = SHOP_PIN
    done = confirm.submit(status=303)
    assert "/settlements/" in done.location


def test_the_settle_page_refuses_another_shops_or_a_removed_account(merchant_app, db, shop):
    mine = ready_to_settle(db, shop)
    theirs = ready_to_settle(db, make_merchant(db, "other", "Other", "other@example.com"),
                             OTHER_ACCOUNT)
    with db() as session, session.begin():
        merchant_bank_accounts(session, TEST_BANKS, MerchantPins(session, policy=POLICY)).remove(
            session.get(Merchant, shop), mine, SHOP_PIN)
    merchant_login(merchant_app)
    token = merchant_app.get("/settle").html.select_one('[name="csrf_token"]')["value"]
    before = written(db)
    for account in (theirs, mine, "x"):
        refused = merchant_app.post("/settle", {"csrf_token": token, "account": account,
                                                "amount": "100", "pin": SHOP_PIN,
                                                "request_key": "k" * 22}, status=400)
        assert "registered bank accounts" in refused.text
    assert written(db) == before and tries(db, shop) == (0, None)


def test_adding_and_removing_an_account_on_the_pages(merchant_app, db, shop):
    ready_to_settle(db, shop)
    merchant_login(merchant_app)
    form = merchant_app.get("/bank-accounts").forms["bank-account-form"]
    form["bank"], form["ifsc"] = "axis", "UTIB0000123"
    form["account_number"], form["repeat_account_number"] = "91702003456789", "91702003456788"
    form["pin"] = SHOP_PIN
    before = written(db)
    assert "differ" in form.submit(status=400).html.select_one("#repeat-error").text
    form["repeat_account_number"], form["pin"] = "91702003456789", "0000"
    assert "Wrong PIN" in form.submit(status=400).html.select_one("#pin-error").text
    assert written(db) == before
    form["pin"] = SHOP_PIN
    form.submit(status=303)
    page = merchant_app.get("/bank-accounts")
    assert "Axis Bank ••••6789" in page.html.select_one("#bank-accounts").text
    added = next(li for li in page.html.select("#bank-accounts li") if "Axis" in li.text)
    remove = merchant_app.get(added.a["href"])
    assert remove.html.select_one("#confirm-question").text == "Remove Axis Bank ••••6789?"
    remove.forms["remove-form"]["pin"] = SHOP_PIN
    remove.forms["remove-form"].submit(status=303)
    assert "Axis Bank" not in merchant_app.get("/bank-accounts").html.select_one(
        "#bank-accounts").text
    notices_page = merchant_app.get("/notices")
    assert len(notices_page.html.select("#notices li")) == 3  # added (x2), removed
    assert "new notices" in merchant_app.get("/dashboard").html.select_one(
        "#notices-banner").text


def test_a_new_account_is_listed_with_its_start_and_refused_before(merchant_app, db, shop):
    ready_to_settle(db, shop)
    merchant_login(merchant_app)
    form = merchant_app.get("/bank-accounts").forms["bank-account-form"]
    form["bank"], form["ifsc"], form["pin"] = "axis", "UTIB0000123", SHOP_PIN
    form["account_number"] = form["repeat_account_number"] = "91702003456789"
    form.submit(status=303)
    page = merchant_app.get("/settle")
    new = page.html.select_one("small.waiting")
    assert new is not None and "new: from" in new.text
    settle_form = page.forms["settle-form"]
    settle_form["account"], settle_form["amount"] = new["data-account"], "100"
    before = written(db)
    assert "can start on" in settle_form.submit(status=400).html.select_one(
        "#account-error").text
    assert written(db) == before


@pytest.mark.parametrize("path, fields", [
    ("/settle", {"account": "1", "amount": "100", "pin": SHOP_PIN, "request_key": "k" * 22}),
    ("/bank-accounts", {"bank": "axis", "account_number": "91702003456789",
                        "repeat_account_number": "91702003456789", "ifsc": "UTIB0000123",
                        "pin": SHOP_PIN}),
    ("/bank-accounts/1/remove", {"pin": SHOP_PIN}),
    ("/pin", {"old_pin": SHOP_PIN, "pin": "975310", "repeat": "975310"}),
    ("/pin/reset", {"password": PASSWORD, "pin": "975310", "repeat": "975310"}),
    ("/notices/read", {"up_to": "99"}),
])
def test_the_new_forms_need_the_csrf_token(merchant_app, db, shop, path, fields):
    ready_to_settle(db, shop)
    merchant_login(merchant_app)
    with db() as session:
        pin_before = session.get(MerchantPin, shop).pin_hash
    before = written(db)
    merchant_app.post(path, fields, status=400)
    merchant_app.post(path, {**fields, "csrf_token": "forged"}, status=400)
    assert written(db) == before
    with db() as session:
        assert session.get(MerchantPin, shop).pin_hash == pin_before
        assert session.scalar(select(MerchantNotification.read_at)) is None
