"""The API's "report fraud": the sender reports a transfer they sent (201, the
ticket and what was held), the recipient reads the report and answers it (a
line on the ticket's timeline); someone else's, an incoming transfer or a
deposit refused with nothing written; twice: 409 naming the first ticket."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from wallet.care.models import FraudHold, Ticket, TicketEvent
from wallet.core.models import Transaction

from ..api_helpers import auth, new_key, sign_in
from ..wallet_helpers import PIN, balance, make_user, state

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"


@pytest.fixture
def sent(api, db):
    """Asha sent Ravi ₹100, who spent ₹30 of it: (ids, the transfer's id)."""
    ids = {"asha": make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00),
           "ravi": make_user(db, RAVI, "Ravi Kumar"),
           "zoya": make_user(db, ZOYA, "Zoya Khan")}
    asha, ravi = sign_in(api, ASHA), sign_in(api, RAVI)
    tx = api.post_json("/v1/transfers", {"to_phone": RAVI, "amount_paise": 100_00, "pin": PIN},
                       headers=auth(asha, new_key()), status=201).json
    api.post_json("/v1/transfers", {"to_phone": ZOYA, "amount_paise": 30_00, "pin": PIN},
                  headers=auth(ravi, new_key()), status=201)
    return ids, tx["id"]


def rows(db):
    with db() as session:
        return (state(db), *(session.scalar(select(func.count()).select_from(m))
                             for m in (Ticket, TicketEvent, FraudHold)))


def test_report_then_the_recipient_answers(api, db, sent):
    ids, tx_id = sent
    asha, ravi = sign_in(api, ASHA), sign_in(api, RAVI)
    made = api.post_json(f"/v1/transactions/{tx_id}/report_fraud", {"note": "A fake buyer"},
                         headers=auth(asha), status=201).json
    assert made["ticket_id"].startswith("tk_") and made["status"] == "open"
    assert made["held"] == {"amount_paise": 70_00, "display": "₹70.00"}
    assert made["hold_status"] == "held" and balance(db, ids["ravi"]) == (0, 70_00)
    path = f"/v1/fraud_reports/{made['ticket_id']}"
    seen = api.get(path, headers=auth(ravi)).json
    assert seen["held"]["amount_paise"] == 70_00 and seen["lines"] == []
    answered = api.post_json(path + "/responses", {"text": "I sold her a phone."},
                             headers=auth(ravi), status=201).json
    assert [(line["actor"], line["text"]) for line in answered["lines"]] == [
        ("counterparty", "I sold her a phone.")]
    with db() as session:
        line = session.scalars(select(TicketEvent).where(TicketEvent.kind == "message")).one()
        assert line.actor == "counterparty"
    # The sender is not the recipient: the recipient's page is not theirs.
    api.get(path, headers=auth(asha), status=404)
    api.post_json(path + "/responses", {"text": ""}, headers=auth(ravi), status=422)
    twice = api.post_json(f"/v1/transactions/{tx_id}/report_fraud", {},
                          headers=auth(asha), status=409).json
    assert twice["code"] == "ticket_already_open"


@pytest.mark.parametrize("who,which,status,code", [
    (ZOYA, "transfer", 404, "ticket_transaction_not_found"),
    (RAVI, "transfer", 422, "fraud_not_reportable"),
    (ASHA, "deposit", 422, "fraud_not_reportable"),
    (ASHA, "999999", 404, "ticket_transaction_not_found"),
])
def test_not_a_transfer_you_sent_writes_nothing(api, db, sent, who, which, status, code):
    _, tx_id = sent
    with db() as session:
        deposit = session.scalars(select(Transaction.id).where(
            Transaction.kind == "deposit")).first()
    target = {"transfer": tx_id, "deposit": deposit}.get(which, which)
    token = sign_in(api, who)
    before = rows(db)
    answer = api.post_json(f"/v1/transactions/{target}/report_fraud", {"note": "x"},
                           headers=auth(token), status=status).json
    assert answer["code"] == code and rows(db) == before
