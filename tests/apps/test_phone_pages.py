"""The user app's pages that prove the phone with a code (webapp/views/phone.py):
sign-up's second step, a forgotten password (the same answer for any phone),
a PIN reset by code, the notice of a sign-in from a new browser, the
development outbox page; and the API's /v1/otp operations."""
from __future__ import annotations

import re

import pytest
import webtest
from sqlalchemy import select

from wallet.core.models import Notification, User
from wallet.identity.models import KnownDevice, OtpCode

from ..api_helpers import auth, sign_in
from ..conftest import dispose_app_engine
from ..wallet_helpers import (
    PASSWORD,
    count,
    login,
    make_user,
    sign_up_with_code,
    sms_code,
    sms_texts,
)

ASHA = "+919876543210"
NEW_PASSWORD = "tamarind monsoon 77"


def test_sign_up_needs_the_code_and_says_when_it_is_wrong(user_app, db):
    form = user_app.get("/signup").forms["signup-form"]
    form["name"], form["phone"], form["password"] = "Meera Iyer", "99887 76655", PASSWORD
    verify = form.submit().follow()
    assert "ending <strong>6655</strong>" in verify.text
    assert count(db, User) == 0  # no account before the code
    code = sms_code(db, "+919988776655")
    wrong = verify.forms["verify-form"]
    wrong["code"] = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = wrong.submit(status=400)
    assert "That is not the code we sent. 4 tries left." in refused.text
    right = refused.forms["verify-form"]
    right["code"] = code
    assert right.submit().location.endswith("/dashboard")
    assert count(db, User) == 1 and count(db, KnownDevice) == 1
    assert count(db, Notification) == 0  # the first browser is not "new"


def test_five_wrong_codes_mean_starting_again(user_app, db):
    form = user_app.get("/signup").forms["signup-form"]
    form["name"], form["phone"], form["password"] = "Meera Iyer", "99887 76655", PASSWORD
    page = form.submit().follow()
    wrong = f"{(int(sms_code(db, '+919988776655')) + 1) % 1_000_000:06d}"
    for _ in range(4):
        verify = page.forms["verify-form"]
        verify["code"] = wrong
        page = verify.submit(status=400)
    verify = page.forms["verify-form"]
    verify["code"] = wrong
    dead = verify.submit(status=400)
    assert "Start again" in dead.text and "verify-form" not in dead.forms
    assert user_app.get("/signup/verify").location.endswith("/signup")
    assert count(db, User) == 0


def test_a_resend_waits_its_turn(user_app, db):
    form = user_app.get("/signup").forms["signup-form"]
    form["name"], form["phone"], form["password"] = "Meera Iyer", "99887 76655", PASSWORD
    page = form.submit().follow()
    too_soon = page.forms["resend-form"].submit(status=429)
    assert "Ask again in" in too_soon.text
    assert len(sms_texts(db, "+919988776655")) == 1


def forgot(app, phone: str):
    form = app.get("/password/forgot").forms["forgot-form"]
    form["phone"] = phone
    return form.submit()


def test_forgot_password_answers_alike_for_known_and_unknown_phones(user_wsgi, db):
    make_user(db, ASHA, "Asha Rao")
    answers = []
    for phone in ("98765 43210", "98765 00000"):
        app = webtest.TestApp(user_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
        sent = forgot(app, phone)
        page = sent.follow()
        answers.append((sent.status_int, sent.location, sent.text,
                        page.status_int, re.sub(r"\b\d{4}</strong>", "</strong>", page.text)
                        .replace(page.forms["reset-form"]["csrf_token"].value, "")))
    assert answers[0] == answers[1]
    assert len(sms_texts(db, ASHA)) == 1 and sms_texts(db, "+919876500000") == []
    with db() as session:
        assert len(session.scalars(select(OtpCode)).all()) == 2  # both counted alike


def test_a_password_reset_by_code_ends_every_session(user_wsgi, user_app, db):
    make_user(db, ASHA, "Asha Rao")
    other = webtest.TestApp(user_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    assert login(other, "98765 43210").status_int == 303
    page = forgot(user_app, "98765 43210").follow()
    form = page.forms["reset-form"]
    form["code"], form["password"], form["repeat"] = sms_code(db, ASHA), "asharao1", "asharao1"
    weak = form.submit(status=400)
    assert weak.html.select_one("#password-error") is not None
    form = weak.forms["reset-form"]
    form["code"], form["password"], form["repeat"] = sms_code(db, ASHA), NEW_PASSWORD, NEW_PASSWORD
    done = form.submit()
    assert done.location.endswith("/login")
    assert "Log in with the new password" in done.follow().text
    assert other.get("/dashboard").status_int == 303  # signed out everywhere
    assert login(user_app, "98765 43210").status_int == 400
    assert login(user_app, "98765 43210", NEW_PASSWORD).status_int == 303


def test_a_pin_reset_by_code(user_app, db):
    make_user(db, ASHA, "Asha Rao")
    login(user_app, "98765 43210")
    assert "pin-reset-by-code" in user_app.get("/pin/reset").text
    page = user_app.get("/pin/reset/code")
    sent = page.forms["pin-code-send-form"].submit().follow()
    assert "ending 3210" in sent.text
    form = sent.forms["pin-code-form"]
    form["code"], form["pin"], form["repeat"] = sms_code(db, ASHA), "4826", "4826"
    assert form.submit().location.endswith("/pin?done=1")


def test_a_sign_in_from_a_new_browser_is_told(user_wsgi, user_app, db):
    make_user(db, ASHA, "Asha Rao")
    login(user_app, "98765 43210")  # the first browser: recorded, not told
    csrf = user_app.get("/dashboard").forms[0]["csrf_token"].value
    user_app.post("/logout", {"csrf_token": csrf})
    login(user_app, "98765 43210")  # the same browser again
    assert count(db, Notification) == 0 and sms_texts(db, ASHA) == []
    other = webtest.TestApp(user_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    login(other, "98765 43210")
    assert count(db, Notification) == 1
    [text] = sms_texts(db, ASHA)
    assert text.startswith("New sign-in to your wallet")
    assert "New sign-in" in user_app.get("/notifications").text
    assert "wallet_device" in other.cookies and count(db, KnownDevice) == 2


def test_the_outbox_page_is_a_development_setting(user_app, db, web_settings):
    sign_up_with_code(user_app, db, "Meera Iyer", "99887 76655")
    assert "is your wallet code" in user_app.get("/dev/sms").text
    import webapp

    wsgi = webapp.main({}, **{**web_settings, "wallet.sms_outbox_page": "false"})
    webtest.TestApp(wsgi).get("/dev/sms", status=404)
    dispose_app_engine(wsgi)


# ------------------------------------------------------------------- the API


def test_api_signs_up_with_a_code(api, db):
    sent = api.post_json("/v1/otp", {"purpose": "signup", "phone": "99887 76655",
                                     "name": "Meera Iyer", "password": PASSWORD}, status=202)
    body = {"purpose": "signup", "verification_id": sent.json["verification_id"]}
    code = sms_code(db, "+919988776655")
    wrong = api.post_json("/v1/otp/verify", {**body, "code": "12345"}, status=422)
    assert wrong.json["code"] == "wrong_code"
    made = api.post_json("/v1/otp/verify", {**body, "code": code}, status=201)
    assert made.json["name"] == "Meera Iyer"
    assert api.post_json("/v1/otp/verify", {**body, "code": code}, status=410
                         ).json["code"] == "code_dead"
    assert sign_in(api, "+919988776655")


def test_api_signup_names_every_field_problem(api):
    refused = api.post_json("/v1/otp", {"purpose": "signup", "phone": "12", "name": "",
                                        "password": "x"}, status=422)
    assert {e["field"] for e in refused.json["errors"]} == {"phone", "name", "password"}


def test_api_password_reset_answers_alike_and_ends_tokens(api, db):
    make_user(db, ASHA, "Asha Rao")
    token = sign_in(api)
    answers = [api.post_json("/v1/otp", {"purpose": "password_reset", "phone": phone},
                             status=202).json for phone in ("98765 43210", "98765 00000")]
    assert [sorted(a) for a in answers] == [sorted(answers[0])] * 2
    body = {"purpose": "password_reset", "verification_id": answers[0]["verification_id"],
            "code": sms_code(db, ASHA)}
    api.post_json("/v1/otp/verify", {**body, "password": NEW_PASSWORD, "repeat": NEW_PASSWORD},
                  status=200)
    api.get("/v1/me", headers=auth(token), status=401)
    resent = api.post_json("/v1/otp/resend", {"purpose": "password_reset",
                                              "verification_id": body["verification_id"]},
                           status=410)
    assert resent.json["code"] == "code_dead"


def test_api_limits_codes_per_phone(api, db):
    for _ in range(5):
        api.post_json("/v1/otp", {"purpose": "password_reset", "phone": "98765 00000"},
                      status=202)
    refused = api.post_json("/v1/otp", {"purpose": "password_reset", "phone": "98765 00000"},
                            status=429)
    assert refused.json["code"] == "codes_throttled" and refused.headers["Retry-After"] == "3600"


@pytest.mark.parametrize("phone", ["98765 43210", "98765 00000"])
def test_api_wrong_codes_are_counted(api, db, phone):
    make_user(db, ASHA, "Asha Rao")
    sent = api.post_json("/v1/otp", {"purpose": "password_reset", "phone": phone}, status=202)
    body = {"purpose": "password_reset", "verification_id": sent.json["verification_id"],
            "code": "000000", "password": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    codes = [api.post_json("/v1/otp/verify", body, expect_errors=True).json["code"]
             for _ in range(5)]
    if phone == "98765 43210" and sms_code(db, ASHA) == "000000":
        pytest.skip("the code was 000000 (one chance in a million)")
    assert codes == ["wrong_code"] * 4 + ["code_dead"]
