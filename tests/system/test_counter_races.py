"""The counter's announcer under load (PostgreSQL): 200 shop payments from
concurrent payers into two shops (each paying into 8 receiving shards, so
their transactions really run side by side and commit out of their id
order), some more that roll back, while one SSE client per store listens and
hangs up at random, reconnecting with its Last-Event-ID each time.

Asserted, per store: every committed payment announced exactly once (counted
as received, before any de-duplication), none that rolled back, none before
its commit (each one is looked up from another connection the moment it
arrives), in one order (positions only ever increase across reconnects) in
which each payer's payments come in the order they were made."""
from __future__ import annotations

import random
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from announcer_app import AnnouncerApp
from announcer_app.stream import StreamTiming
from wallet.core.models import Merchant, MerchantStore, Transaction, User
from wallet.db import get_engine, get_session_factory
from wallet.merchants.counter import Position
from wallet.services import counter_tokens
from wallet.settings import WalletSettings

from ..apps.test_merchant_app import make_merchant
from ..live_servers import serving
from ..sse_client import SseStream
from ..wallet_helpers import PIN, make_user, shop_payments_service

pytestmark = pytest.mark.postgres

SECRET = "test-counter-secret-" + "r" * 24
PAYERS = 8
PAYMENTS = 200
SHOPS = ("chai-point", "dosa-corner")


@dataclass
class Made:
    """What the payers did: committed payments (tx id -> (shop, payer,
    payer's sequence)), and the ids of those rolled back."""

    committed: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    rolled_back: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Heard:
    """What one store's client received, in order, across its reconnects."""

    received: list[tuple[Position, int]] = field(default_factory=list)
    reconnects: int = 0
    refused: int = 0
    too_early: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def payer_lane(factory, payer: int, lane: int, count: int, made: Made,
               start: threading.Barrier) -> None:
    rng = random.Random(lane)
    start.wait()
    sequence = 0
    for i in range(count):
        shop = SHOPS[rng.randrange(2)]
        roll_back = i % 6 == 5  # a payment written, then its transaction rolled back
        try:
            with factory() as session:
                session.begin()
                tx = shop_payments_service(session).pay_merchant(
                    session.get(User, payer), shop, rng.randrange(1_00, 500_00),
                    f"form-key-race-{lane:02d}-{i:04d}", "", pin=PIN)
                tx_id = tx.id
                if roll_back:
                    session.rollback()
                    with made.lock:
                        made.rolled_back.add(tx_id)
                    continue
                session.commit()
            with made.lock:
                made.committed[tx_id] = (shop, payer, sequence)
            sequence += 1
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            with made.lock:
                made.errors.append(f"lane {lane}: {exc!r}")
        time.sleep(rng.random() * 0.01)


def listener(url: str, token: str, heard: Heard, expected: threading.Event,
             wanted: set[int], check: sa.Engine, stop: threading.Event, seed: int) -> None:
    try:
        listen(url, token, heard, expected, wanted, check, stop, seed)
    except Exception as exc:  # noqa: BLE001 (reported by the test)
        heard.errors.append(repr(exc))


def listen(url: str, token: str, heard: Heard, expected: threading.Event,
           wanted: set[int], check: sa.Engine, stop: threading.Event, seed: int) -> None:
    """Listen, hanging up at random; every payment looked up the moment it comes."""
    rng = random.Random(seed)
    last_id: str | None = None
    while not stop.is_set():
        stream = SseStream(f"{url}?{urllib.parse.urlencode({'token': token})}",
                           last_event_id=last_id, read_timeout_s=rng.uniform(0.05, 0.5))
        if stream.status == 503:  # too many streams (hang-ups not noticed yet): as a browser
            heard.refused += 1
            time.sleep(0.1)
            continue
        if stream.status != 200:
            heard.errors.append(f"status {stream.status}: {stream.body()}")
            return
        budget = rng.randint(1, 12)  # payments before hanging up
        try:
            while budget > 0:
                message = stream.next()
                if message is None:
                    break
                if message.id:
                    last_id = message.id
                if message.event != "payment":
                    continue
                tx_id = message.json()["transaction_id"]
                with check.connect() as conn:  # committed already? (else: seen too early)
                    if conn.scalar(sa.select(Transaction.id).where(Transaction.id == tx_id)) \
                            is None:
                        heard.too_early.append(tx_id)
                heard.received.append((Position.parse(message.id), tx_id))
                budget -= 1
        except TimeoutError:
            pass  # quiet for a while: hang up anyway
        finally:
            stream.close()
        heard.reconnects += 1
        if expected.is_set() and wanted <= {tx for _, tx in heard.received}:
            return


def test_every_payment_announced_once_in_order_never_early(db, web_settings, app_db_url):
    shops = {handle: make_merchant(db, handle, handle.replace("-", " ").title(),
                                   f"{handle}@example.com") for handle in SHOPS}
    with db() as session, session.begin():
        payments = shop_payments_service(session)
        for shop_id in shops.values():
            payments.set_receiving_shards(session.get(Merchant, shop_id), 8)
        stores = {handle: session.scalar(sa.select(MerchantStore.id).where(
            MerchantStore.merchant_id == shop_id)) for handle, shop_id in shops.items()}
    payers = [make_user(db, f"+9198765{i:05d}", f"Payer {i}", deposit_paise=50_000_00)
              for i in range(PAYERS)]

    settings = {**web_settings, "wallet.counter_token_secret": SECRET}
    app = AnnouncerApp(WalletSettings.from_dict(settings), allowed_origins=frozenset(),
                       timing=StreamTiming(poll_interval_s=0.02, heartbeat_s=1.0, retry_ms=100),
                       max_streams=12)
    tokens = counter_tokens(app.settings)
    engine = get_engine({"sqlalchemy.url": app_db_url, "sqlalchemy.pool_size": "24"})
    check = get_engine({"sqlalchemy.url": app_db_url})
    made, expected, stop = Made(), threading.Event(), threading.Event()
    wanted: dict[str, set[int]] = {handle: set() for handle in SHOPS}
    heard = {handle: Heard() for handle in SHOPS}
    try:
        with serving(app, threads=16) as base:
            listeners = [threading.Thread(
                target=listener, args=(f"{base}/stream",
                                       tokens.issue(shops[h], stores[h])[0], heard[h],
                                       expected, wanted[h], check, stop, seed), daemon=True)
                for seed, h in enumerate(SHOPS)]
            for thread in listeners:
                thread.start()
            factory = get_session_factory(engine)
            start = threading.Barrier(PAYERS)
            # 200 committed: each lane commits 5 of every 6 it writes.
            per_lane = PAYMENTS // PAYERS * 6 // 5
            lanes = [threading.Thread(target=payer_lane,
                                      args=(factory, payers[i], i, per_lane, made, start))
                     for i in range(PAYERS)]
            for thread in lanes:
                thread.start()
            for thread in lanes:
                thread.join(timeout=120)
            assert made.errors == []
            assert len(made.committed) == PAYMENTS and len(made.rolled_back) == PAYERS * 5
            for tx_id, (shop, _, _) in made.committed.items():
                wanted[shop].add(tx_id)
            expected.set()
            for thread in listeners:
                thread.join(timeout=60)
            stop.set()
            assert not any(thread.is_alive() for thread in listeners), {
                h: (len(wanted[h]), len({tx for _, tx in heard[h].received}), heard[h].reconnects,
                    heard[h].errors, sorted(wanted[h] - {tx for _, tx in heard[h].received}))
                for h in SHOPS}
            app.stop()
    finally:
        stop.set()
        app.stop()
        app.engine.dispose()
        engine.dispose()
        check.dispose()

    for handle in SHOPS:
        log = heard[handle]
        assert log.errors == [] and log.too_early == []
        counts = Counter(tx for _, tx in log.received)
        assert set(counts) == wanted[handle], f"{handle}: missed or foreign payments"
        assert set(counts.values()) == {1}, f"{handle}: announced twice"
        assert not set(counts) & made.rolled_back
        positions = [p for p, _ in log.received]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        by_payer: dict[int, list[int]] = defaultdict(list)
        for _, tx in log.received:
            _, payer, sequence = made.committed[tx]
            by_payer[payer].append(sequence)
        assert all(seq == sorted(seq) for seq in by_payer.values())
        assert log.reconnects >= 10, f"{handle}: too few reconnects to mean anything"
    assert sum(len(w) for w in wanted.values()) == PAYMENTS
    # The pitfall was there to fall into: somewhere an event came after one
    # with a larger id (ids handed out in one order, committed in another).
    ids = [[p.id for p, _ in heard[h].received] for h in SHOPS]
    out_of_id_order = sum(a > b for seq in ids for a, b in zip(seq, seq[1:], strict=False))
    print(f"reconnects {[heard[h].reconnects for h in SHOPS]}, refused "
          f"{[heard[h].refused for h in SHOPS]}, out of id order {out_of_id_order}")
    assert out_of_id_order >= 1, "no payment committed out of its id order: not a race"
