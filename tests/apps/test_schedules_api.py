"""Scheduled payments in the JSON API (api_app.views.schedules): made with
the PIN and an Idempotency-Key, listed with paging, skipped, paused, resumed,
cancelled; a run above the cap paid with the PIN; every bad input a clear
4xx that writes nothing."""
from __future__ import annotations

import datetime as dt

import pytest

from wallet.core.codes import IST
from wallet.core.models import Notification
from wallet.money.models import PaymentSchedule, ScheduleRun

from ..api_helpers import auth, new_key, sign_in
from ..schedule_helpers import Clock, background
from ..wallet_helpers import PIN, balance, count, make_user, state

ASHA, RAVI = "+919876543210", "+919812345678"


def today() -> dt.date:
    return dt.datetime.now(IST).date()


def in_days(days: int) -> str:
    return (today() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def asha(db):
    return make_user(db, ASHA, "Asha", deposit_paise=20_000_00)


@pytest.fixture
def ravi(db):
    return make_user(db, RAVI, "Ravi")


def body(**changes):
    return {"to_phone": "98123 45678", "amount_paise": 150_00, "frequency": "monthly",
            "start_date": in_days(3), "count": 12, "note": "rent share", "pin": PIN,
            **changes}


def test_make_list_skip_pause_resume_cancel(api, asha, ravi):
    token = sign_in(api)
    made = api.post_json("/v1/schedules", body(), headers=auth(token, key := new_key()),
                         status=201).json
    assert made["status"] == "active" and made["payee"] == {
        "type": "user", "name": "Ravi (+91 ••••• 45678)"}
    assert made["next_run"]["number"] == 1 and made["next_run"]["date"] == in_days(3)
    again = api.post_json("/v1/schedules", body(), headers=auth(token, key), status=201)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == made["id"]
    listed = api.get("/v1/schedules", headers=auth(token)).json
    assert [s["id"] for s in listed["items"]] == [made["id"]] and listed["next_cursor"] is None
    path = f"/v1/schedules/{made['id']}"
    skipped = api.post(f"{path}/runs/1/skip", headers=auth(token)).json
    assert skipped["runs"][-1]["status"] == "skipped" and skipped["next_run"]["number"] == 2
    api.post(f"{path}/runs/1/skip", headers=auth(token))  # again: nothing changes
    assert api.get(path, headers=auth(token)).json["next_run"]["number"] == 2
    assert api.post(f"{path}/pause", headers=auth(token)).json["status"] == "paused"
    assert api.post(f"{path}/pause", headers=auth(token), status=409).json["code"] == \
        "schedule_not_changeable"
    assert api.post(f"{path}/resume", headers=auth(token)).json["status"] == "active"
    cancelled = api.post(f"{path}/cancel", headers=auth(token)).json
    assert cancelled["status"] == "cancelled" and cancelled["next_run"] is None
    assert api.post(f"{path}/cancel", headers=auth(token)).json["status"] == "cancelled"


def test_paging(api, asha, ravi):
    token = sign_in(api)
    for _ in range(3):
        api.post_json("/v1/schedules", body(), headers=auth(token, new_key()), status=201)
    first = api.get("/v1/schedules?limit=2", headers=auth(token)).json
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.get(f"/v1/schedules?limit=2&cursor={first['next_cursor']}",
                   headers=auth(token)).json
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_a_run_above_the_cap_is_paid_with_the_pin(api, api_wsgi, db, asha, ravi):
    token = sign_in(api)
    made = api.post_json("/v1/schedules", body(amount_paise=6_000_00, frequency="once",
                                               count=None, start_date=in_days(0)),
                         headers=auth(token, new_key()), status=201).json
    later = Clock(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    background(_runner(db), later).sweep_schedules()  # the workers' sweep, a day later
    path = f"/v1/schedules/{made['id']}"
    assert api.get(path, headers=auth(token)).json["next_run"]["status"] == "awaiting_pin"
    assert balance(db, ravi)[0] == 0
    wrong = api.post_json(f"{path}/runs/1/pay", {"pin": "2468"},
                          headers=auth(token, new_key()), status=403).json
    assert wrong["code"] == "wrong_pin"
    paid = api.post_json(f"{path}/runs/1/pay", {"pin": PIN}, headers=auth(token, new_key()),
                         status=201).json
    assert paid["amount"]["amount_paise"] == 6_000_00 and paid["direction"] == "out"
    assert balance(db, ravi)[0] == 6_000_00
    shown = api.get(path, headers=auth(token)).json
    assert shown["status"] == "completed" and shown["runs"][0]["transaction_id"] == paid["id"]
    assert api.post_json(f"{path}/runs/1/pay", {"pin": PIN}, headers=auth(token, new_key()),
                         ).json["id"] == paid["id"]  # paid once
    # A line in the history and in the month's statement, as any payment.
    latest = api.get("/v1/transactions?limit=1", headers=auth(token)).json["items"][0]
    assert (latest["id"], latest["note"]) == (paid["id"], "Scheduled payment: rent share")
    month = dt.datetime.now(IST).strftime("%Y-%m")
    lines = api.get(f"/v1/statements/{month}", headers=auth(token)).json["lines"]
    assert [line["amount"]["amount_paise"] for line in lines
            if line["note"] == "Scheduled payment: rent share"] == [-6_000_00]


def _runner(db):
    def run_in_transaction(fn):
        with db() as session, session.begin():
            return fn(session)
    return run_in_transaction


BAD = [
    ({"amount_paise": 0}, 422, "validation_error"),
    ({"amount_paise": -100}, 422, "validation_error"),
    ({"amount_paise": 150.5}, 422, "validation_error"),
    ({"amount_paise": 150.0}, 422, "validation_error"),
    ({"amount_paise": "150"}, 422, "validation_error"),
    ({"to_phone": "98000 00000"}, 422, "recipient_not_found"),
    ({"to_phone": "98765 43210"}, 422, "self_transfer"),
    ({"to_phone": None}, 422, "validation_error"),
    ({"merchant_handle": "no-such-shop", "to_phone": None}, 422, "recipient_not_found"),
    ({"start_date": "2020-01-01"}, 422, "validation_error"),
    ({"start_date": "tomorrow"}, 422, "validation_error"),
    ({"end_date": "2020-01-01", "count": None}, 422, "validation_error"),
    ({"count": 0}, 422, "validation_error"),
    ({"count": 2.5}, 422, "validation_error"),
    ({"frequency": "daily"}, 422, "validation_error"),
    ({"pin": "2468"}, 403, "wrong_pin"),
    ({"amount_paise": 1_00_000_01}, 422, "limit_exceeded"),
]


@pytest.mark.parametrize("change,status,code", BAD,
                         ids=[f"{c}-{i}" for i, (_, _, c) in enumerate(BAD)])
def test_bad_input_is_a_clear_4xx_and_writes_nothing(api, db, asha, ravi, change, status,
                                                     code):
    token = sign_in(api)
    sent = {k: v for k, v in body(**change).items() if v is not None}
    before = state(db), count(db, PaymentSchedule), count(db, ScheduleRun), \
        count(db, Notification)
    answer = api.post_json("/v1/schedules", sent, headers=auth(token, new_key()),
                           status=status)
    assert answer.content_type == "application/problem+json" and answer.json["code"] == code
    assert (state(db), count(db, PaymentSchedule), count(db, ScheduleRun),
            count(db, Notification)) == before


def test_foreign_and_unknown_ids_are_not_found(api, asha, ravi):
    mine = api.post_json("/v1/schedules", body(), headers=auth(sign_in(api), new_key()),
                         status=201).json["id"]
    other = sign_in(api, RAVI)
    for method, path in (("get", ""), ("post", "/pause"), ("post", "/cancel"),
                         ("post", "/resume"), ("post", "/runs/1/skip")):
        answer = getattr(api, method)(f"/v1/schedules/{mine}{path}", headers=auth(other),
                                      status=404)
        assert answer.json["code"] == "schedule_not_found"
    api.post_json(f"/v1/schedules/{mine}/runs/1/pay", {"pin": PIN},
                  headers=auth(other, new_key()), status=404)
    api.get("/v1/schedules/ps_unknown", headers=auth(other), status=404)
    api.get("/v1/schedules/42", headers=auth(other), status=404)
    assert api.get("/v1/schedules", headers=auth(other)).json["items"] == []
