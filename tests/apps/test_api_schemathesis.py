"""Schemathesis against the API app's own document (served at /v1/openapi.json):
generated requests, valid and not, on every operation, then chains of them
along the document's links. Every answer must be documented (status code,
content type, schema) and none may be a 5xx. Runs on SQLite and, with
WALLET_TEST_DATABASE_URL, on PostgreSQL (the usual fixtures); derandomized,
so a run repeats the last one. At the end, what it found, pinned."""
from __future__ import annotations

import itertools
import re

import hypothesis
import pytest
import schemathesis
import sqlalchemy
import webtest
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

import api_app
from ledgerlib import MAX_AMOUNT_PAISE
from wallet.banking.bank_client import BankClient
from wallet.core.models import User
from wallet.identity.api_tokens import ApiTokens

from ..api_helpers import auth, new_key, sign_in
from ..conftest import dispose_app_engine
from ..wallet_helpers import PASSWORD, make_user, state
from .test_merchant_app import make_merchant

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
SETTINGS = hypothesis.settings(deadline=None, derandomize=True, database=None,
                               suppress_health_check=list(HealthCheck))
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
PROBLEM = "application/problem+json"


class Caller:
    """Whom every generated request speaks for: Asha's bearer token, and fresh
    Idempotency-Keys."""

    def __init__(self, wsgi, db):
        self.db = db
        reply = webtest.TestApp(wsgi).post_json(
            "/v1/tokens", {"phone": "+919876543210", "password": PASSWORD,
                           "device_name": "schemathesis"}, status=201)
        self.token = reply.json["token"]
        self.keys = itertools.count()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def prepare(self, case) -> None:
        """A valid generated key becomes a fresh one, so a valid request moves
        money rather than replaying an earlier answer; invalid keys stay."""
        key = (case.headers or {}).get("Idempotency-Key")
        if isinstance(key, str) and KEY_PATTERN.fullmatch(key):
            case.headers["Idempotency-Key"] = f"schemathesis-{next(self.keys):012d}"

    def after(self, case, response) -> None:
        """A generated DELETE /v1/tokens/{id} (or /v1/devices/{id}) may have
        revoked this token: take a new one. (Issued by the domain: generated sign-ins with the
        document's example phone, Asha's, will have throttled hers.)"""
        if case.operation.path in ("/v1/tokens/{token_id}", "/v1/devices/{device_id}") \
                and response.status_code == 204:
            with self.db() as session, session.begin():
                if ApiTokens(session, ttl_s=3600, idle_s=3600).authenticate(self.token) is None:
                    asha = session.scalar(select(User).where(User.phone == "+919876543210"))
                    self.token = ApiTokens(session, ttl_s=3600, idle_s=3600).issue(
                        asha, "schemathesis").token

    def call_and_validate(self, case):
        self.prepare(case)
        response = case.call(headers=self.headers())
        self.after(case, response)
        case.validate_response(response, checks=CHECKS, headers=self.headers())
        return response


def refuse_nul_like_postgres(engine) -> None:
    """PostgreSQL refuses a NUL character in any text parameter (a 500 deep in
    a query); make SQLite refuse it too, so the SQLite run finds those."""
    if engine.dialect.name != "sqlite":
        return

    @sqlalchemy.event.listens_for(engine, "before_cursor_execute")
    def refuse(conn, cursor, statement, parameters, context, executemany):
        rows = parameters if executemany else [parameters]
        for row in rows:
            values = row.values() if isinstance(row, dict) else row
            if any(isinstance(value, str) and "\x00" in value for value in values):
                raise ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes")


@pytest.fixture
def api_under_test(api_settings, db, monkeypatch):
    """The app (rate limits raised, not removed), Asha with money, Ravi and
    Chai Point to pay, and Asha signed in. The banks name their accounts (a
    bank that does not answer is a documented 503: tests/apps/test_api_account_parity.py)."""
    monkeypatch.setattr(BankClient, "account_holder",
                        lambda self, number, ifsc: {"name": "ASHA VERMA"})
    settings = {**api_settings, "api.money_requests_per_minute_per_token": "100000",
                "api.money_requests_per_minute_per_ip": "100000"}
    wsgi = api_app.main({}, **settings)
    refuse_nul_like_postgres(wsgi.registry["dbsession_factory"].kw["bind"])
    make_user(db, "+919876543210", "Asha", deposit_paise=1_00_000_00)
    make_user(db, "+919812345678", "Ravi")
    make_merchant(db)
    yield wsgi, Caller(wsgi, db)
    dispose_app_engine(wsgi)


@pytest.fixture
def api_schema(api_under_test):
    wsgi, _ = api_under_test
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", wsgi)


@pytest.fixture
def caller(api_under_test):
    return api_under_test[1]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis.settings(SETTINGS, max_examples=40)
def test_every_answer_is_documented(case, caller):
    caller.call_and_validate(case)


#: The POSTs whose answers the document links to a GET of what they made.
LINKED_POSTS = ["startDeposit", "sendMoney", "payShop", "withdraw"]


def follow(api_schema, caller, operation_id: str) -> dict[str, int]:
    """Make the operation's documented example request, then follow each link
    its answer documents (``$response.body#/…`` into the target's path):
    every answer is checked against the document by Schemathesis."""
    operation = api_schema.find_operation_by_id(operation_id)
    raw = operation.definition.raw
    body_schema = raw["requestBody"]["content"]["application/json"]["schema"]
    example = api_schema.raw_schema["components"]["schemas"][
        body_schema["$ref"].rsplit("/", 1)[1]]["examples"][0]
    case = operation.Case(body=dict(example), headers={"Idempotency-Key": "x" * 20},
                          media_type="application/json")
    made = caller.call_and_validate(case)
    assert made.status_code in (201, 202), made.text
    reached = {}
    for status, response in raw["responses"].items():
        if str(status) != str(made.status_code):
            continue
        for link in response.get("links", {}).values():
            target = api_schema.find_operation_by_id(link["operationId"])
            path = {name: made.json()[expression.split("#/", 1)[1]]
                    for name, expression in link["parameters"].items()}
            fetched = caller.call_and_validate(target.Case(path_parameters=path))
            reached[link["operationId"]] = fetched.status_code
    return reached


def test_links_lead_to_the_objects_made(api_schema, caller):
    """The document's links, followed from what each POST made (create a
    transfer, then fetch it...): each finds it (200), and every answer on the
    way conforms to the document."""
    reached = {}
    for operation_id in LINKED_POSTS:
        reached.update({f"{operation_id} -> {target}": status for target, status in
                        follow(api_schema, caller, operation_id).items()})
    assert reached == {"startDeposit -> getDeposit": 200, "sendMoney -> getTransaction": 200,
                       "payShop -> getTransaction": 200, "withdraw -> getWithdrawal": 200}


# --------------------------------------------- what Schemathesis found, pinned


@pytest.fixture
def asha_token(api, db):
    make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    make_user(db, "+919812345678", "Ravi")
    make_merchant(db)
    return sign_in(api)


@pytest.mark.parametrize("body", [
    b'{"to_phone": "98123 45678", "amount_paise": 100, "note": "\xa2"}',  # not UTF-8
    b'{"to_phone": "98123 45678", "amount_paise": 100, "note": "\\ud800"}',  # no character
    b'{"to_phone": "98123 45678", "amount_paise": NaN}',  # not JSON
])
def test_unreadable_bodies_are_malformed_and_write_nothing(api, db, asha_token, body):
    before = state(db)
    reply = api.post("/v1/transfers", body, status=400, headers={
        **auth(asha_token, new_key()), "Content-Type": "application/json"})
    assert reply.content_type == PROBLEM and reply.json["code"] == "malformed_request"
    assert state(db) == before


def test_a_sign_in_that_is_not_utf8_is_malformed(api):
    reply = api.post("/v1/tokens", b'{"phone": "\x16\xa2"}', status=400,
                     headers={"Content-Type": "application/json"})
    assert reply.json["code"] == "malformed_request"


@pytest.mark.parametrize("path, status, code", [
    ("/v1/transactions?kind=%ff", 400, "malformed_request"),
    ("/v1/me?x=%ff", 400, "malformed_request"),
    ("/v1/deposits/%ff%fe", 404, "not_found"),
    ("/v1/nothing%ff", 404, "not_found"),
])
def test_addresses_that_are_not_utf8_are_problems(api, asha_token, path, status, code):
    reply = api.get(path, headers=auth(asha_token), status=status)
    assert reply.content_type == PROBLEM and reply.json["code"] == code


@pytest.mark.parametrize("path, body, field", [
    ("/v1/tokens", {"phone": "98765\x0043210", "password": PASSWORD, "device_name": "x"},
     "phone"),
    ("/v1/payments", {"merchant_handle": "chai-point\x00", "amount_paise": 100},
     "merchant_handle"),
    ("/v1/transfers", {"to_phone": "98123 45678", "amount_paise": 100, "note": "a\x00b"},
     "note"),
])
def test_nul_characters_are_refused_before_the_database(api, db, asha_token, path, body,
                                                        field):
    before = state(db)
    reply = api.post_json(path, body, headers=auth(asha_token, new_key()), status=422)
    assert reply.json["code"] == "validation_error"
    assert field in [error["field"] for error in reply.json["errors"]]
    assert state(db) == before


def test_amounts_beyond_the_ledgers_limit_are_validation_errors(api, db, asha_token):
    document = api.get("/v1/openapi.json").json
    assert document["components"]["schemas"]["AmountPaise"]["maximum"] == MAX_AMOUNT_PAISE
    for path, body in (("/v1/transfers", {"to_phone": "98123 45678"}),
                       ("/v1/payments", {"merchant_handle": "chai-point"})):
        reply = api.post_json(path, {**body, "amount_paise": MAX_AMOUNT_PAISE + 1},
                              headers=auth(asha_token, new_key()), status=422)
        assert reply.json["code"] == "validation_error"


@pytest.mark.parametrize("query", ["from=0001-01-01", "to=9999-12-31", "from=1899-12-31"])
def test_days_out_of_range_are_refused(api, asha_token, query):
    reply = api.get(f"/v1/transactions?{query}", headers=auth(asha_token), status=400)
    assert reply.json["code"] == "validation_error"
    api.get("/v1/transactions?from=1900-01-01&to=2999-12-31", headers=auth(asha_token),
            status=200)
