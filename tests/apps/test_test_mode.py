"""Test mode through the API (wallet.merchants.modes): one table of every
merchant operation, run with a test key against live objects and a live key
against test objects (404, nothing written) and with each key against its own
mode's objects (allowed); lists and creation keep to the key's mode; the
Idempotency-Keys of the two modes are apart; bad input is a 4xx with nothing
written. The table covers every operation the OpenAPI document gives the
``merchantKey`` scheme."""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

import pytest
import yaml
from sqlalchemy import func, select

from wallet.core.models import IdempotencyRecord, Merchant, User
from wallet.merchants.keys import MerchantKeys
from wallet.merchants.models import MandateDebit, MerchantEvent, PaymentRequest, Refund

from ..api_helpers import auth, new_key
from ..mandate_helpers import Clock, approved_mandate, make_shop, services
from ..wallet_helpers import PIN, SHOP_PIN, make_user, ready_to_settle, state

USER_APP = "http://wallet.test"
OPENAPI = pathlib.Path(__file__).resolve().parents[2] / "api_app" / "openapi.yaml"


@pytest.fixture
def api_settings(web_settings):
    return {**web_settings, "api.rate_limit_backend": "memory", "wallet.user_app_url": USER_APP}


@pytest.fixture
def clock(api):
    clock = Clock()
    api.app.registry["clock"] = clock
    return clock


def issue(db, shop_id: int, *, livemode: bool) -> str:
    with db() as session, session.begin():
        return MerchantKeys(session).issue(session.get_one(Merchant, shop_id), "server",
                                           livemode=livemode).secret


@dataclass
class Shop:
    id: int
    live: str
    test: str


@pytest.fixture
def shop(db):
    shop_id = make_shop(db, "dosa-corner")
    return Shop(shop_id, issue(db, shop_id, livemode=True), issue(db, shop_id, livemode=False))


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=2_000_00)


def create_request(api, secret: str, reference: str, status: int = 201, **fields) -> dict:
    body = {"order_reference": reference, "amount_paise": 250_00, "description": "dosa",
            **fields}
    return api.post_json("/v1/payment_requests", body, headers=auth(secret, new_key()),
                         status=status).json


def create_mandate(api, secret: str, clock: Clock) -> dict:
    body = {"max_amount_paise": 499_00, "frequency": "as_presented",
            "start_date": clock.today.isoformat(),
            "end_date": clock.today.replace(year=clock.today.year + 1).isoformat(),
            "description": "Tiffin plan"}
    return api.post_json("/v1/mandates", body, headers=auth(secret, new_key()), status=201).json


def written(db) -> tuple:
    """Everything an operation could write: the money, and the shops' records."""
    with db() as session:
        return state(db), tuple(session.scalar(select(func.count()).select_from(model))
                                for model in (PaymentRequest, Refund, MandateDebit,
                                              MerchantEvent, IdempotencyRecord))


def create_link(api, secret: str) -> dict:
    body = {"amount_mode": "fixed", "amount_paise": 120_00, "description": "Thali"}
    return api.post_json("/v1/payment_links", body, headers=auth(secret, new_key()),
                         status=201).json


def settle_all(db, clock, shop_id: int, asha: int) -> str:
    """A live settlement of the shop (settlements are live-only): a payment,
    then "settle all now" to its account."""
    account = ready_to_settle(db, shop_id)
    with db() as session, session.begin():
        s = services(session, clock)
        shop = session.get_one(Merchant, shop_id)
        s.shop_payments.pay_shop(session.get_one(User, asha), shop, 300_00,
                                 f"payment:{asha}:settle-key-000001", pin=PIN)
        return s.auto_settlements.settle_all(shop, str(account), "settle-all-key-00001",
                                             SHOP_PIN).public_id


@pytest.fixture
def world(api, db, clock, shop, asha):
    """Objects of both modes: created and paid payment requests, active
    mandates, active payment links; and two live disputes and a live
    settlement (disputes and settlements are live-only)."""
    objects = {"live_settlement": settle_all(db, clock, shop.id, asha), "test_settlement": None}
    for mode, secret in (("live", shop.live), ("test", shop.test)):
        objects[f"{mode}_created"] = create_request(api, secret, f"{mode}-open")["id"]
        objects[f"{mode}_paid"] = create_request(api, secret, f"{mode}-paid")["id"]
        objects[f"{mode}_mandate"] = None
        objects[f"{mode}_link"] = create_link(api, secret)["id"]
    with db() as session, session.begin():
        s = services(session, clock)
        s.payment_requests.pay(session.get_one(User, asha), objects["live_paid"], pin=PIN)
        s.payment_requests.simulate(objects["test_paid"], succeed=True)
    objects["live_mandate"] = approved_mandate(db, clock, shop.id, asha,
                                               frequency="as_presented")
    objects["test_mandate"] = create_mandate(api, shop.test, clock)["id"]
    with db() as session, session.begin():
        services(session, clock).mandates.simulate(objects["test_mandate"], approve=True)
    for n in (1, 2):
        with db() as session, session.begin():
            s = services(session, clock)
            payment = s.shop_payments.pay_shop(
                session.get_one(User, asha), session.get_one(Merchant, shop.id), 100_00,
                f"payment:{asha}:dispute-key-00000{n}", pin=PIN)
            objects[f"live_dispute{n}"] = s.disputes.open(
                asha, payment.id, "not_delivered", "never came").public_id
    return objects


@dataclass(frozen=True)
class Op:
    """One merchant operation on one object: ``kind`` names the object
    (``created``, ``paid``, ``mandate``, ``dispute1``…), ``allowed`` the status
    a key of the object's own mode gets."""

    method: str
    path: str
    kind: str
    allowed: int
    body: dict | None = None


OPS = [
    Op("get", "/v1/payment_requests/{id}", "paid", 200),
    Op("post", "/v1/payment_requests/{id}/cancel", "created", 200),
    Op("post", "/v1/payment_requests/{id}/refunds", "paid", 201, {"amount_paise": 50_00}),
    Op("get", "/v1/payment_requests/{id}/refunds", "paid", 200),
    Op("get", "/v1/mandates/{id}", "mandate", 200),
    Op("post", "/v1/mandates/{id}/debits", "mandate", 201, {"amount_paise": 99_00}),
    Op("get", "/v1/mandates/{id}/debits", "mandate", 200),
    Op("get", "/v1/disputes/{id}", "dispute1", 200),
    Op("post", "/v1/disputes/{id}/accept", "dispute1", 200),
    Op("post", "/v1/disputes/{id}/contest", "dispute2", 200, {"evidence": "Delivered."}),
    Op("get", "/v1/payment_links/{id}", "link", 200),
    Op("post", "/v1/payment_links/{id}/cancel", "link", 200),
    Op("get", "/v1/settlements/{id}", "settlement", 200),
    Op("get", "/v1/settlements/{id}/report.csv", "settlement", 200),
]
#: Operations on no object: run below (lists, creation) for both keys.
COLLECTIONS = [("get", "/v1/payment_requests"), ("post", "/v1/payment_requests"),
               ("get", "/v1/mandates"), ("post", "/v1/mandates"), ("get", "/v1/disputes"),
               ("get", "/v1/payment_links"), ("post", "/v1/payment_links"),
               ("get", "/v1/settlements"), ("get", "/v1/stores")]
LIVE_ONLY = ("dispute1", "dispute2", "settlement")


def call(api, op: Op, secret: str, public_id: str, status: int):
    path, headers = op.path.format(id=public_id), auth(secret, new_key())
    if op.method == "get":
        return api.get(path, headers=headers, status=status)
    if op.body is None:
        return api.post(path, headers=headers, status=status)
    return api.post_json(path, op.body, headers=headers, status=status)


def test_the_table_covers_every_merchant_operation():
    document = yaml.safe_load(OPENAPI.read_text())
    merchant = {(method, path) for path, item in document["paths"].items()
                for method, operation in item.items()
                if isinstance(operation, dict)
                and operation.get("security") == [{"merchantKey": []}]}
    covered = {(op.method, op.path.replace("{id}", _param(op.path))) for op in OPS}
    assert covered | set(COLLECTIONS) == merchant


def _param(path: str) -> str:
    return ("{payment_request_id}" if "payment_requests" in path else
            "{mandate_id}" if "mandates" in path else
            "{payment_link_id}" if "payment_links" in path else
            "{settlement_id}" if "settlements" in path else "{dispute_id}")


@pytest.mark.parametrize("op", OPS, ids=lambda op: f"{op.method} {op.path} ({op.kind})")
def test_a_key_reaches_its_own_mode_only(api, db, shop, world, op):
    keys = {"live": shop.live, "test": shop.test}
    for key_mode, object_mode in (("test", "live"), ("live", "test")):
        public_id = world.get(f"{object_mode}_{op.kind}")
        if public_id is None:  # (no test dispute or settlement: they are live-only)
            continue
        before = written(db)
        reply = call(api, op, keys[key_mode], public_id, 404)
        assert reply.content_type == "application/problem+json"
        prefix = public_id.split("_", 1)[0]  # (pr, md, dp, plink, stl)
        unknown = call(api, op, keys[key_mode], f"{prefix}_unknown0123456789", 404)
        assert reply.json["code"].endswith("not_found")
        assert _said(reply.json) == _said(unknown.json)  # as an unknown id: nothing leaks
        assert written(db) == before
    for mode in ("live",) if op.kind in LIVE_ONLY else ("live", "test"):
        reply = call(api, op, keys[mode], world[f"{mode}_{op.kind}"], op.allowed)
        assert all(item["livemode"] is (mode == "live") for item in _objects(reply))


def _objects(reply) -> list[dict]:
    """The objects an answer shows (a settlement's report: its settlement; a CSV: none)."""
    if reply.content_type != "application/json":
        return []
    body = reply.json
    return body["items"] if "items" in body else [body.get("settlement", body)]


def _said(problem: dict) -> tuple:
    return problem["code"], problem["title"], problem.get("detail")


def test_lists_and_creation_keep_to_the_keys_mode(api, db, clock, shop, world):
    for mode, secret in (("live", shop.live), ("test", shop.test)):
        listed = api.get("/v1/payment_requests", headers=auth(secret)).json["items"]
        assert {item["id"] for item in listed} == {world[f"{mode}_created"],
                                                    world[f"{mode}_paid"]}
        assert {item["livemode"] for item in listed} == {mode == "live"}
        mandates = api.get("/v1/mandates", headers=auth(secret)).json["items"]
        assert [item["id"] for item in mandates] == [world[f"{mode}_mandate"]]
        disputes = api.get("/v1/disputes", headers=auth(secret)).json["items"]
        assert {item["id"] for item in disputes} == (
            {world["live_dispute1"], world["live_dispute2"]} if mode == "live" else set())
        links = api.get("/v1/payment_links", headers=auth(secret)).json["items"]
        assert [(item["id"], item["livemode"]) for item in links] == [
            (world[f"{mode}_link"], mode == "live")]
        settlements = api.get("/v1/settlements", headers=auth(secret)).json["items"]
        assert [item["id"] for item in settlements] == (
            [world["live_settlement"]] if mode == "live" else [])
    # Stores are the shop's configuration, shared by both modes (as webhook endpoints).
    stores = [api.get("/v1/stores", headers=auth(secret)).json["items"]
              for secret in (shop.live, shop.test)]
    assert stores[0] == stores[1] and [store["handle"] for store in stores[0]] == ["dosa-corner"]
    link = create_link(api, shop.test)
    assert link["livemode"] is False and link["url"] == f"{USER_APP}/l/{link['id']}"
    made = create_request(api, shop.test, "test-new")
    assert made["livemode"] is False
    assert made["checkout_url"] == f"{USER_APP}/test/checkout/{made['id']}"
    assert create_request(api, shop.live, "live-new")["checkout_url"].startswith(
        f"{USER_APP}/checkout/")
    mandate = create_mandate(api, shop.test, clock)
    assert mandate["livemode"] is False
    assert mandate["approval_url"] == f"{USER_APP}/test/mandates/{mandate['id']}"


def test_idempotency_keys_of_the_two_modes_are_apart(api, db, shop):
    key = new_key()
    body = {"order_reference": "same-body", "amount_paise": 100_00}
    test = api.post_json("/v1/payment_requests", body, headers=auth(shop.test, key),
                         status=201).json
    # The live key with the same Idempotency-Key and body: its own request
    # runs (refused here only because the order reference is the shop's,
    # across modes) -- never the test answer replayed.
    reply = api.post_json("/v1/payment_requests", body, headers=auth(shop.live, key),
                          status=409)
    assert reply.json["code"] != "idempotency_key_reused" and "Idempotent-Replayed" not in \
        reply.headers
    again = api.post_json("/v1/payment_requests", body, headers=auth(shop.test, key),
                          status=201)
    assert again.json == test and again.headers["Idempotent-Replayed"] == "true"


def test_test_refunds_stop_at_what_was_paid_and_bad_input_writes_nothing(api, db, shop, world):
    paid = world["test_paid"]
    path = f"/v1/payment_requests/{paid}/refunds"
    before = written(db)
    for body, status in (({"amount_paise": 250_01}, 422), ({"amount_paise": "100"}, 422),
                         ({"amount_paise": 0}, 422), ({"amount_paise": 1_00.5}, 422),
                         ({"amount_paise": 1_00, "reason": "x" * 141}, 422)):
        reply = api.post_json(path, body, headers=auth(shop.test, new_key()), status=status)
        assert reply.content_type == "application/problem+json"
    api.post_json(f"/v1/payment_requests/{world['test_created']}/refunds",
                  {"amount_paise": 1_00}, headers=auth(shop.test, new_key()), status=409)
    assert written(db) == before
    first = api.post_json(path, {"amount_paise": 200_00}, headers=auth(shop.test, new_key()),
                          status=201).json
    assert first["livemode"] is False
    api.post_json(path, {"amount_paise": 50_01}, headers=auth(shop.test, new_key()),
                  status=422)
    api.post_json(path, {"amount_paise": 50_00}, headers=auth(shop.test, new_key()),
                  status=201)
    shown = api.get(f"/v1/payment_requests/{paid}", headers=auth(shop.test)).json
    assert shown["refunded_paise"] == 250_00
    assert len(api.get(path, headers=auth(shop.test)).json["items"]) == 2


def test_test_debits_are_simulated_at_once_and_the_failing_amount_fails(api, db, clock, shop,
                                                                        world):
    path = f"/v1/mandates/{world['test_mandate']}/debits"
    before = state(db)
    ok = api.post_json(path, {"amount_paise": 99_00}, headers=auth(shop.test, new_key()),
                       status=201).json
    assert (ok["status"], ok["livemode"], ok["failure_code"]) == ("succeeded", False, None)
    failed = api.post_json(path, {"amount_paise": 400_02}, headers=auth(shop.test, new_key()),
                           status=201).json
    assert (failed["status"], failed["failure_code"]) == ("failed", "test_failure")
    api.post_json(path, {"amount_paise": 500_00}, headers=auth(shop.test, new_key()),
                  status=422)  # above the mandate's maximum: its rules hold in test mode
    assert state(db) == before  # no money, no transaction
    with db() as session:
        events = session.execute(select(MerchantEvent.type, MerchantEvent.livemode)
                                 .where(MerchantEvent.type.like("mandate.debit.%"))
                                 .order_by(MerchantEvent.id)).all()
    assert events == [("mandate.debit.succeeded", False), ("mandate.debit.failed", False)]
