"""AutoPay mandates through the API for shops' servers: create, list, read,
present debits; every bad input a clear 4xx with nothing written; debits
refused by the mandate's rules as problems with stable codes; the
Idempotency-Key replay; and the shop's signed webhooks for every state change
(approved, a debit succeeded; revoked between the notice and the debit)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from wallet.core.models import Merchant, User
from wallet.merchants.keys import MerchantKeys
from wallet.merchants.models import Mandate, MandateDebit, MerchantDelivery, MerchantEvent
from wallet.money.freeze import freeze

from ..api_helpers import auth, new_key
from ..mandate_helpers import Clock, make_shop, new_mandate, services
from ..wallet_helpers import PIN, balance, make_user, state
from .test_merchant_webhooks import POLICY, Receiver, add_endpoint, receiving

PROBLEM = "application/problem+json"
USER_APP = "http://wallet.test"
DAY = 24 * 3600


@pytest.fixture
def api_settings(web_settings):
    return {**web_settings, "api.rate_limit_backend": "memory", "wallet.user_app_url": USER_APP}


@pytest.fixture
def clock(api):
    clock = Clock()
    api.app.registry["clock"] = clock
    return clock


def shop_key(db, shop_id: int) -> str:
    with db() as session, session.begin():
        return MerchantKeys(session).issue(session.get_one(Merchant, shop_id), "server").secret


@pytest.fixture
def shop(db):
    shop_id = make_shop(db, endpoint=False)
    return shop_id, shop_key(db, shop_id)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def body(clock, **changes):
    return {"max_amount_paise": 499_00, "frequency": "monthly",
            "start_date": clock.today.isoformat(),
            "end_date": (clock.today + dt.timedelta(days=365)).isoformat(),
            "description": "Streamflix monthly plan", **changes}


def create(api, secret, clock, status=201, **changes):
    return api.post_json("/v1/mandates", body(clock, **changes),
                         headers=auth(secret, new_key()), status=status)


def approve(db, clock, user_id, public_id):
    with db() as session, session.begin():
        services(session, clock).mandates.approve(session.get_one(User, user_id), public_id,
                                                  pin=PIN)


def present(api, secret, public_id, amount_paise=499_00, status=201, key=None):
    return api.post_json(f"/v1/mandates/{public_id}/debits", {"amount_paise": amount_paise},
                         headers=auth(secret, key or new_key()), status=status)


def execute_due(db, clock):
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        return [debits.execute(debit_id).status for debit_id in debits.due()]


def rows(db, model) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(model))


def nothing_written(db):
    return state(db), rows(db, Mandate), rows(db, MandateDebit), rows(db, MerchantEvent)


# --------------------------------------------------------------- the happy path


def test_create_approve_present_and_the_debit_executes(api, db, clock, shop, asha):
    _, secret = shop
    made = create(api, secret, clock).json
    assert made["status"] == "created" and made["approval_url"] == (
        f"{USER_APP}/mandates/{made['id']}")
    assert made["max_amount"] == {"amount_paise": 499_00, "display": "₹499.00"}
    assert made["start_date"] == clock.today.isoformat()
    assert api.get(f"/v1/mandates/{made['id']}", headers=auth(secret)).json == made
    present(api, secret, made["id"], status=409)  # not approved yet
    approve(db, clock, asha, made["id"])
    assert api.get(f"/v1/mandates/{made['id']}",
                   headers=auth(secret)).json["status"] == "active"
    key = new_key()
    debit = present(api, secret, made["id"], 450_00, key=key).json
    assert debit["status"] == "scheduled" and debit["amount"]["amount_paise"] == 450_00
    replay = present(api, secret, made["id"], 450_00, key=key)  # the same key: no second debit
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json == debit
    assert rows(db, MandateDebit) == 1
    clock.advance(seconds=DAY)
    assert execute_due(db, clock) == ["succeeded"]
    listed = api.get(f"/v1/mandates/{made['id']}/debits", headers=auth(secret)).json["items"]
    assert [(d["id"], d["status"]) for d in listed] == [(debit["id"], "succeeded")]
    assert balance(db, asha) == (550_00, 0)
    page = api.get("/v1/mandates?limit=1", headers=auth(secret)).json
    assert [m["id"] for m in page["items"]] == [made["id"]] and page["next_cursor"] is None


def test_paging(api, db, clock, shop):
    _, secret = shop
    ids = [create(api, secret, clock).json["id"] for _ in range(3)]
    first = api.get("/v1/mandates?limit=2", headers=auth(secret)).json
    assert [m["id"] for m in first["items"]] == ids[:0:-1]
    second = api.get(f"/v1/mandates?limit=2&cursor={first['next_cursor']}",
                     headers=auth(secret)).json
    assert [m["id"] for m in second["items"]] == ids[:1] and second["next_cursor"] is None
    assert api.get("/v1/mandates?status=active", headers=auth(secret)).json["items"] == []


# ------------------------------------------------------------ bad input: 4xx


@pytest.mark.parametrize("changes, field", [
    ({"max_amount_paise": 0}, "max_amount_paise"),
    ({"max_amount_paise": -100}, "max_amount_paise"),
    ({"max_amount_paise": 499.5}, "max_amount_paise"),
    ({"max_amount_paise": 100.0}, "max_amount_paise"),
    ({"max_amount_paise": "49900"}, "max_amount_paise"),
    ({"frequency": "hourly"}, "frequency"),
    ({"start_date": "2020-01-01"}, "start_date"),
    ({"start_date": "tomorrow"}, "start_date"),
    ({"start_date": "2026-02-30"}, "start_date"),
    ({"end_date": "2020-01-01"}, "end_date"),
    ({"description": ""}, "description"),
    ({"description": "x" * 141}, "description"),
    ({"extra": 1}, None),
])
def test_bad_mandates_are_refused_and_nothing_is_written(api, db, clock, shop, changes, field):
    _, secret = shop
    before = nothing_written(db)
    reply = create(api, secret, clock, status=422, **changes)
    assert reply.content_type == PROBLEM and reply.json["code"] == "validation_error"
    if field:
        assert field in {e["field"] for e in reply.json["errors"]}
    assert nothing_written(db) == before


def test_end_before_start(api, db, clock, shop):
    _, secret = shop
    start = (clock.today + dt.timedelta(days=365))
    reply = create(api, secret, clock, status=422, start_date=start.isoformat(),
                   end_date=clock.today.isoformat())
    assert reply.json["errors"] == [{"field": "end_date",
                                     "message": "end_date is before start_date."}]
    assert rows(db, Mandate) == 0


@pytest.mark.parametrize("amount", [0, -1, 10.5, 100.0, "100", None])
def test_bad_debit_amounts(api, db, clock, shop, asha, amount):
    _, secret = shop
    public_id = create(api, secret, clock).json["id"]
    approve(db, clock, asha, public_id)
    before = nothing_written(db)
    reply = api.post_json(f"/v1/mandates/{public_id}/debits", {"amount_paise": amount},
                          headers=auth(secret, new_key()), status=422)
    assert reply.json["code"] == "validation_error"
    assert nothing_written(db) == before


def test_unknown_and_another_shops_mandates_are_not_found(api, db, clock, shop, asha):
    _, secret = shop
    public_id = create(api, secret, clock).json["id"]
    approve(db, clock, asha, public_id)
    other = shop_key(db, make_shop(db, "othershop", endpoint=False))
    before = nothing_written(db)
    for path in (f"/v1/mandates/{public_id}", f"/v1/mandates/{public_id}/debits",
                 "/v1/mandates/md_nosuchmandate"):
        assert api.get(path, headers=auth(other), status=404).json["code"] == "not_found"
    assert present(api, other, public_id, 100_00, status=404).json["code"] == "not_found"
    assert present(api, secret, "md_nosuchmandate", status=404).json["code"] == "not_found"
    api.get("/v1/mandates/pr_notamandate", headers=auth(secret), status=404)
    assert nothing_written(db) == before
    assert api.get("/v1/mandates", headers=auth(other)).json["items"] == []


def test_a_users_token_is_refused(api, db, clock, asha):
    from ..api_helpers import sign_in

    token = sign_in(api)
    reply = api.post_json("/v1/mandates", body(clock), headers=auth(token, new_key()),
                          status=401)
    assert reply.json["code"] == "wrong_credential_type"


# ---------------------------------------------- debits refused by the mandate


def test_debits_refused_by_the_mandate_move_nothing(api, db, clock, shop, asha):
    _, secret = shop
    monthly = create(api, secret, clock).json["id"]
    later = create(api, secret, clock, start_date=clock.today.replace(
        year=clock.today.year + 1).isoformat(),
        end_date=(clock.today + dt.timedelta(days=730)).isoformat()).json["id"]
    for public_id in (monthly, later):
        approve(db, clock, asha, public_id)
    present(api, secret, monthly, 100_00)
    before = nothing_written(db)
    for public_id, amount, code, status in (
            (monthly, 499_01, "mandate_amount_exceeded", 422),
            (monthly, 100_00, "mandate_period_used", 409),
            (later, 100_00, "mandate_outside_dates", 422)):
        reply = present(api, secret, public_id, amount, status=status)
        assert reply.content_type == PROBLEM and reply.json["code"] == code, reply.json
    assert nothing_written(db) == before
    clock.advance(days=400)  # past the end
    assert present(api, secret, monthly, 100_00, status=422).json["code"] == (
        "mandate_outside_dates")
    with db() as session, session.begin():
        services(session, clock).mandates.revoke(session.get_one(User, asha), later)
    assert present(api, secret, later, 100_00, status=409).json["code"] == "mandate_not_active"


def test_a_frozen_wallet(api, db, clock, shop, asha):
    _, secret = shop
    public_id = create(api, secret, clock).json["id"]
    approve(db, clock, asha, public_id)
    with db() as session, session.begin():
        freeze(session.get_one(User, asha), "under review", clock.now)
    before = nothing_written(db)
    assert present(api, secret, public_id, status=409).json["code"] == "wallet_frozen"
    assert nothing_written(db) == before


def test_paused(api, db, clock, shop, asha):
    _, secret = shop
    public_id = create(api, secret, clock).json["id"]
    approve(db, clock, asha, public_id)
    with db() as session, session.begin():
        services(session, clock).mandates.pause(session.get_one(User, asha), public_id)
    assert present(api, secret, public_id, status=409).json["code"] == "mandate_not_active"


# ------------------------------------------------------------ signed webhooks


def verify(whsec: str, call) -> dict:
    """A delivery's Standard Webhooks signature checked (at the instant it
    names: the test's clock is days ahead of the real one), then its body."""
    import datetime as dt
    import json

    from standardwebhooks.webhooks import Webhook

    stamp = dt.datetime.fromtimestamp(int(call.headers["webhook-timestamp"]), dt.timezone.utc)
    expected = Webhook(whsec).sign(call.headers["webhook-id"], stamp, call.body.decode())
    assert expected in call.headers["webhook-signature"].split()
    return json.loads(call.body)


def deliver_all(db, clock, runner) -> None:
    from wallet.merchants.webhook_deliveries import WebhookWorker

    worker = WebhookWorker(runner, POLICY, POLICY.sender(), clock=clock)
    with db() as session:
        ids = list(session.scalars(select(MerchantDelivery.id).order_by(MerchantDelivery.id)))
    for delivery_id in ids:
        worker.run_one(delivery_id)


def test_signed_webhooks_for_every_state_change(api, db, clock, shop, asha, runner):
    shop_id, secret = shop
    receiver = Receiver()
    with receiving(receiver) as url:
        _, whsec = add_endpoint(db, shop_id, f"{url}/hook")
        paid = create(api, secret, clock, frequency="as_presented").json["id"]
        approve(db, clock, asha, paid)
        present(api, secret, paid, 200_00)
        clock.advance(seconds=DAY)
        assert execute_due(db, clock) == ["succeeded"]
        revoked = create(api, secret, clock).json["id"]
        approve(db, clock, asha, revoked)
        cancelled = present(api, secret, revoked, 300_00).json["id"]
        clock.advance(hours=1)  # the customer revokes during the notice
        with db() as session, session.begin():
            services(session, clock).mandates.revoke(session.get_one(User, asha), revoked)
        clock.advance(days=2)
        assert execute_due(db, clock) == []  # it never executes
        deliver_all(db, clock, runner)
        messages = [verify(whsec, call) for call in receiver.posts()]
    assert [(m["type"], m["data"]["id"]) for m in messages][-3:] == [
        ("mandate.approved", revoked), ("mandate.debit.failed", cancelled),
        ("mandate.revoked", revoked)]
    assert [m["type"] for m in messages][:2] == ["mandate.approved", "mandate.debit.succeeded"]
    failed = messages[-2]["data"]
    assert failed["status"] == "cancelled" and failed["failure_code"] == "mandate_revoked"
    assert balance(db, asha) == (800_00, 0)
    debit = api.get(f"/v1/mandates/{revoked}/debits", headers=auth(secret)).json["items"][0]
    assert debit["status"] == "cancelled" and debit["failure_code"] == "mandate_revoked"


def test_the_same_idempotency_key_makes_one_mandate(api, db, clock, shop):
    _, secret = shop
    headers = auth(secret, new_key())
    first = api.post_json("/v1/mandates", body(clock), headers=headers, status=201)
    again = api.post_json("/v1/mandates", body(clock), headers=headers, status=201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    other = api.post_json("/v1/mandates", body(clock, max_amount_paise=1_00), headers=headers,
                          status=409)
    assert other.json["code"] == "idempotency_key_reused"
    assert rows(db, Mandate) == 1
    missing = api.post_json("/v1/mandates", body(clock), headers=auth(secret), status=400)
    assert missing.json["code"] == "idempotency_key_missing"


def test_the_periodic_task_executes_due_debits_and_queues_their_webhooks(db, web_settings,
                                                                         asha):
    """The huey task (huey_tasks.mandates), on the real clock: a debit due
    now is paid once, and its webhook is queued after the commit."""
    import datetime as dt

    import huey_tasks
    from huey_tasks.mandates import execute_mandate_debits

    huey_tasks.configure({**web_settings, "huey.backend": "memory", "huey.immediate": "false",
                          "wallet.webhook_allow_private_urls": "true"})
    try:
        clock = Clock()
        shop_id = make_shop(db)
        with db() as session, session.begin():
            mandate = services(session, clock).mandates.create(
                session.get_one(Merchant, shop_id), new_mandate(clock))
            public_id = mandate.public_id
        approve(db, clock, asha, public_id)
        with db() as session, session.begin():
            services(session, clock).mandate_debits.present(
                session.get_one(Merchant, shop_id), public_id, 300_00)
            due = session.scalar(select(MandateDebit))
            due.execute_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        huey_tasks.huey.flush()
        assert len(execute_mandate_debits.call_local()) == 1
        assert execute_mandate_debits.call_local() == []
        assert balance(db, asha) == (700_00, 0)
        assert [t.name for t in huey_tasks.huey.pending()] == ["send_webhook"]
    finally:
        huey_tasks.huey.flush()
        huey_tasks.configure({"huey.backend": "memory"})
