"""Step-up and limits: the wallet PIN before money leaves a wallet (domain,
pages, API), its lock after wrong tries, and the wallet limits by KYC level
(deposits refused before the bank, transfers and refunds the recipient's
wallet cannot take). The races run on PostgreSQL (test_stepup_races.py)."""
from __future__ import annotations

import datetime as dt

import pytest
import webtest
from sqlalchemy import select

from wallet.core.errors import WalletError
from wallet.core.models import Merchant, Transaction, User
from wallet.identity.errors import PinLocked, PinNotSet, WrongPin
from wallet.identity.kyc import KycService, KycVerdict, parse_details
from wallet.identity.models import WalletPin
from wallet.identity.pins import PinPolicy, Pins
from wallet.money.errors import DepositLimit, RecipientLimit

from ..api_helpers import auth, new_key, sign_in
from ..wallet_helpers import (
    PIN,
    TEST_BANKS,
    TEST_PAN_VAULT,
    TEST_PIN_POLICY,
    PinForm,
    balance,
    deposit_service,
    login,
    make_user,
    refunds,
    services_for_tests,
    shop_payments_service,
    state,
    transfers_service,
)
from .test_checkout import create
from .test_merchant_app import make_merchant

ASHA, RAVI = "+919876543210", "+919812345678"
PROBLEM = "application/problem+json"


def send(db, sender_id: int, amount_paise: int, pin: str, key: str = "form-key-0000000001",
         phone: str = "9812345678"):
    """Send from ``sender_id`` in a committed transaction; the refusal, if any,
    is returned after commit (as a page or the API answer commits it)."""
    with db() as session, session.begin():
        try:
            return transfers_service(session).send_money(session.get(User, sender_id), phone,
                                                     amount_paise, key, pin=pin)
        except WalletError as exc:
            return exc


def tries(db, user_id: int) -> tuple[int, dt.datetime | None]:
    with db() as session:
        pin = session.get(WalletPin, user_id)
        return pin.failed_tries, pin.locked_until


# ------------------------------------------------------------------ the PIN


def test_a_wrong_pin_moves_nothing_and_counts(db):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    before = state(db)
    refused = send(db, asha, 100_00, "2468")
    assert isinstance(refused, WrongPin) and "4 tries left" in str(refused)
    assert state(db) == before and tries(db, asha) == (1, None)
    assert not isinstance(send(db, asha, 100_00, PIN), WalletError)
    assert balance(db, asha) == (900_00, 0) and balance(db, ravi) == (100_00, 0)
    assert tries(db, asha) == (0, None)  # a right PIN clears the count


def test_five_wrong_pins_lock_payments_until_the_lock_ends(db):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi Kumar")
    # One clock: the lock starts at the real now, because send() below runs
    # on the real clock (a fixed instant here made the test pass on one day only).
    now = dt.datetime.now(dt.timezone.utc)
    policy = PinPolicy(max_tries=5, lock_s=900, keys=TEST_PIN_POLICY.keys)

    def try_pin(pin: str, at: dt.datetime):
        with db() as session, session.begin():
            try:
                return Pins(session, policy=policy, clock=lambda: at).approve(
                    session.get(User, asha), pin)
            except WalletError as exc:
                return exc

    results = [try_pin("0000", now) for _ in range(5)]
    assert [type(r) for r in results] == [WrongPin] * 4 + [PinLocked]
    assert "locked for 15 more minutes" in str(results[-1])
    assert isinstance(try_pin(PIN, now + dt.timedelta(minutes=14)), PinLocked)  # even right
    before = state(db)
    assert isinstance(send(db, asha, 100_00, PIN), PinLocked)  # the real clock: still locked
    assert state(db) == before
    unlocked = try_pin(PIN, now + dt.timedelta(minutes=16))
    assert unlocked.user_id == asha and tries(db, asha) == (0, None)


def test_a_user_without_a_pin_cannot_pay_and_a_pin_is_stored_hashed(db):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00, pin=None)
    make_user(db, RAVI, "Ravi Kumar")
    assert isinstance(send(db, asha, 100_00, PIN), PinNotSet)
    with db() as session, session.begin():
        pins = Pins(session, policy=TEST_PIN_POLICY)
        user = session.get(User, asha)
        for bad, field in (("12a4", "pin"), ("12345", "pin"), ("1111", "pin"), ("2468", "repeat")):
            with pytest.raises(WalletError) as refused:
                pins.set_first(user, bad, "2460" if field == "repeat" else bad)
            assert refused.value.field == field
        pins.set_first(user, "246810", "246810")
    with db() as session:
        stored = session.get(WalletPin, asha).pin_hash
        assert stored.startswith("hmac-sha256$vt1$") and "246810" not in stored
    assert not isinstance(send(db, asha, 100_00, "246810"), WalletError)


# ------------------------------------------------------------------ the pages


@pytest.fixture
def people(db):
    return make_user(db, ASHA, "Asha", deposit_paise=1_000_00), make_user(db, RAVI, "Ravi Kumar")


def test_the_confirm_step_names_the_recipient_and_a_wrong_pin_moves_nothing(user_app, db,
                                                                           people):
    asha, ravi = people
    login(user_app, ASHA)
    form = user_app.get("/send").forms["send-form"]
    form["phone"], form["amount"] = "98123 45678", "500"
    page = form.submit(status=200)
    assert "Send ₹500.00 to Ravi Kumar (+91 ••••• 45678)?" in page.text
    assert balance(db, asha) == (1_000_00, 0)  # the confirm step moved nothing
    before = state(db)
    wrong = page.forms["confirm-form"]
    wrong["pin"] = "9753"
    refused = wrong.submit(status=400)
    assert "Wrong PIN: 4 tries left" in refused.text and "confirm-form" in refused.text
    assert state(db) == before and tries(db, asha)[0] == 1  # the try was committed
    refused.forms["confirm-form"]["pin"] = PIN
    done = refused.forms["confirm-form"].submit(status=303)
    assert "/transactions/" in done.location
    assert balance(db, asha) == (500_00, 0) and balance(db, ravi) == (500_00, 0)


def test_change_details_goes_back_to_the_form_with_them(user_app, db, people):
    login(user_app, ASHA)
    form = user_app.get("/send").forms["send-form"]
    form["phone"], form["amount"], form["note"] = "98123 45678", "12.50", "tea"
    confirm = form.submit(status=200).forms["confirm-form"]
    back = confirm.submit("edit", status=200)
    assert back.forms["send-form"]["amount"].value == "12.50"
    assert back.forms["send-form"]["note"].value == "tea"


def test_shop_payment_and_withdrawal_confirm_what_and_where(user_app, db, people):
    make_merchant(db)
    login(user_app, ASHA)
    pay = user_app.get("/pay/chai-point").forms["pay-form"]
    pay["amount"] = "40"
    assert "Pay ₹40.00 to Chai Point (@chai-point)?" in pay.submit(status=200).text
    withdraw = user_app.get("/withdraw").forms["withdraw-form"]
    withdraw["account_number"], withdraw["ifsc"], withdraw["amount"] = (
        "50100012345678", "HDFC0001234", "100")
    page = withdraw.submit(status=200)
    assert "Withdraw ₹100.00 to HDFC Bank a/c ••••••5678?" in page.text
    assert "IFSC HDFC0001234" in page.text
    assert balance(db, people[0]) == (1_000_00, 0)


def test_a_user_without_a_pin_is_sent_to_set_one_first(user_app, db):
    make_user(db, ASHA, "Asha", deposit_paise=1_000_00, pin=None)
    make_user(db, RAVI, "Ravi Kumar")
    login(user_app, ASHA)
    to_pin = user_app.get("/send", status=303)
    assert to_pin.location.endswith("/pin?next=%2Fsend")
    form = to_pin.follow().forms["pin-form"]
    form["pin"], form["repeat"] = "2468", "2468"
    assert form.submit(status=303).location.endswith("/send")
    sent = PinForm(user_app.get("/send").forms["send-form"], pin="2468")
    sent["phone"], sent["amount"] = "9812345678", "10"
    assert "/transactions/" in sent.submit(status=303).location


def test_the_pin_is_changed_with_the_old_one_and_reset_with_the_password(user_app, db,
                                                                         people):
    asha, _ = people
    login(user_app, ASHA)
    change = user_app.get("/pin").forms["pin-form"]
    change["old_pin"], change["pin"], change["repeat"] = "0000", "2468", "2468"
    assert "Wrong PIN" in change.submit(status=400).text
    change = user_app.get("/pin").forms["pin-form"]
    change["old_pin"], change["pin"], change["repeat"] = PIN, "2468", "2468"
    change.submit(status=303)
    assert isinstance(send(db, asha, 1_00, PIN), WrongPin)
    reset = user_app.get("/pin/reset").forms["pin-reset-form"]
    reset["password"], reset["pin"], reset["repeat"] = "not the password", "8642", "8642"
    refused = reset.submit(status=400)
    assert "That is not your password." in refused.text and "phone" not in refused.text
    reset = user_app.get("/pin/reset").forms["pin-reset-form"]
    reset["password"], reset["pin"], reset["repeat"] = "correct horse battery", "8642", "8642"
    reset.submit(status=303)
    assert not isinstance(send(db, asha, 1_00, "8642"), WalletError)


def test_wrong_passwords_on_the_pin_reset_never_lock_the_sign_in(user_app, db, people):
    """Five wrong passwords on /pin/reset locked the log-in for 15 minutes
    and spoke of a phone number the page never asked for."""
    login(user_app, ASHA)
    for _ in range(6):
        reset = user_app.get("/pin/reset").forms["pin-reset-form"]
        reset["password"], reset["pin"], reset["repeat"] = "not the password", "8642", "8642"
        refused = reset.submit(status=400)
    assert "Too many" in refused.text and "phone" not in refused.text  # the page's own limit
    other = webtest.TestApp(user_app.app, extra_environ=user_app.extra_environ)
    assert login(other, ASHA).status_int == 303  # signing in is not locked


def test_the_checkout_asks_for_the_pin(user_app, db, people):
    with db() as session, session.begin():
        merchant = session.get(Merchant, make_merchant(db, "dosa-corner", "Dosa Corner",
                                                       "dosa@example.com"))
        merchant.return_origins = "https://shop.example"
    public_id = create(db, merchant.id)
    login(user_app, ASHA)
    form = user_app.get(f"/checkout/{public_id}").forms["checkout-form"]
    before = state(db)
    form["pin"] = "0000"
    assert "Wrong PIN" in form.submit(status=400).text
    assert state(db) == before
    form["pin"] = PIN
    form.submit(status=303)
    assert balance(db, people[0]) == (750_00, 0)


# -------------------------------------------------------------------- the API


def test_api_refuses_money_without_the_pin_or_with_a_wrong_one(api_wsgi, db, people):
    asha, _ = people
    raw = webtest.TestApp(api_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.8"})
    token = sign_in(raw)
    body = {"to_phone": "9812345678", "amount_paise": 100}
    before = state(db)
    missing = raw.post_json("/v1/transfers", body, headers=auth(token, new_key()), status=422)
    assert missing.content_type == PROBLEM and missing.json["code"] == "validation_error"
    wrong = raw.post_json("/v1/transfers", {**body, "pin": "0000"},
                          headers=auth(token, new_key()), status=403)
    assert wrong.content_type == PROBLEM and wrong.json["code"] == "wrong_pin"
    assert wrong.json["errors"][0]["field"] == "pin"
    assert state(db) == before and tries(db, asha)[0] == 1  # counted, and committed
    for _ in range(4):
        last = raw.post_json("/v1/transfers", {**body, "pin": "0000"},
                             headers=auth(token, new_key()), expect_errors=True)
    assert last.status_code == 423 and last.json["code"] == "pin_locked"
    assert 800 <= int(last.headers["Retry-After"]) <= 900
    locked = raw.post_json("/v1/withdrawals", {"bank": "hdfc", "account_number": "50100012345678",
                                               "ifsc": "HDFC0001234", "amount_paise": 100,
                                               "pin": PIN},
                           headers=auth(token, new_key()), status=423)
    assert locked.json["code"] == "pin_locked" and state(db) == before


def test_api_a_retry_may_correct_the_pin_with_the_same_key(api, db, people):
    token = sign_in(api)
    key = new_key()
    body = {"to_phone": "9812345678", "amount_paise": 100}
    api.post_json("/v1/transfers", {**body, "pin": "0000"}, headers=auth(token, key), status=403)
    first = api.post_json("/v1/transfers", body, headers=auth(token, key), status=201)
    again = api.post_json("/v1/transfers", body, headers=auth(token, key), status=201)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json


def test_api_sets_and_changes_the_pin(api, db):
    make_user(db, ASHA, "Asha", deposit_paise=1_000_00, pin=None)
    make_user(db, RAVI, "Ravi Kumar")
    token = sign_in(api)
    body = {"to_phone": "9812345678", "amount_paise": 100, "pin": "2468"}
    reply = api.post_json("/v1/transfers", body, headers=auth(token, new_key()), status=403)
    assert reply.json["code"] == "pin_not_set"
    api.post_json("/v1/pin", {"pin": "2468"}, headers=auth(token), status=204)
    assert api.post_json("/v1/pin", {"pin": "8642"}, headers=auth(token),
                         status=409).json["code"] == "pin_already_set"
    assert api.post_json("/v1/pin", {"pin": "8642", "old_pin": "0000"}, headers=auth(token),
                         status=403).json["code"] == "wrong_pin"
    api.post_json("/v1/transfers", body, headers=auth(token, new_key()), status=201)
    api.post_json("/v1/pin", {"pin": "8642", "old_pin": "2468"}, headers=auth(token), status=204)
    api.post_json("/v1/transfers", {**body, "pin": "8642"}, headers=auth(token, new_key()),
                  status=201)


# ------------------------------------------------------------------- the limits


def test_a_minimum_kyc_deposit_over_the_cap_is_refused_before_the_bank(user_app, db):
    meera = make_user(db, "+919988776655", "Meera", deposit_paise=9_000_00, full_kyc=False)
    login(user_app, "+919988776655")
    page = user_app.get("/add-money")
    assert "You can add up to <strong>₹1,000.00</strong> now" in page.text
    form = page.forms["add-money-form"]
    form["amount"] = "1500"
    before = state(db)
    refused = form.submit(status=400)  # no redirect: the user is never sent to the bank
    assert "You can add at most ₹1,000.00 now: your wallet holds at most ₹10,000.00." \
        in refused.text and "Complete your KYC" in refused.text
    assert state(db) == before
    form = refused.forms["add-money-form"]
    form["amount"] = "1000"
    assert "netbanking" in form.submit(status=303).location
    assert balance(db, meera) == (9_000_00, 0)


def test_the_monthly_bank_limit_counts_what_came_in_this_month(db):
    meera = make_user(db, "+919988776655", "Meera", deposit_paise=6_000_00, full_kyc=False)
    make_user(db, RAVI, "Ravi Kumar")
    assert not isinstance(send(db, meera, 5_000_00, PIN), WalletError)  # balance ₹1,000
    with db() as session, session.begin():
        with pytest.raises(DepositLimit) as refused:
            deposit_service(session, TEST_BANKS).start(session.get(User, meera), "hdfc",
                                                      5_000_00, "deposit-key-00000001")
        assert "takes in at most ₹10,000.00 a month from banks" in str(refused.value)
        assert "You can add at most ₹4,000.00 now" in str(refused.value)


def test_pending_deposits_count_towards_the_cap(db):
    meera = make_user(db, "+919988776655", "Meera", full_kyc=False)
    with db() as session, session.begin():
        deposits = deposit_service(session, TEST_BANKS)
        deposits.start(session.get(User, meera), "hdfc", 8_000_00, "deposit-key-00000001")
        with pytest.raises(DepositLimit):
            deposits.start(session.get(User, meera), "hdfc", 3_000_00, "deposit-key-00000002")


def test_a_transfer_the_recipient_cannot_take_is_refused_and_moves_nothing(db):
    asha = make_user(db, ASHA, "Asha", deposit_paise=50_000_00)
    make_user(db, RAVI, "Ravi Kumar", deposit_paise=9_500_00, full_kyc=False)
    before = state(db)
    refused = send(db, asha, 600_00, PIN)
    assert isinstance(refused, RecipientLimit)
    assert str(refused) == ("Ravi Kumar's wallet cannot receive ₹600.00 now: it would go over "
                            "its wallet limit. Nothing was sent.")
    assert state(db) == before
    assert not isinstance(send(db, asha, 500_00, PIN, key="form-key-0000000002"), WalletError)


def test_a_refund_the_customer_cannot_take_is_refused(db):
    merchant = make_merchant(db)
    asha = make_user(db, ASHA, "Asha", deposit_paise=2_000_00, full_kyc=False)
    with db() as session, session.begin():
        payment_id = shop_payments_service(session).pay_merchant(
            session.get(User, asha), "chai-point", 1_000_00, "pay-key-0000000001", pin=PIN).id
    # A friend fills Asha's minimum-KYC wallet to its ₹10,000 cap.
    friend = make_user(db, RAVI, "Ravi Kumar", deposit_paise=9_000_00)
    assert not isinstance(send(db, friend, 9_000_00, PIN, phone="9876543210"), WalletError)
    before = state(db)
    with db() as session, session.begin():
        with pytest.raises(RecipientLimit) as refused:
            refunds(session).refund(session.get(Merchant, merchant), payment_id, 1_000_00,
                                    "refund-key-00000001")
        assert "The customer's wallet cannot receive ₹1,000.00 now" in str(refused.value)
        assert "Nothing was refunded." in str(refused.value)
    assert state(db) == before


def test_kyc_moves_a_user_to_full_kyc_after_verification(user_app, db):
    meera = make_user(db, "+919988776655", "Meera", full_kyc=False)
    login(user_app, "+919988776655")
    page = user_app.get("/kyc")
    assert "Minimum KYC" in page.text
    form = page.forms["kyc-form"]
    form["name_on_pan"], form["pan"], form["date_of_birth"] = "Meera Iyer", "abcde1234", \
        "1992-05-04"
    assert "five letters, four digits, a letter" in form.submit(status=400).text
    form["pan"], form["date_of_birth"] = "ABCDE1234F", dt.date.today().replace(
        year=dt.date.today().year - 17).isoformat()
    assert "aged 18 or more" in form.submit(status=400).text
    form["date_of_birth"] = "1992-05-04"
    done = form.submit(status=303).follow()
    assert "Your KYC is complete" in done.text and "₹2,00,000.00" in done.text
    with db() as session:
        assert session.get(User, meera).kyc_level == "full"


def test_a_verifier_that_refuses_keeps_the_minimum_level(db):
    meera = make_user(db, "+919988776655", "Meera", full_kyc=False)

    class Refusing:
        name = "refusing"

        def verify(self, details):
            return KycVerdict(False, reason="The PAN registry has another name for this PAN.")

    with db() as session, session.begin():
        with pytest.raises(WalletError, match="another name"):
            KycService(session, Refusing(), TEST_PAN_VAULT).upgrade(
                session.get(User, meera), "Meera", "ABCDE1234F", "1990-01-01")
    with db() as session:
        assert session.get(User, meera).kyc_level == "minimum"


def test_kyc_details_are_parsed_strictly():
    today = dt.date(2026, 11, 30)
    assert parse_details(" Meera  Iyer ", "abcde1234f", "2008-11-30", today=today).pan \
        == "ABCDE1234F"
    for name, pan, born, field in (("", "ABCDE1234F", "1990-01-01", "name_on_pan"),
                                   ("M\u202eeera", "ABCDE1234F", "1990-01-01", "name_on_pan"),
                                   ("Meera", "ABCD12345F", "1990-01-01", "pan"),
                                   ("Meera", "ABCDE1234F", "2008-12-01", "date_of_birth"),
                                   ("Meera", "ABCDE1234F", "30/11/1990", "date_of_birth")):
        with pytest.raises(WalletError) as refused:
            parse_details(name, pan, born, today=today)
        assert refused.value.field == field


def test_demo_users_are_full_kyc_with_the_demo_pin(db):
    from wallet.seed import DEMO_PIN, seed_demo
    with db() as session, session.begin():
        seed_demo(services_for_tests(session))
    with db() as session:
        asha = session.scalar(select(User).where(User.phone == ASHA))
        assert asha.kyc_level == "full"
        Pins(session, policy=TEST_PIN_POLICY).approve(asha, DEMO_PIN)
        assert session.scalar(select(Transaction).where(Transaction.kind == "transfer"))
