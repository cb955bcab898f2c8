"""The fake bank speaking Ledgerline for one bank code (icici) beside the
standard contract for the others, through WebTest: its own API key header,
its v2 transfers, collections and statements, and its webhooks."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

import pytest
import webtest
from sqlalchemy import select

import fake_bank
from fake_bank.models import Customer, Delivery
from fake_bank.settings import ConfigurationError

from ..ledgerline_helpers import ICICI_API_KEY, SETTINGS

KEY = {"X-Api-Key": ICICI_API_KEY}


@pytest.fixture
def bank_wsgi(tmp_path):
    app = fake_bank.main({}, **{
        **SETTINGS, "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'fake_bank.sqlite'}",
        "fake_bank.webhook_url": "http://127.0.0.1:9/webhooks/{bank}", "fake_bank.sender": "off",
        "fake_bank.allow_overrides": "true", "fake_bank.seed": "7"})
    yield app
    app.registry["fb.session_factory"].kw["bind"].dispose()


@pytest.fixture
def bank(bank_wsgi):
    return webtest.TestApp(bank_wsgi)


def deliveries(bank_wsgi) -> list[Delivery]:
    with bank_wsgi.registry["fb.session_factory"]() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def transfer(bank, reference="wd_1", value="400.00", account="50100012345678", status=200):
    return bank.post_json("/icici/api/v2/transfers", {
        "clientReference": reference, "amount": {"value": value, "currency": "INR"},
        "beneficiary": {"accountNumber": account, "ifsc": "ICIC0001234"}},
        headers=KEY, status=status)


def test_each_bank_code_answers_only_in_its_own_dialect(bank):
    transfer(bank)
    bank.get("/icici/api/payouts/wd_1", headers={"Authorization": f"Bearer {ICICI_API_KEY}"},
             status=404)  # the standard API is not Ledgerline's
    bank.get("/icici/api/statement?date=2025-05-01", headers=KEY, status=404)
    bank.get("/hdfc/api/v2/transfers?clientReference=wd_1", headers=KEY, status=404)
    for headers in ({}, {"X-Api-Key": "wrong"}, {"Authorization": f"Bearer {ICICI_API_KEY}"}):
        answer = bank.get("/icici/api/v2/transfers?clientReference=wd_1", headers=headers,
                          status=401)
        assert answer.json["error"]["code"] == "UNAUTHORIZED"


def test_a_transfer_is_paid_once_and_found_by_its_reference(bank, bank_wsgi):
    made = transfer(bank).json["transfer"]
    assert (made["clientReference"], made["status"], made["amount"]) == (
        "wd_1", "SETTLED", {"value": "400.00", "currency": "INR"})
    assert transfer(bank).json["transfer"]["transferId"] == made["transferId"]  # idempotent
    conflict = transfer(bank, value="500.00", status=409).json
    assert conflict["error"]["code"] == "DUPLICATE_REFERENCE"
    found = bank.get("/icici/api/v2/transfers?clientReference=wd_1", headers=KEY).json
    assert found == {"transfers": [made]}
    assert bank.get("/icici/api/v2/transfers?clientReference=wd_9",
                    headers=KEY).json == {"transfers": []}
    [settled] = deliveries(bank_wsgi)  # one webhook, for the one transfer
    body = json.loads(settled.body)
    assert (settled.bank_code, body["eventType"]) == ("icici", "TRANSFER.SETTLED")
    assert body["data"]["transfer"] == made


def test_a_declined_transfer_is_an_ordinary_answer_saying_so(bank):
    declined = transfer(bank, account="00000012345678").json["transfer"]
    assert declined["status"] == "DECLINED"
    assert declined["statusReason"] == {"code": "BENEFICIARY_NOT_FOUND",
                                        "message": "beneficiary account does not exist"}


@pytest.mark.parametrize("value", ["400", "400.0", "4e2", 400, "-400.00"])
def test_the_bank_takes_amounts_only_as_decimal_strings(bank, value):
    assert transfer(bank, value=value, status=400).json["error"]["code"] == "INVALID_REQUEST"


def test_collections_and_the_statement_speak_ledgerline(bank, bank_wsgi):
    query = urlencode({"reference": "dep_ll_0000000001", "amount_paise": 500_50,
                       "currency": "INR", "return_url": "http://127.0.0.1/x"})
    bank.get(f"/icici/netbanking?{query}")
    opened = bank.get("/icici/api/v2/collections/dep_ll_0000000001", headers=KEY).json
    assert opened["collection"]["status"] == "INITIATED"
    with bank_wsgi.registry["fb.session_factory"]() as session:
        customer = session.scalars(select(Customer).where(Customer.bank_code == "icici")).first()
    bank.post("/icici/netbanking/dep_ll_0000000001",
              {"action": "approve", "customer_id": str(customer.id)}, status=302)
    credited = bank.get("/icici/api/v2/collections/dep_ll_0000000001", headers=KEY).json
    assert (credited["collection"]["status"], credited["collection"]["amount"]["value"]) == (
        "CREDITED", "500.50")
    assert bank.get("/icici/api/v2/collections/nope-nope-nope", headers=KEY,
                    status=404).json["error"]["code"] == "NOT_FOUND"
    [webhook] = deliveries(bank_wsgi)
    assert json.loads(webhook.body)["eventType"] == "COLLECTION.CREDITED"

    transfer(bank)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=5, minutes=30))).date()
    lines = bank.get(f"/icici/api/v2/statements/{today}", headers=KEY).json["statement"]["lines"]
    assert sorted((line["category"], line["clientReference"], line["amount"]["value"])
                  for line in lines) == [("COLLECTION", "dep_ll_0000000001", "500.50"),
                                         ("TRANSFER", "wd_1", "400.00")]


def test_an_unknown_dialect_stops_the_bank_at_start_up(tmp_path):
    with pytest.raises(ConfigurationError, match="banks.icici.protocol"):
        fake_bank.main({}, **{**SETTINGS, "banks.icici.protocol": "soap",
                              "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'x.sqlite'}",
                              "fake_bank.webhook_url": "http://127.0.0.1:9/{bank}",
                              "fake_bank.sender": "off"})
