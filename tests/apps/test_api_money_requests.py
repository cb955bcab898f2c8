"""The API's money requests and split bills: ask, pay with the PIN (one
transfer, whatever the Idempotency-Keys), decline and block, cancel, lists
with paging; splits made, shown, reminded, edited and closed; every bad input
a problem with its code and nothing written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from wallet.core.models import Notification
from wallet.money.models import MoneyRequest, RequestBlock, Split

from ..api_helpers import auth, new_key, sign_in
from ..wallet_helpers import PIN, balance, make_user, state

ASHA, RAVI, MEERA, ZOYA = "+919876543210", "+919812345678", "+919900011122", "+919900033344"


@pytest.fixture
def people(db):
    return {"asha": make_user(db, ASHA, "Asha Verma"),
            "ravi": make_user(db, RAVI, "Ravi Kumar", deposit_paise=1_000_00),
            "meera": make_user(db, MEERA, "Meera Iyer", deposit_paise=1_000_00),
            "zoya": make_user(db, ZOYA, "Zoya Khan", deposit_paise=1_000_00)}


def rows(db):
    with db() as session:
        return (state(db), *(session.scalar(select(func.count()).select_from(m))
                             for m in (MoneyRequest, Split, Notification, RequestBlock)))


def ask(api, token, body=None, status=201):
    body = body or {"to_phone": "98123 45678", "amount_paise": 250_00, "note": "dinner"}
    return api.post_json("/v1/money_requests", body, headers=auth(token, new_key()),
                         status=status, expect_errors=status >= 400).json


def test_ask_pay_once_and_both_see_it(api, db, people):
    asha, ravi = sign_in(api, ASHA), sign_in(api, RAVI)
    made = ask(api, asha)
    assert (made["status"], made["direction"], made["amount"]["amount_paise"]) == (
        "pending", "outgoing", 250_00)
    seen = api.get("/v1/money_requests", headers=auth(ravi)).json["items"]
    assert [(r["id"], r["direction"], r["first_time"]) for r in seen] == [
        (made["id"], "incoming", True)]
    path = f"/v1/money_requests/{made['id']}/pay"
    paid = api.post_json(path, {"pin": PIN, "amount_paise": 250_00},
                         headers=auth(ravi, new_key()), status=201).json
    again = api.post_json(path, {"pin": PIN}, headers=auth(ravi, new_key()), status=201).json
    assert paid["request"]["status"] == "paid"
    assert again["transaction"]["id"] == paid["transaction"]["id"]  # one transfer
    assert balance(db, people["ravi"])[0] == 750_00 and balance(db, people["asha"])[0] == 250_00
    mine = api.get(f"/v1/money_requests/{made['id']}", headers=auth(asha)).json
    assert (mine["status"], mine["transaction_id"]) == ("paid", paid["transaction"]["id"])
    outgoing = api.get("/v1/money_requests?role=outgoing&status=paid", headers=auth(asha))
    assert [r["id"] for r in outgoing.json["items"]] == [made["id"]]


def test_a_wrong_pin_and_a_changed_amount_move_nothing(api, db, people):
    asha, ravi = sign_in(api, ASHA), sign_in(api, RAVI)
    made = ask(api, asha)
    path = f"/v1/money_requests/{made['id']}/pay"
    wrong = api.post_json(path, {"pin": "0000"}, headers=auth(ravi, new_key()), status=403)
    assert wrong.json["code"] == "wrong_pin"
    changed = api.post_json(path, {"pin": PIN, "amount_paise": 1_00},
                            headers=auth(ravi, new_key()), status=409)
    assert changed.json["code"] == "amount_changed"
    assert balance(db, people["ravi"])[0] == 1_000_00


def test_decline_and_block_then_cancel(api, db, people):
    asha, ravi = sign_in(api, ASHA), sign_in(api, RAVI)
    made = ask(api, asha)
    declined = api.post_json(f"/v1/money_requests/{made['id']}/decline", {"block": True},
                             headers=auth(ravi), status=200).json
    assert declined["status"] == "declined"
    assert ask(api, asha, status=422)["code"] == "requests_blocked"
    other = ask(api, asha, {"to_phone": MEERA, "amount_paise": 100})
    cancelled = api.post(f"/v1/money_requests/{other['id']}/cancel", headers=auth(asha),
                         status=200).json
    assert cancelled["status"] == "cancelled"
    closed = api.post_json(f"/v1/money_requests/{other['id']}/pay", {"pin": PIN},
                           headers=auth(sign_in(api, MEERA), new_key()), status=409)
    assert closed.json["code"] == "money_request_closed"


@pytest.mark.parametrize("body, status, code", [
    ({"to_phone": ASHA, "amount_paise": 100}, 422, "self_request"),
    ({"to_phone": "+919000000000", "amount_paise": 100}, 422, "recipient_not_found"),
    ({"to_phone": RAVI, "amount_paise": 0}, 422, "validation_error"),
    ({"to_phone": RAVI, "amount_paise": -100}, 422, "validation_error"),
    ({"to_phone": RAVI, "amount_paise": 100.0}, 422, "validation_error"),
    ({"to_phone": RAVI, "amount_paise": 10.5}, 422, "validation_error"),
    ({"to_phone": RAVI, "amount_paise": "100"}, 422, "validation_error"),
    ({"to_phone": RAVI, "amount_paise": 100, "expires_at": "2020-01-01"}, 422,
     "validation_error"),
    ({"to_phone": RAVI, "amount_paise": 100, "expires_at": "soon"}, 422, "validation_error"),
    ({"to_phone": RAVI}, 422, "validation_error"),
])
def test_bad_requests_are_problems_and_write_nothing(api, db, people, body, status, code):
    asha = sign_in(api, ASHA)
    before = rows(db)
    assert ask(api, asha, body, status=status)["code"] == code
    assert rows(db) == before


def test_someone_elses_request_is_not_found(api, db, people):
    made = ask(api, sign_in(api, ASHA))
    zoya = sign_in(api, ZOYA)
    before = rows(db)
    base = f"/v1/money_requests/{made['id']}"
    assert api.get(base, headers=auth(zoya), status=404).json["code"] == (
        "money_request_not_found")
    assert api.post_json(base + "/pay", {"pin": PIN}, headers=auth(zoya, new_key()),
                         status=404).json["code"] == "money_request_not_found"
    api.post_json(base + "/decline", {}, headers=auth(zoya), status=404)
    api.post(base + "/cancel", headers=auth(zoya), status=404)
    api.post(base + "/cancel", headers=auth(sign_in(api, RAVI)), status=404)  # the payer's not
    assert rows(db) == before


def test_paging(api, people):
    asha, ravi = sign_in(api, ASHA), sign_in(api, RAVI)
    made = [ask(api, asha, {"to_phone": RAVI, "amount_paise": 100 + i})["id"] for i in range(3)]
    first = api.get("/v1/money_requests?limit=2", headers=auth(ravi)).json
    rest = api.get(f"/v1/money_requests?limit=2&cursor={first['next_cursor']}",
                   headers=auth(ravi)).json
    assert [r["id"] for r in first["items"] + rest["items"]] == made[::-1]
    assert rest["next_cursor"] is None


# ------------------------------------------------------------------ splits


def make_split(api, token, body=None, status=201):
    body = body or {"title": "Dinner", "total_paise": 100_000, "mode": "equal",
                    "participants": [{"phone": ASHA}, {"phone": RAVI}, {"phone": MEERA}]}
    return api.post_json("/v1/splits", body, headers=auth(token, new_key()), status=status,
                         expect_errors=status >= 400).json


@pytest.mark.parametrize("mode, extra", [
    ("equal", [{}, {}, {}]),
    ("exact", [{"amount_paise": 50_000}, {"amount_paise": 25_000}, {"amount_paise": 25_000}]),
    ("shares", [{"shares": 1}, {"shares": 1}, {"shares": 1}]),
    ("shares", [{"shares": 3}, {"shares": 2}, {"shares": 2}]),
])
def test_a_split_of_1000_among_3_adds_up_in_every_mode(api, people, mode, extra):
    body = {"title": "Dinner", "total_paise": 100_000, "mode": mode,
            "participants": [{"phone": p, **e} for p, e in zip((ASHA, RAVI, MEERA), extra,
                                                                strict=True)]}
    made = make_split(api, sign_in(api, ASHA), body)
    amounts = [made["creator_share"]["amount_paise"]] + [
        s["amount"]["amount_paise"] for s in made["shares"]]
    assert sum(amounts) == made["total"]["amount_paise"] == 100_000
    assert made["outstanding"]["amount_paise"] == sum(amounts[1:])


def test_two_of_three_pay_remind_edit_close(api, db, people):
    asha = sign_in(api, ASHA)
    body = {"title": "Trip", "total_paise": 90_000, "mode": "equal",
            "participants": [{"phone": RAVI}, {"phone": MEERA}, {"phone": ZOYA}]}
    made = make_split(api, asha, body)
    for phone, share in zip((RAVI, MEERA), made["shares"][:2], strict=True):
        api.post_json(f"/v1/money_requests/{share['id']}/pay", {"pin": PIN},
                      headers=auth(sign_in(api, phone), new_key()), status=201)
    base = f"/v1/splits/{made['id']}"
    seen = api.get(base, headers=auth(asha)).json
    assert [s["status"] for s in seen["shares"]] == ["paid", "paid", "pending"]
    assert (seen["paid"]["amount_paise"], seen["outstanding"]["amount_paise"]) == (
        60_000, 30_000)
    assert api.post(base + "/remind", headers=auth(asha)).json["reminded"] == 1
    assert api.post(base + "/remind", headers=auth(asha), status=429).json["code"] == (
        "remind_too_soon")
    last = seen["shares"][2]["id"]
    edited = api.post_json(f"{base}/shares/{last}", {"amount_paise": 20_000},
                           headers=auth(asha)).json
    assert edited["total"]["amount_paise"] == 80_000
    paid_share = seen["shares"][0]["id"]
    assert api.post_json(f"{base}/shares/{paid_share}", {"amount_paise": 1},
                         headers=auth(asha), status=409).json["code"] == "money_request_closed"
    closed = api.post(base + "/close", headers=auth(asha)).json
    assert closed["status"] == "closed" and closed["shares"][2]["status"] == "cancelled"
    assert [s["id"] for s in api.get("/v1/splits", headers=auth(asha)).json["items"]] == [
        made["id"]]
    zoya = sign_in(api, ZOYA)
    assert api.get(base, headers=auth(zoya)).json["id"] == made["id"]  # one of its people
    assert api.post(base + "/close", headers=auth(zoya), status=404).json["code"] == (
        "split_not_found")


@pytest.mark.parametrize("body, code", [
    ({"title": "x", "total_paise": 100_000, "mode": "exact",
      "participants": [{"phone": RAVI, "amount_paise": 40_000},
                       {"phone": MEERA, "amount_paise": 50_000}]}, "validation_error"),
    ({"title": "x", "total_paise": 100_000, "mode": "exact",
      "participants": [{"phone": RAVI}, {"phone": MEERA}]}, "validation_error"),
    ({"title": "x", "total_paise": 100_000.0, "mode": "equal",
      "participants": [{"phone": RAVI}]}, "validation_error"),
    ({"title": "x", "total_paise": 0, "mode": "equal",
      "participants": [{"phone": RAVI}]}, "validation_error"),
    ({"title": "x", "total_paise": 100, "mode": "equal",
      "participants": [{"phone": ASHA}]}, "validation_error"),
    ({"title": "x", "total_paise": 100, "mode": "equal",
      "participants": [{"phone": "+919000000000"}]}, "recipient_not_found"),
    ({"title": "", "total_paise": 100, "mode": "equal",
      "participants": [{"phone": RAVI}]}, "validation_error"),
    ({"title": "x", "total_paise": 100, "mode": "equal", "expires_at": "2001-01-01",
      "participants": [{"phone": RAVI}]}, "validation_error"),
])
def test_bad_splits_are_problems_and_write_nothing(api, db, people, body, code):
    asha = sign_in(api, ASHA)
    before = rows(db)
    assert make_split(api, asha, body, status=422)["code"] == code
    assert rows(db) == before


def test_an_ask_sent_twice_with_one_key_makes_one_request(api, db, people):
    asha = sign_in(api, ASHA)
    key = new_key()
    body = {"to_phone": RAVI, "amount_paise": 500}
    first = api.post_json("/v1/money_requests", body, headers=auth(asha, key), status=201)
    again = api.post_json("/v1/money_requests", body, headers=auth(asha, key), status=201)
    assert again.json["id"] == first.json["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = api.post_json("/v1/money_requests", {**body, "amount_paise": 600},
                          headers=auth(asha, key), status=409)
    assert other.json["code"] == "idempotency_key_reused"
    with db() as session:
        assert session.scalar(select(func.count()).select_from(MoneyRequest)) == 1
    missing = api.post_json("/v1/money_requests", body, headers=auth(asha), status=400)
    assert missing.json["code"] == "idempotency_key_missing"


def test_decline_without_a_body(api, people):
    made = ask(api, sign_in(api, ASHA))
    declined = api.post(f"/v1/money_requests/{made['id']}/decline",
                        headers=auth(sign_in(api, RAVI)), status=200)
    assert declined.json["status"] == "declined"
