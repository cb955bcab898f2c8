"""The API's parity with the user app's pages: saved bank accounts (look up,
add and remove with the PIN, withdraw to one by id), devices (list, sign one
out: its next request refused), KYC (status and submit) and the PIN's reset
with the password. Every answer is checked against the OpenAPI document by
the app itself (api.validate_responses); every bad input is a 4xx that
writes nothing."""
from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select

from wallet.banking.bank_client import BankClient, BankUnavailable
from wallet.banking.models import UserBankAccount, Withdrawal
from wallet.core.models import Notification
from wallet.identity.models import ApiToken, WalletPin

from ..api_helpers import auth, new_key, sign_in
from ..wallet_helpers import PASSWORD, PIN, login, make_user, state

NUMBER, IFSC = "50100012345678", "HDFC0001234"
DETAILS = {"bank": "hdfc", "account_number": NUMBER, "repeat_account_number": NUMBER,
           "ifsc": IFSC}


@pytest.fixture
def bank_names(monkeypatch):
    state_ = {"down": False, "asked": 0}

    def account_holder(self, account_number, ifsc):
        state_["asked"] += 1
        if state_["down"]:
            raise BankUnavailable("timed out")
        return {"name": "ASHA VERMA"} if account_number == NUMBER else None

    monkeypatch.setattr(BankClient, "account_holder", account_holder)
    return state_


@pytest.fixture
def asha_id(db):
    return make_user(db, "+919876543210", "Asha Verma", deposit_paise=1_000_00)


@pytest.fixture
def token(api, asha_id):
    return sign_in(api, device="Asha's Pixel")


def saved(db):
    with db() as session:
        return list(session.scalars(select(UserBankAccount)))


def written(db):
    rows = [(r.id, r.removed_at) for r in saved(db)]
    with db() as session:
        notifications = len(session.scalars(select(Notification.id)).all())
    return rows, notifications, state(db)


def tries(db, user_id):
    with db() as session:
        return session.get(WalletPin, user_id).failed_tries


def add(api, token, body=None, status=201, key=None):
    return api.post_json("/v1/bank_accounts", {**DETAILS, "pin": PIN, **(body or {})},
                         headers=auth(token, key or new_key()), status=status)


def test_look_up_add_list_withdraw_remove(api, db, asha_id, token, bank_names):
    found = api.post_json("/v1/bank_accounts/lookup", DETAILS, headers=auth(token)).json
    assert found == {"bank": "hdfc", "bank_name": "HDFC Bank", "account": "••••5678",
                     "ifsc": IFSC, "holder_name": "ASHA VERMA"}
    assert saved(db) == []  # a look-up saves nothing
    account = add(api, token).json
    assert account["holder_name"] == "ASHA VERMA" and account["removed_at"] is None
    listed = api.get("/v1/bank_accounts", headers=auth(token)).json["items"]
    assert [a["id"] for a in listed] == [account["id"]]
    wd = api.post_json(f"/v1/bank_accounts/{account['id']}/withdrawals",
                       {"amount_paise": 400_00, "pin": PIN}, headers=auth(token, new_key()),
                       status=202).json
    assert (wd["amount"]["amount_paise"], wd["bank"], wd["ifsc"]) == (400_00, "hdfc", IFSC)
    with db() as session:
        assert session.get(Withdrawal, wd["id"]).account_number == NUMBER
    removed = api.post_json(f"/v1/bank_accounts/{account['id']}/remove", {"pin": PIN},
                            headers=auth(token, new_key())).json
    assert removed["removed_at"] is not None
    assert api.get("/v1/bank_accounts", headers=auth(token)).json["items"] == []
    api.post_json(f"/v1/bank_accounts/{account['id']}/withdrawals",
                  {"amount_paise": 100_00, "pin": PIN}, headers=auth(token, new_key()),
                  status=404)


def test_a_wrong_pin_is_counted_and_nothing_written(api, db, asha_id, token, bank_names):
    before = written(db)
    answer = add(api, token, {"pin": "9999"}, status=403).json
    assert answer["code"] == "wrong_pin"
    assert written(db) == before and tries(db, asha_id) == 1
    account = add(api, token).json
    before = written(db)
    api.post_json(f"/v1/bank_accounts/{account['id']}/remove", {"pin": "9999"},
                  headers=auth(token, new_key()), status=403)
    api.post_json(f"/v1/bank_accounts/{account['id']}/withdrawals",
                  {"amount_paise": 100_00, "pin": "9999"}, headers=auth(token, new_key()),
                  status=403)
    assert written(db) == before and tries(db, asha_id) == 2


def test_the_same_key_replays_the_first_answer(api, db, token, bank_names):
    key = new_key()
    first = add(api, token, key=key).json
    again = add(api, token, key=key)
    assert again.json == first and again.headers["Idempotent-Replayed"] == "true"
    assert len(saved(db)) == 1


@pytest.mark.parametrize("body, status, code", [
    ({"account_number": "12ab", "repeat_account_number": "12ab"}, 422, "validation_error"),
    ({"repeat_account_number": "50100012345679"}, 422, "validation_error"),
    ({"ifsc": "UTIB0000123"}, 422, "validation_error"),
    ({"bank": "sbi"}, 422, "validation_error"),
    ({"account_number": "50100099999999", "repeat_account_number": "50100099999999"}, 422,
     "bank_account_unknown"),
    ({"pin": 1357}, 422, "validation_error"),
    ({"extra": 1}, 422, "validation_error"),
])
def test_bad_input_is_refused_and_writes_nothing(api, db, token, bank_names, body, status,
                                                 code):
    before = written(db)
    answer = add(api, token, body, status=status).json
    assert answer["code"] == code
    assert written(db) == before


def test_no_idempotency_key_no_bank_call(api, db, token, bank_names):
    answer = api.post_json("/v1/bank_accounts", {**DETAILS, "pin": PIN}, headers=auth(token),
                           status=400).json
    assert answer["code"] == "idempotency_key_missing"
    assert bank_names["asked"] == 0 and saved(db) == []


def test_a_bank_that_does_not_answer_is_a_clear_503(api, db, token, bank_names):
    bank_names["down"] = True
    for path, body in (("/v1/bank_accounts/lookup", DETAILS),
                       ("/v1/bank_accounts", {**DETAILS, "pin": PIN})):
        answer = api.post_json(path, body, headers=auth(token, new_key()), status=503).json
        assert answer["code"] == "bank_unavailable" and "did not answer" in answer["detail"]
    assert saved(db) == []


def test_anothers_account_is_not_found(api, db, token, bank_names):
    account = add(api, token).json
    make_user(db, "+919812345678", "Ravi Kumar")
    ravi = sign_in(api, "+919812345678")
    for path, body in ((f"/v1/bank_accounts/{account['id']}/remove", {"pin": PIN}),
                       (f"/v1/bank_accounts/{account['id']}/withdrawals",
                        {"amount_paise": 100_00, "pin": PIN})):
        answer = api.post_json(path, body, headers=auth(ravi, new_key()), status=404).json
        assert answer["code"] == "bank_account_not_found"
    assert saved(db)[0].removed_at is None


# ---------------------------------------------------------------- devices


def test_devices_list_browsers_and_apps_and_sign_one_out(api, user_wsgi, db, asha_id, token):
    browser = webtest.TestApp(user_wsgi, extra_environ={
        "REMOTE_ADDR": "198.51.100.23",
        "HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                           "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"})
    login(browser, "+919876543210")
    other = sign_in(api, device="Old tablet")
    items = api.get("/v1/devices", headers=auth(token)).json["items"]
    assert items[0]["current"] and items[0]["name"] == "Asha's Pixel"
    web = next(d for d in items if d["kind"] == "web")
    assert (web["browser"], web["system"], web["network"], web["location"]) == (
        "Chrome 120", "Android 14", "198.51.100.•", None)
    app = next(d for d in items if d["name"] == "Old tablet")
    api.delete(f"/v1/devices/{web['id']}", headers=auth(token), status=204)
    browser.get("/dashboard", status=303)  # its next request: signed out
    api.delete(f"/v1/devices/{app['id']}", headers=auth(token), status=204)
    api.get("/v1/me", headers=auth(other), status=401)
    api.delete(f"/v1/devices/{app['id']}", headers=auth(token), status=404)  # ended already
    api.get("/v1/me", headers=auth(token), status=200)


def test_anothers_device_cannot_be_signed_out(api, db, asha_id, token):
    make_user(db, "+919812345678", "Ravi Kumar")
    ravi = sign_in(api, "+919812345678")
    with db() as session:
        asha_token = session.scalars(select(ApiToken.id).where(
            ApiToken.user_id == asha_id)).first()
    api.delete(f"/v1/devices/app_{asha_token}", headers=auth(ravi), status=404)
    for bad in ("app_x", "tok_1", "app_" + "1" * 19):
        api.delete(f"/v1/devices/{bad}", headers=auth(ravi), status=404)
    api.get("/v1/me", headers=auth(token), status=200)


# -------------------------------------------------------- KYC, PIN reset


def test_kyc_status_and_submit(api, db):
    make_user(db, "+919812345678", "Ravi Kumar", full_kyc=False)
    ravi = sign_in(api, "+919812345678")
    status = api.get("/v1/kyc", headers=auth(ravi)).json
    assert status["level"] == "minimum" and status["verified"] is None
    assert status["bank_left_this_month"] is not None
    refused = api.post_json("/v1/kyc", {"name_on_pan": "Ravi Kumar", "pan": "BAD",
                                        "date_of_birth": "1990-01-01"},
                            headers=auth(ravi), status=422).json
    assert refused["code"] == "validation_error"
    done = api.post_json("/v1/kyc", {"name_on_pan": "Ravi Kumar", "pan": "ABCPK1234F",
                                     "date_of_birth": "1990-01-01"}, headers=auth(ravi)).json
    assert done["level"] == "full" and done["verified"]["name_on_pan"] == "Ravi Kumar"
    assert done["verified"]["pan"].endswith("234F") and "ABCPK" not in done["verified"]["pan"]
    api.post_json("/v1/kyc", {"name_on_pan": "Ravi Kumar", "pan": "ABCPK1234F",
                              "date_of_birth": "1990-01-01"}, headers=auth(ravi), status=422)


def test_pin_reset_needs_the_password_and_keeps_this_token(api, db, asha_id, token):
    make_user(db, "+919812345678", "Ravi Kumar")
    other = sign_in(api, device="Old tablet")
    answer = api.post_json("/v1/pin/reset", {"password": "wrong", "pin": "2468"},
                           headers=auth(token), status=422).json
    assert answer["errors"][0]["field"] == "password"
    api.post_json("/v1/pin/reset", {"password": PASSWORD, "pin": "1111"}, headers=auth(token),
                  status=422)  # too easy: refused, nothing changed
    api.get("/v1/me", headers=auth(other), status=200)
    api.post_json("/v1/pin/reset", {"password": PASSWORD, "pin": "2468"}, headers=auth(token),
                  status=204)
    api.get("/v1/me", headers=auth(other), status=401)  # every other token ended
    api.get("/v1/me", headers=auth(token), status=200)
    api.post_json("/v1/transfers", {"to_phone": "+919812345678", "amount_paise": 100,
                                    "pin": PIN}, headers=auth(token, new_key()), status=403)
    api.post_json("/v1/transfers", {"to_phone": "+919812345678", "amount_paise": 100,
                                    "pin": "2468"}, headers=auth(token, new_key()), status=201)
