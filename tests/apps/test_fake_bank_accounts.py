"""The fake bank's account-holder look-up (fake_bank/accounts.py), through
WebTest, in both dialects: a demo customer's name, a derived name for other
accounts (the same every time), no 0000… accounts, its key, its knobs."""
from __future__ import annotations

import time

import pytest
import webtest

import fake_bank

from ..ledgerline_helpers import ICICI_API_KEY, SETTINGS

HDFC = {"Authorization": f"Bearer {SETTINGS['banks.hdfc.api_key']}"}
ICICI = {"X-Api-Key": ICICI_API_KEY}


@pytest.fixture
def bank(tmp_path):
    app = fake_bank.main({}, **{
        **SETTINGS, "fake_bank.sqlalchemy.url": f"sqlite:///{tmp_path / 'fb.sqlite'}",
        "fake_bank.webhook_url": "http://127.0.0.1:9/webhooks/{bank}", "fake_bank.sender": "off",
        "fake_bank.allow_overrides": "true", "fake_bank.seed": "7"})
    yield webtest.TestApp(app)
    app.registry["fb.session_factory"].kw["bind"].dispose()


def test_standard_dialect(bank):
    found = bank.get("/hdfc/api/accounts/50100000000000?ifsc=HDFC0001234", headers=HDFC).json
    assert found == {"account_number": "50100000000000", "ifsc": "HDFC0001234",
                     "name": "Asha Verma"}
    other = bank.get("/hdfc/api/accounts/50100012345678?ifsc=HDFC0001234", headers=HDFC).json
    again = bank.get("/hdfc/api/accounts/50100012345678?ifsc=HDFC0001234", headers=HDFC).json
    assert other["name"] and other == again
    bank.get("/hdfc/api/accounts/000012345678?ifsc=HDFC0001234", headers=HDFC, status=404)
    bank.get("/hdfc/api/accounts/50100012345678?ifsc=HDFC0001234", status=401)
    bank.get("/hdfc/api/accounts/12ab?ifsc=HDFC0001234", headers=HDFC, status=400)
    bank.get("/hdfc/api/accounts/50100012345678", headers=HDFC, status=400)
    bank.get("/icici/api/accounts/50100012345678?ifsc=ICIC0001234", headers=HDFC, status=404)


def test_ledgerline_dialect(bank):
    found = bank.get("/icici/api/v2/beneficiaries/50100200000000?ifsc=ICIC0001234",
                     headers=ICICI).json
    assert found == {"beneficiary": {"accountNumber": "50100200000000", "ifsc": "ICIC0001234",
                                     "accountHolderName": "Asha Verma"}}
    missing = bank.get("/icici/api/v2/beneficiaries/000012345678?ifsc=ICIC0001234",
                       headers=ICICI, status=404).json
    assert missing["error"]["code"] == "NOT_FOUND"
    bank.get("/icici/api/v2/beneficiaries/50100200000000?ifsc=ICIC0001234", status=401)
    bank.get("/hdfc/api/v2/beneficiaries/50100000000000?ifsc=HDFC0001234", headers=ICICI,
             status=404)  # hdfc speaks the standard dialect


def test_its_knobs(bank):
    bank.get("/hdfc/api/accounts/50100012345678?ifsc=HDFC0001234",
             headers={**HDFC, "X-Fake-Bank-Fail": "1"}, status=503)
    bank.get("/icici/api/v2/beneficiaries/50100012345678?ifsc=ICIC0001234",
             headers={**ICICI, "X-Fake-Bank-Fail": "1"}, status=503)
    started = time.monotonic()
    bank.get("/hdfc/api/accounts/50100012345678?ifsc=HDFC0001234",
             headers={**HDFC, "X-Fake-Bank-Latency-Ms": "300"})
    assert time.monotonic() - started >= 0.3
