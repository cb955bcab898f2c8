"""The API's tickets: a problem reported about one of your transactions (201
with its timeline), what a transaction allows (``ticket_categories``), the
list and one ticket, one live ticket per transaction (409 naming it, whatever
the retry's key), every bad input a problem with nothing written, someone
else's a 404."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from wallet.care.models import Ticket, TicketEvent
from wallet.core.codes import TicketActor, TicketStatus
from wallet.core.models import Transaction, User

from ..api_helpers import auth, new_key, sign_in
from ..wallet_helpers import PIN, make_user, services_for_tests

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"


@pytest.fixture
def sent(db):
    """Asha (₹1,000) sent Ravi ₹100: (asha id, ravi id, the transfer's id)."""
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    make_user(db, ZOYA, "Zoya Khan")
    with db() as session, session.begin():
        tx = services_for_tests(session).transfers.send_money(
            session.get(User, asha), RAVI, 100_00, "k" * 22, pin=PIN)
        return asha, ravi, tx.id


def rows(db) -> tuple[int, int]:
    with db() as session:
        return tuple(int(session.scalar(select(func.count()).select_from(m)))
                     for m in (Ticket, TicketEvent))


def report(api, token, body, status=201, key=None):
    return api.post_json("/v1/tickets", body, headers=auth(token, key or new_key()),
                         status=status, expect_errors=status >= 400).json


def deposit_of(db, user_id) -> int:
    with db() as session:
        return int(session.scalar(select(Transaction.id).where(
            Transaction.payee_user_id == user_id, Transaction.kind == "deposit")))


def test_report_then_read_it_and_list_it(api, db, sent):
    _, _, tx_id = sent
    asha = sign_in(api, ASHA)
    shown = api.get(f"/v1/transactions/{tx_id}", headers=auth(asha)).json
    assert shown["ticket_categories"] == ["not_received", "pending_too_long", "wrong_person",
                                          "paid_twice", "not_authorised"]
    made = report(api, asha, {"transaction_id": tx_id, "category": "not_received",
                              "note": "  Ravi says   it never came "})
    assert made["id"].startswith("tk_") and made["status"] == "open"
    assert (made["category_label"], made["note"]) == ("Money debited but not received",
                                                      "Ravi says it never came")
    created = dt.datetime.fromisoformat(made["created_at"])
    assert dt.datetime.fromisoformat(made["due_at"]) - created == dt.timedelta(hours=24)
    assert (made["resolution"], made["closed_at"]) == (None, None)
    assert [(line["kind"], line["actor"], line["status"]) for line in made["timeline"]] == [
        ("opened", "user", None)]
    assert api.get(f"/v1/tickets/{made['id']}", headers=auth(asha)).json == made
    assert [t["id"] for t in api.get("/v1/tickets", headers=auth(asha)).json["items"]] == [
        made["id"]]


def test_a_closed_ticket_shows_its_reason_and_the_list_is_newest_first(api, db, sent):
    asha_id, _, tx_id = sent
    asha = sign_in(api, ASHA)
    first = report(api, asha, {"transaction_id": tx_id, "category": "paid_twice"})
    with db() as session, session.begin():
        tickets = services_for_tests(session).tickets
        ticket = tickets.locked(tickets.by_public_id(first["id"]).id)
        tickets.move(ticket, TicketStatus.REJECTED, "You paid once: one transfer only.",
                     actor=TicketActor.SYSTEM)
    second = report(api, asha, {"transaction_id": deposit_of(db, asha_id),
                                "category": "pending_too_long"})
    listed = api.get("/v1/tickets?limit=5", headers=auth(asha)).json["items"]
    assert [t["id"] for t in listed] == [second["id"], first["id"]]
    closed = listed[1]
    assert (closed["status"], closed["resolution"]) == (
        "rejected", "You paid once: one transfer only.")
    assert closed["closed_at"] is not None
    assert [line["actor"] for line in closed["timeline"]] == ["user", "system"]
    assert api.get("/v1/tickets?limit=1", headers=auth(asha)).json["items"][0]["id"] == \
        second["id"]
    # Closed: the transaction may be reported again.
    again = report(api, asha, {"transaction_id": tx_id, "category": "wrong_person"})
    assert again["id"] not in (first["id"], second["id"])


def test_a_live_ticket_answers_409_naming_it_and_a_retry_makes_no_second(api, db, sent):
    _, _, tx_id = sent
    asha = sign_in(api, ASHA)
    key = new_key()
    body = {"transaction_id": tx_id, "category": "not_received"}
    made = report(api, asha, body, key=key)
    replayed = api.post_json("/v1/tickets", body, headers=auth(asha, key), status=201)
    assert replayed.json["id"] == made["id"]
    assert replayed.headers["Idempotent-Replayed"] == "true"
    before = rows(db)
    twin = report(api, asha, {**body, "category": "wrong_person"}, status=409)
    assert (twin["code"], twin["ticket"]) == ("ticket_already_open", made["id"])
    assert twin["errors"][0]["field"] == "transaction_id"
    assert rows(db) == before == (1, 1)


@pytest.mark.parametrize(("body", "status", "code", "fields"), [
    ({"transaction_id": "1", "category": "not_received"}, 422, "validation_error", None),
    ({"transaction_id": 1.0, "category": "not_received"}, 422, "validation_error", None),
    ({"category": "not_received"}, 422, "validation_error", None),
    ({"transaction_id": "TX", "category": "lost"}, 422, "validation_error", None),
    ({"transaction_id": "TX", "category": "not_delivered"}, 422, "ticket_category_refused",
     ["category"]),
    ({"transaction_id": "TX", "category": "not_received", "note": "x" * 501}, 422,
     "validation_error", ["note"]),
    ({"transaction_id": "TX", "category": "not_received", "note": "a\x00b"}, 422,
     "validation_error", None),
    ({"transaction_id": "TX", "category": "not_delivered", "note": "x" * 600}, 422,
     "validation_error", ["category", "note"]),
    ({"transaction_id": 999_999, "category": "not_received"}, 404,
     "ticket_transaction_not_found", ["transaction_id"]),
    ({"transaction_id": "TX", "category": "not_received", "extra": 1}, 422,
     "validation_error", None),
])
def test_bad_reports_are_problems_and_write_nothing(api, db, sent, body, status, code, fields):
    _, _, tx_id = sent
    asha = sign_in(api, ASHA)
    body = {name: tx_id if value == "TX" else value for name, value in body.items()}
    refused = report(api, asha, body, status=status)
    assert refused["code"] == code
    if fields is not None:
        assert [e["field"] for e in refused["errors"]] == fields
    assert rows(db) == (0, 0)


def test_an_idempotency_key_is_required(api, db, sent):
    asha = sign_in(api, ASHA)
    refused = api.post_json("/v1/tickets", {"transaction_id": sent[2], "category": "wrong_person"},
                            headers=auth(asha), status=400)
    assert refused.json["code"] == "idempotency_key_missing"
    assert rows(db) == (0, 0)


def test_someone_elses_transaction_or_ticket_is_not_found(api, db, sent):
    _, _, tx_id = sent
    asha, zoya, ravi = sign_in(api, ASHA), sign_in(api, ZOYA), sign_in(api, RAVI)
    made = report(api, asha, {"transaction_id": tx_id, "category": "not_received"})
    refused = report(api, zoya, {"transaction_id": tx_id, "category": "not_received"},
                     status=404)
    assert refused["code"] == "ticket_transaction_not_found"
    for token in (zoya, ravi):
        gone = api.get(f"/v1/tickets/{made['id']}", headers=auth(token), status=404).json
        assert gone["code"] == "ticket_not_found"
        assert api.get("/v1/tickets", headers=auth(token)).json["items"] == []
    assert api.get("/v1/tickets/tk_nothing", headers=auth(asha), status=404).json[
        "code"] == "ticket_not_found"
    api.get(f"/v1/transactions/{tx_id}", headers=auth(zoya), status=404)
    # The payee reports it on their side, with their own categories.
    assert api.get(f"/v1/transactions/{tx_id}", headers=auth(ravi)).json[
        "ticket_categories"] == ["not_received", "pending_too_long"]
    theirs = report(api, ravi, {"transaction_id": tx_id, "category": "pending_too_long"})
    assert theirs["id"] != made["id"] and rows(db) == (2, 2)


def test_without_a_token_nothing(api, db, sent):
    api.get("/v1/tickets", status=401)
    api.post_json("/v1/tickets", {"transaction_id": sent[2], "category": "wrong_person"},
                  headers={"Idempotency-Key": new_key()}, status=401)
    assert rows(db) == (0, 0)
