"""Money moving in opposite directions at once never deadlocks (PostgreSQL).

A->B and B->A transfers, payments to one shop by both, payment requests paid
at checkout, the shop's refunds of those payments and the webhooks they
emit all run together from many threads: through the domain services (no
retry, so a deadlock is an error) and through the API and the user app
(webtest, with their usual retries, so a 5xx shows). Asserted: no deadlock,
counted by the clients (every SQLSTATE 40P01 any engine saw, retried or
not) and by the server (``pg_stat_database.deadlocks``, read once every
backend that ran the work has flushed its statistics); no error, no 5xx;
and every paisa where the operations say (each wallet's balance, the ledger
verified and the records cross-checked). docs/architecture.md "Lock order"
is the rule this holds the code to.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
import webtest
from sqlalchemy.orm import Session

import ledgerlib
from wallet.core.codes import Event
from wallet.core.models import Merchant, User
from wallet.db import WalletSession, get_engine
from wallet.identity.accounts import AccountService
from wallet.merchants.keys import MerchantKeys
from wallet.merchants.payment_requests import NewRequest
from wallet.merchants.webhook_deliveries import WebhookWorker
from wallet.merchants.webhook_sender import SendResult
from wallet.merchants.webhooks import MerchantWebhooks, WebhookPolicy
from wallet.operations.bank_calls import verify_all

from ..api_helpers import auth, new_key, sign_in
from ..conftest import TEST_DATABASE_URL, dispose_app_engine, pin_test_app
from ..live_servers import wait_until
from ..wallet_helpers import (
    PASSWORD,
    PIN,
    login,
    make_user,
    payment_requests,
    pin_form,
    refunds,
    shop_payments_service,
    transfers_service,
)

pytestmark = pytest.mark.postgres

ASHA, RAVI = "+919876543210", "+919812345678"
SHOP = "chai-point"
START_PAISE = 50_000_00
#: Operations per lane (11 lanes; the checkout lanes make and pay a request each).
ROUNDS = 30
#: Every connection of the work says so: its backends are found by this name.
TAG = f"lock-order-{os.getpid()}"
DEADLOCK = "40P01"
WEBHOOKS = WebhookPolicy(allow_private_urls=True, require_https=False)


# ------------------------------------------------------------- deadlock counts


class ClientDeadlocks:
    """Every deadlock error any engine of this process sees (retried or not)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, context: sa.engine.ExceptionContext) -> None:
        if getattr(context.original_exception, "sqlstate", None) == DEADLOCK:
            with self._lock:
                self.count += 1

    def __enter__(self) -> ClientDeadlocks:
        sa.event.listen(sa.Engine, "handle_error", self)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(sa.Engine, "handle_error", self)


def race(*steps: Callable[[], None]) -> None:
    """Run ``steps`` each in a thread of its own, released at once (a barrier),
    and wait for them all: the race tests' one way to start a race."""
    barrier = threading.Barrier(len(steps))

    def lane(step: Callable[[], None]) -> None:
        barrier.wait()
        step()

    threads = [threading.Thread(target=lane, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def stats_engine() -> sa.Engine:
    """The test database itself (under PgBouncer: its own pool, never the
    one the work ran on), one fresh connection per use."""
    return ledgerlib.create_engine(TEST_DATABASE_URL, poolclass=sa.pool.NullPool,
                                   isolation_level="AUTOCOMMIT")


def server_deadlocks(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        return int(conn.exec_driver_sql(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).scalar_one())


def flush_statistics_of_the_work(engine: sa.Engine) -> None:
    """A backend counts its deadlocks in memory and hands them to the shared
    statistics only now and then (PostgreSQL 15: when idle, at most once a
    second, else within 10 s) -- and always when it exits. So end every
    backend that ran the work: those our engines closed exit by themselves,
    those a pooler keeps are terminated (the work's connections only: found
    by their application_name), and wait until all are gone."""
    tagged = ("FROM pg_stat_activity WHERE datname = current_database() "
              "AND application_name = :tag AND pid <> pg_backend_pid()")
    with engine.connect() as conn:
        conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) {tagged}"), {"tag": TAG})

    def gone() -> bool:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) {tagged}"),
                                {"tag": TAG}).scalar_one() == 0

    wait_until(gone, "the work's backends to exit", timeout_s=30)


def tagged(url: str) -> str:
    return sa.make_url(url).update_query_dict({"application_name": TAG}).render_as_string(
        hide_password=False)


# ------------------------------------------------------------------- the work


@dataclass
class Outcome:
    """What the lanes did: money moved (by wallet code), errors, answers."""

    moved: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    operations: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def move(self, payer: str, payee: str, amount_paise: int) -> None:
        with self.lock:
            self.moved[payer] -= amount_paise
            self.moved[payee] += amount_paise
            self.operations += 1

    def error(self, lane: str, what: object) -> None:
        with self.lock:
            self.errors.append(f"{lane}: {what!r}"[:300])

    def answered(self, lane: str, reply: webtest.TestResponse, expected: int) -> bool:
        with self.lock:
            self.statuses[reply.status_int] += 1
        if reply.status_int != expected:
            self.error(lane, f"{reply.status} {reply.text[:200]}")
            return False
        return True


class QueuedWebhooks:
    """The domain's task queue: deliveries go to the webhook lane."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[int | None] = queue.Queue()

    def payouts_due(self, owner_key: str) -> None:  # (no payouts here)
        pass

    def webhooks_due(self, delivery_ids: list[int]) -> None:
        for delivery_id in delivery_ids:
            self.deliveries.put(delivery_id)


class Accepting:
    """A shop server that takes every webhook."""

    def post(self, url: str, headers: object, body: bytes) -> SendResult:
        return SendResult(204, 1)


@dataclass
class World:
    asha: int
    ravi: int
    shop: int
    secret: str
    run: Callable[[Callable[[Session], object]], object]
    tasks: QueuedWebhooks
    outcome: Outcome
    api: Callable[[], webtest.TestApp]
    user_app: Callable[[], webtest.TestApp]

    def wallet(self, who: int) -> str:
        return f"user:{who}:wallet"

    @property
    def shop_wallet(self) -> str:
        return f"merchant:{self.shop}:wallet"


def lane(name: str, world: World, barrier: threading.Barrier,
         step: Callable[[int], None]) -> threading.Thread:
    def run() -> None:
        barrier.wait(timeout=60)
        for i in range(ROUNDS):
            try:
                step(i)
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                world.outcome.error(name, exc)
                break  # (a lane that waits on a broken one would wait each round)
    return threading.Thread(target=run, name=name)


def domain_lanes(w: World) -> dict[str, Callable[[int], None]]:
    """Straight through the domain services: one transaction per operation."""
    to_refund: queue.Queue[tuple[int, int]] = queue.Queue()

    def send(payer: int, payee_phone: str, payee: int, tag: str):
        def step(i: int) -> None:
            amount = 1_00 + i
            w.run(lambda s: transfers_service(s).send_money(
                s.get(User, payer), payee_phone, amount, f"lock-order-{tag}-{i:06d}", pin=PIN))
            w.outcome.move(w.wallet(payer), w.wallet(payee), amount)
        return step

    def pay(payer: int, tag: str):
        def step(i: int) -> None:
            tx_id = w.run(lambda s: shop_payments_service(s).pay_merchant(
                s.get(User, payer), SHOP, 2_00, f"lock-order-{tag}-{i:06d}", pin=PIN).id)
            w.outcome.move(w.wallet(payer), w.shop_wallet, 2_00)
            to_refund.put((tx_id, payer))
        return step

    def checkout(i: int) -> None:
        payer = (w.asha, w.ravi)[i % 2]

        def create(s: Session) -> str:
            made, _ = payment_requests(s, tasks=w.tasks).create(
                s.get_one(Merchant, w.shop), NewRequest(f"domain-{i}", 3_00, "3 chai"))
            return made.public_id

        public_id = w.run(create)
        tx_id = w.run(lambda s: payment_requests(s, tasks=w.tasks)
                      .pay(s.get(User, payer), public_id, pin=PIN).transaction_id)
        w.outcome.move(w.wallet(payer), w.shop_wallet, 3_00)
        to_refund.put((tx_id, payer))

    def refund(i: int) -> None:
        payment_id, payer = to_refund.get(timeout=120)
        w.run(lambda s: refunds(s, tasks=w.tasks).refund(
            s.get_one(Merchant, w.shop), payment_id, 1_00, f"lock-order-refund-{i:06d}"))
        w.outcome.move(w.shop_wallet, w.wallet(payer), 1_00)

    return {"domain A->B": send(w.asha, RAVI, w.ravi, "ab"),
            "domain B->A": send(w.ravi, ASHA, w.asha, "ba"),
            "domain A pays": pay(w.asha, "pay-a"), "domain B pays": pay(w.ravi, "pay-b"),
            "domain checkout": checkout, "domain refund": refund}


def http_lanes(w: World) -> dict[str, Callable[[int], None]]:
    """Through the API and the user app, as phones, browsers and shops' servers do."""
    api, user_app = w.api, w.user_app
    tokens = {w.asha: sign_in(api(), ASHA), w.ravi: sign_in(api(), RAVI)}
    paid: queue.Queue[str] = queue.Queue()

    def send(payer: int, payee_phone: str, payee: int, name: str):
        app = api()

        def step(i: int) -> None:
            amount = 1_00 + i
            reply = app.post_json("/v1/transfers", {"to_phone": payee_phone,
                                                    "amount_paise": amount},
                                  headers=auth(tokens[payer], new_key()), expect_errors=True)
            if w.outcome.answered(name, reply, 201):
                w.outcome.move(w.wallet(payer), w.wallet(payee), amount)
        return step

    pay_app = api()

    def pay(i: int) -> None:
        reply = pay_app.post_json("/v1/payments", {"merchant_handle": SHOP, "amount_paise": 2_00},
                                  headers=auth(tokens[w.asha], new_key()), expect_errors=True)
        if w.outcome.answered("api A pays", reply, 201):
            w.outcome.move(w.wallet(w.asha), w.shop_wallet, 2_00)

    shop_server, browser = api(), user_app()
    login(browser, RAVI)

    def checkout(i: int) -> None:
        made = shop_server.post_json("/v1/payment_requests", {
            "order_reference": f"web-{i}", "amount_paise": 3_00, "description": "3 chai"},
            headers=auth(w.secret, new_key()), expect_errors=True)
        if not w.outcome.answered("web checkout", made, 201):
            return
        page = browser.get(f"/checkout/{made.json['id']}", expect_errors=True)
        if not w.outcome.answered("web checkout", page, 200):
            return
        done = pin_form(page, "checkout-form").submit(expect_errors=True)
        if w.outcome.answered("web checkout", done, 303):
            w.outcome.move(w.wallet(w.ravi), w.shop_wallet, 3_00)
            paid.put(made.json["id"])

    refunder = api()

    def refund(i: int) -> None:
        public_id = paid.get(timeout=120)
        reply = refunder.post_json(f"/v1/payment_requests/{public_id}/refunds",
                                   {"amount_paise": 1_00}, headers=auth(w.secret, new_key()),
                                   expect_errors=True)
        if w.outcome.answered("api refund", reply, 201):
            w.outcome.move(w.shop_wallet, w.wallet(w.ravi), 1_00)

    return {"api A->B": send(w.asha, RAVI, w.ravi, "api A->B"),
            "api B->A": send(w.ravi, ASHA, w.asha, "api B->A"),
            "api A pays": pay, "web checkout": checkout, "api refund": refund}


def webhook_lane(w: World) -> threading.Thread:
    """A webhook worker sending the domain lanes' deliveries as they come
    (claim and record lock the endpoint, which every emit references)."""
    worker = WebhookWorker(w.run, WEBHOOKS, Accepting())

    def run() -> None:
        while (delivery_id := w.tasks.deliveries.get(timeout=300)) is not None:
            try:
                step = worker.run_one(delivery_id)
                if step.kind != "sent" or step.recorded is None \
                        or step.recorded.status != "delivered":
                    w.outcome.error("webhooks", step)
            except Exception as exc:  # noqa: BLE001 - reported
                w.outcome.error("webhooks", exc)
    return threading.Thread(target=run, name="webhooks")


# -------------------------------------------------------------------- set-up


def make_shop(db) -> tuple[int, str]:
    """The shop, its API key and a webhook endpoint for every event."""
    with db() as session, session.begin():
        merchant = AccountService(session, bcrypt_rounds=4).signup_merchant(
            SHOP, "Chai Point", "chai@example.com", PASSWORD)
        MerchantWebhooks(session, WEBHOOKS).create(merchant.id, "http://127.0.0.1:9/hooks",
                                                   Event.ALL)
        return merchant.id, MerchantKeys(session).issue(merchant, "server").secret


def wallet_balance(db, code: str) -> int:
    with db() as session:
        return ledgerlib.Ledger(session).balance(code).posted_paise


def test_opposite_payments_refunds_and_checkouts_at_once_never_deadlock(db, web_settings):
    import api_app
    import webapp

    asha = make_user(db, ASHA, "Asha", deposit_paise=START_PAISE)
    ravi = make_user(db, RAVI, "Ravi", deposit_paise=START_PAISE)
    shop, secret = make_shop(db)
    url = tagged(web_settings["sqlalchemy.url"])
    settings = {**web_settings, "sqlalchemy.url": url, "api.rate_limit_backend": "memory",
                **{f"api.money_requests_per_minute_per_{who}": "100000"
                   for who in ("token", "ip", "user", "merchant")}}
    engine = get_engine({"sqlalchemy.url": url, "sqlalchemy.pool_size": "8"})
    api_wsgi, user_wsgi = api_app.main({}, **settings), webapp.main({}, **settings)
    stats = stats_engine()

    def run(fn: Callable[[Session], object]) -> object:
        with WalletSession(engine, expire_on_commit=False) as session, session.begin():
            return fn(session)

    world = World(asha, ravi, shop, secret, run, QueuedWebhooks(), Outcome(),
                  lambda: pin_test_app(api_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.8"}),
                  lambda: webtest.TestApp(user_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.7"}))
    steps = {**domain_lanes(world), **http_lanes(world)}
    deadlocks_before = server_deadlocks(stats)
    barrier = threading.Barrier(len(steps))
    threads = [lane(name, world, barrier, step) for name, step in steps.items()]
    webhooks = webhook_lane(world)
    with ClientDeadlocks() as client:
        started = time.monotonic()
        for thread in [*threads, webhooks]:
            thread.start()
        for thread in threads:
            thread.join()
        world.tasks.deliveries.put(None)
        webhooks.join()
        elapsed = time.monotonic() - started
    for app in (api_wsgi, user_wsgi):
        dispose_app_engine(app)
    engine.dispose()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - deadlocks_before
    stats.dispose()

    outcome = world.outcome
    summary = (f"{outcome.operations} operations in {elapsed:.1f} s; deadlocks: "
               f"{client.count} seen by the clients, {deadlocks} counted by PostgreSQL; "
               f"answers {dict(outcome.statuses)}; {len(outcome.errors)} errors")
    print(summary)
    assert client.count == 0 and deadlocks == 0, summary
    assert outcome.errors == [], (summary, outcome.errors[:10])
    assert not any(status >= 500 for status in outcome.statuses), summary
    assert outcome.operations == 11 * ROUNDS, summary
    for code, start in ((world.wallet(asha), START_PAISE), (world.wallet(ravi), START_PAISE),
                        (world.shop_wallet, 0)):
        assert wallet_balance(db, code) == start + outcome.moved[code], code
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)
