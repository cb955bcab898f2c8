"""The JSON API (api_app): tokens, the money endpoints over the domain's rules,
Idempotency-Key semantics, problem+json errors, paging and filters, limits."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from wallet.identity.accounts import MAX_FAILURES_PER_PHONE
from wallet.identity.models import ApiToken

from ..api_helpers import auth, new_key, sign_in
from ..conftest import pin_test_app
from ..wallet_helpers import PASSWORD, balance, make_user, state

PROBLEM = "application/problem+json"


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


@pytest.fixture
def ravi(db):
    return make_user(db, "+919812345678", "Ravi")


def send(api, token, amount_paise=120_50, key=None, status=201, **extra):
    body = {"to_phone": "98123 45678", "amount_paise": amount_paise, **extra}
    return api.post_json("/v1/transfers", body, headers=auth(token, key or new_key()),
                         status=status)


# ------------------------------------------------------------------ tokens


def test_sign_in_returns_a_token_shown_once_and_stored_hashed(api, db, asha):
    reply = api.post_json("/v1/tokens", {"phone": "98765 43210", "password": PASSWORD,
                                         "device_name": "Asha's Pixel"}, status=201)
    token = reply.json["token"]
    assert token.startswith("wlt_") and reply.json["device_name"] == "Asha's Pixel"
    with db() as session:
        stored = session.query(ApiToken).one()
        assert token not in (stored.token_sha256, stored.prefix) and len(stored.token_sha256) == 64
    listed = api.get("/v1/tokens", headers=auth(token)).json["items"]
    assert [(t["device_name"], t["current"]) for t in listed] == [("Asha's Pixel", True)]
    assert "token" not in listed[0]
    me = api.get("/v1/me", headers=auth(token)).json
    assert me["balance"]["available"] == {"amount_paise": 1_000_00, "display": "₹1,000.00"}


def test_wrong_passwords_are_refused_then_throttled_like_the_pages(api, asha):
    body = {"phone": "9876543210", "password": "wrong password!", "device_name": "x"}
    for _ in range(MAX_FAILURES_PER_PHONE):
        reply = api.post_json("/v1/tokens", body, status=401)
        assert reply.content_type == PROBLEM and reply.json["code"] == "invalid_credentials"
    body["password"] = PASSWORD  # even the right one, now
    reply = api.post_json("/v1/tokens", body, status=429)
    assert reply.json["code"] == "login_throttled" and reply.headers["Retry-After"]


def test_a_revoked_token_is_refused_at_once(api, asha):
    first, second = sign_in(api, device="phone"), sign_in(api, device="tablet")
    tokens = api.get("/v1/tokens", headers=auth(first)).json["items"]
    tablet = next(t for t in tokens if t["device_name"] == "tablet")
    api.delete(f"/v1/tokens/{tablet['id']}", headers=auth(first), status=204)
    reply = api.get("/v1/me", headers=auth(second), status=401)
    assert reply.json["code"] == "unauthorized" and "Bearer" in reply.headers["WWW-Authenticate"]
    api.get("/v1/me", headers=auth(first), status=200)
    api.delete(f"/v1/tokens/{tablet['id']}", headers=auth(first), status=404)  # gone already


def test_someone_elses_token_cannot_be_revoked(api, asha, ravi):
    mine, theirs = sign_in(api), sign_in(api, phone="+919812345678")
    their_id = api.get("/v1/tokens", headers=auth(theirs)).json["items"][0]["id"]
    api.delete(f"/v1/tokens/{their_id}", headers=auth(mine), status=404)
    api.get("/v1/me", headers=auth(theirs), status=200)


@pytest.mark.parametrize("column", ["expires_at", "last_used_at"])
def test_an_expired_or_idle_token_is_refused(api, app_engine, asha, column):
    token = sign_in(api)
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400)
    with app_engine.begin() as conn:
        conn.execute(update(ApiToken).values({column: long_ago}))
    api.get("/v1/me", headers=auth(token), status=401)


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nope", "Basic abc",
                                    "Bearer wlt_" + "A" * 43])
def test_bad_authorization_headers_get_401(api, asha, header):
    reply = api.get("/v1/me", headers={"Authorization": header} if header else {}, status=401)
    assert reply.content_type == PROBLEM


# ------------------------------------------------------------------ money


def test_send_money_moves_it_once_and_both_see_it(api, db, asha, ravi):
    token = sign_in(api)
    sent = send(api, token, note="dinner").json
    assert sent["kind"] == "transfer" and sent["status"] == "completed"
    assert sent["amount"] == {"amount_paise": 120_50, "display": "₹120.50"}
    assert sent["direction"] == "out" and "Ravi" in sent["counterparty"]
    assert balance(db, asha)[0] == 1_000_00 - 120_50 and balance(db, ravi)[0] == 120_50
    fetched = api.get(f"/v1/transactions/{sent['id']}", headers=auth(token)).json
    # (GET adds what may be reported about it: POST /v1/tickets)
    assert "wrong_person" in fetched.pop("ticket_categories")
    # (and the payer's signed receipt: docs/receipts.md)
    assert fetched.pop("receipt")["text"].startswith("WR1.")
    # What the sender was told of the payee is the answer's only (a first payment).
    assert sent.pop("first_payment") is True and sent.pop("payee_verified_name") == "Ravi"
    assert fetched == sent
    theirs = sign_in(api, phone="+919812345678")
    assert api.get(f"/v1/transactions/{sent['id']}", headers=auth(theirs)).json[
        "direction"] == "in"


def test_someone_elses_transaction_is_not_found(api, db, asha, ravi):
    make_user(db, "+919900000001", "Mala")
    sent = send(api, sign_in(api)).json
    stranger = sign_in(api, phone="+919900000001")
    reply = api.get(f"/v1/transactions/{sent['id']}", headers=auth(stranger), status=404)
    assert reply.json["code"] == "not_found"


@pytest.mark.parametrize("body, status, code, field", [
    ({"to_phone": "98123 45678", "amount_paise": 12.5}, 422, "validation_error", "amount_paise"),
    ({"to_phone": "98123 45678", "amount_paise": 100.0}, 422, "validation_error",
     "amount_paise"),
    ({"to_phone": "98123 45678", "amount_paise": "100"}, 422, "validation_error",
     "amount_paise"),
    ({"to_phone": "98123 45678", "amount_paise": True}, 422, "validation_error",
     "amount_paise"),
    ({"to_phone": "98123 45678", "amount_paise": 0}, 422, "validation_error", "amount_paise"),
    ({"to_phone": "98123 45678", "amount_paise": -5}, 422, "validation_error", "amount_paise"),
    ({"to_phone": "98123 45678"}, 422, "validation_error", "amount_paise"),
    ({"to_phone": "98123 45678", "amount_paise": 100, "extra": 1}, 422, "validation_error",
     "body"),
    ({"to_phone": "98123 45678", "amount_paise": 2_000_00}, 422, "insufficient_funds",
     "amount_paise"),
    ({"to_phone": "98123 45678", "amount_paise": 1_00_000_01}, 422, "limit_exceeded",
     "amount_paise"),
    ({"to_phone": "90000 00000", "amount_paise": 100}, 422, "recipient_not_found", "to_phone"),
    ({"to_phone": "12345", "amount_paise": 100}, 422, "validation_error", "to_phone"),
    ({"to_phone": "98765 43210", "amount_paise": 100}, 422, "self_transfer", "to_phone"),
    ({"to_phone": "98123 45678", "amount_paise": 100, "note": "x" * 141}, 422,
     "validation_error", "note"),
])
def test_bad_transfers_are_problems_and_write_nothing(api, db, asha, ravi, body, status,
                                                      code, field):
    token = sign_in(api)
    before = state(db)
    reply = api.post_json("/v1/transfers", body, headers=auth(token, new_key()), status=status)
    assert reply.content_type == PROBLEM
    assert reply.json["code"] == code and reply.json["status"] == status
    assert field in [error["field"] for error in reply.json.get("errors", [])] or \
        field == "body"
    assert state(db) == before


@pytest.mark.parametrize("path, body, code", [
    ("/v1/payments", {"merchant_handle": "no-such-shop", "amount_paise": 100},
     "recipient_not_found"),
    ("/v1/deposits", {"bank": "nobank", "amount_paise": 100_00}, "validation_error"),
    ("/v1/deposits", {"bank": "hdfc", "amount_paise": 50}, "validation_error"),
    ("/v1/deposits", {"bank": "hdfc", "amount_paise": 100_00, "return_url": "javascript:x"},
     "validation_error"),
    ("/v1/withdrawals", {"bank": "hdfc", "account_number": "12ab", "ifsc": "HDFC0001234",
                         "amount_paise": 100_00}, "validation_error"),
    ("/v1/withdrawals", {"bank": "hdfc", "account_number": "50100012345678",
                         "ifsc": "HDFC1234", "amount_paise": 100_00}, "validation_error"),
    ("/v1/withdrawals", {"bank": "hdfc", "account_number": "50100012345678",
                         "ifsc": "HDFC0001234", "amount_paise": 5_000_00},
     "insufficient_funds"),
])
def test_bad_payments_deposits_and_withdrawals_write_nothing(api, db, asha, path, body, code):
    token = sign_in(api)
    before = state(db)
    reply = api.post_json(path, body, headers=auth(token, new_key()), expect_errors=True)
    assert 400 <= reply.status_code < 500 and reply.content_type == PROBLEM
    assert reply.json["code"] == code
    assert state(db) == before


def test_money_posts_need_an_idempotency_key(api, db, asha, ravi):
    token = sign_in(api)
    before = state(db)
    for key, code, detail in ((None, "idempotency_key_missing", "Send an Idempotency-Key"),
                              ("short", "idempotency_key_invalid", "too short (5 characters)"),
                              ("has spaces in it!!", "idempotency_key_invalid", "only letters"),
                              ("x" * 300, "idempotency_key_invalid",
                               "too long (300 characters): use at most 64")):
        headers = auth(token, key)
        reply = api.post_json("/v1/transfers", {"to_phone": "9812345678", "amount_paise": 100},
                              headers=headers, status=400)
        assert reply.json["code"] == code and detail in reply.json["detail"], reply.json
    assert state(db) == before


def test_malformed_json_is_a_400(api, db, asha):
    token = sign_in(api)
    reply = api.post("/v1/transfers", "{not json", status=400,
                     headers={**auth(token, new_key()), "Content-Type": "application/json"})
    assert reply.json["code"] == "malformed_request"


def test_a_deposit_returns_the_netbanking_url_and_can_be_polled(api, asha):
    token = sign_in(api)
    started = api.post_json("/v1/deposits", {"bank": "hdfc", "amount_paise": 500_00},
                            headers=auth(token, new_key()), status=201).json
    assert started["status"] == "pending" and started["amount"]["amount_paise"] == 500_00
    assert started["netbanking_url"].startswith("http://127.0.0.1:9/hdfc/netbanking?reference=")
    polled = api.get(f"/v1/deposits/{started['reference']}", headers=auth(token)).json
    assert polled["status"] == "pending" and "netbanking_url" not in polled


def test_a_withdrawal_holds_the_money_and_can_be_polled(api, db, asha):
    import huey_tasks

    huey_tasks.huey.flush()
    token = sign_in(api)
    body = {"bank": "hdfc", "account_number": "50100012345678", "ifsc": "HDFC0001234",
            "amount_paise": 400_00}
    made = api.post_json("/v1/withdrawals", body, headers=auth(token, new_key()),
                         status=202).json
    assert made["status"] == "queued" and made["account"] == "a/c ••5678"
    assert made["attempts"] == {"count": 0, "last_kind": None, "last_outcome": None,
                                "last_at": None}
    assert balance(db, asha) == (600_00, 400_00)
    assert [task.args[0] for task in huey_tasks.huey.pending()] == [f"user:{asha}"]
    huey_tasks.huey.flush()
    assert api.get(f"/v1/withdrawals/{made['id']}", headers=auth(token)).json == made


# ------------------------------------------------------------- idempotency


def test_the_same_key_and_request_replays_the_first_answer_even_after_spending(api, db,
                                                                                asha, ravi):
    token = sign_in(api)
    key = new_key()
    first = send(api, token, 300_00, key=key)
    send(api, token, 700_00)  # everything else is spent since
    again = send(api, token, 300_00, key=key)
    assert again.json == first.json and again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balance(db, asha)[0] == 0 and balance(db, ravi)[0] == 1_000_00


def test_the_same_key_with_another_request_is_a_conflict(api, db, asha, ravi):
    token = sign_in(api)
    key = new_key()
    send(api, token, 100_00, key=key)
    before = state(db)
    for body in ({"to_phone": "98123 45678", "amount_paise": 200_00},
                 {"to_phone": "98123 45678", "amount_paise": 100_00, "note": "changed"}):
        reply = api.post_json("/v1/transfers", body, headers=auth(token, key), status=409)
        assert reply.json["code"] == "idempotency_key_reused"
    reply = api.post_json("/v1/payments", {"merchant_handle": "x-shop", "amount_paise": 100},
                          headers=auth(token, key), status=409)
    assert state(db) == before


def test_keys_belong_to_their_user(api, db, asha, ravi):
    key = new_key()
    send(api, sign_in(api), 100_00, key=key)
    theirs = sign_in(api, phone="+919812345678")
    reply = api.post_json("/v1/transfers", {"to_phone": "98765 43210", "amount_paise": 50_00},
                          headers=auth(theirs, key), status=201)
    assert "Idempotent-Replayed" not in reply.headers


def test_a_refused_request_is_not_stored_so_its_key_can_run_later(api, db, asha, ravi):
    token = sign_in(api)
    key = new_key()
    send(api, token, 2_000_00, key=key, status=422)  # not enough money
    send(api, token, 500_00, key=key, status=201)


# ------------------------------------------------------------- listing


def test_transactions_page_and_filter(api, db, asha, ravi):
    token = sign_in(api)
    for amount in (1_00, 2_00, 3_00):
        send(api, token, amount)
    page = api.get("/v1/transactions?limit=2", headers=auth(token)).json
    assert [t["amount"]["amount_paise"] for t in page["items"]] == [3_00, 2_00]
    rest = api.get(f"/v1/transactions?limit=2&cursor={page['next_cursor']}",
                   headers=auth(token)).json
    assert [t["kind"] for t in rest["items"]] == ["transfer", "deposit"]
    assert rest["next_cursor"] is None
    deposits = api.get("/v1/transactions?kind=deposit", headers=auth(token)).json["items"]
    assert [t["kind"] for t in deposits] == ["deposit"]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=5, minutes=30))).date()
    none = api.get(f"/v1/transactions?from={today + dt.timedelta(days=1)}",
                   headers=auth(token)).json["items"]
    assert none == []
    assert len(api.get(f"/v1/transactions?from={today}&to={today}&status=completed",
                       headers=auth(token)).json["items"]) == 3
    for query in ("limit=0", "limit=101", "kind=gift", "cursor=abc", "from=2026-13-01",
                  f"from={today}&to={today - dt.timedelta(days=1)}"):
        reply = api.get(f"/v1/transactions?{query}", headers=auth(token), status=400)
        assert reply.content_type == PROBLEM


# ------------------------------------------------------------- limits


def test_money_requests_are_rate_limited_per_token(api_settings, db, asha, ravi):

    import api_app

    wsgi = api_app.main({}, **{**api_settings, "api.money_requests_per_minute_per_token": "3"})
    api = pin_test_app(wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.8"})
    token = sign_in(api)
    for _ in range(3):
        send(api, token, 1_00)
    reply = send(api, token, 1_00, status=429)
    assert reply.json["code"] == "rate_limited" and 1 <= int(reply.headers["Retry-After"]) <= 61
    assert balance(db, ravi)[0] == 3_00
    api.get("/v1/me", headers=auth(token), status=200)  # reading is not limited
    wsgi.registry["dbsession_factory"].kw["bind"].dispose()


# ------------------------------------------------------------- the document


def test_the_document_and_the_docs_are_served_without_a_cdn(api):
    document = api.get("/v1/openapi.json").json
    assert document["openapi"].startswith("3.1") and "/v1/transfers" in document["paths"]
    page = api.get("/docs").text
    assert "//" not in page.replace("<!DOCTYPE", "")  # no absolute or CDN links
    assert api.get("/docs/assets/swagger-ui-bundle.js").content_length > 100_000
    api.get("/docs/static/docs.js", status=200)


def test_unknown_paths_and_methods_are_problems(api, asha):
    token = sign_in(api)
    assert api.get("/v1/nothing", headers=auth(token), status=404).content_type == PROBLEM
    reply = api.put_json("/v1/me", {}, headers=auth(token), expect_errors=True)
    assert reply.status_code in (404, 405) and reply.content_type == PROBLEM


def test_the_document_is_valid_openapi_3_1():
    import yaml
    from openapi_spec_validator import validate

    from api_app import SPEC_PATH

    validate(yaml.safe_load(SPEC_PATH.read_text()))  # raises on any fault


def test_every_other_method_on_a_documented_path_is_a_405(api, asha):
    token = sign_in(api)
    reply = api.put_json("/v1/me", {}, headers=auth(token), status=405)
    assert reply.content_type == PROBLEM and reply.headers["Allow"] == "GET"
    reply = api.post("/v1/transfers", "to_phone=1", status=415,
                     headers={**auth(token, new_key()),
                              "Content-Type": "application/x-www-form-urlencoded"})
    assert reply.json["code"] == "unsupported_media_type"
