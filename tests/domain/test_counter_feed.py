"""The counter's outbox (wallet.core.counter_events, wallet.merchants.counter):
an event exactly when a shop payment is committed, read in an order no
transaction still running can precede, per store; and the stream tokens."""
from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from wallet.core.codes import IST, Kind, Status
from wallet.core.ini import ConfigurationError
from wallet.core.models import CounterEvent, Merchant, MerchantStore, Transaction, User
from wallet.merchants.counter import (
    START,
    CounterFeed,
    CounterItem,
    CounterStream,
    CounterTokens,
    Position,
    TokenRefused,
)
from wallet.money import records
from wallet.money.bulk_payments import ShopPayment, pay_shop_batch
from wallet.settings import WalletSettings

from ..apps.test_merchant_app import make_merchant
from ..conftest import ON_POSTGRES, PRODUCTION_KYC_SETTINGS
from ..wallet_helpers import PIN, make_user, shop_payments_service

NOON = dt.datetime(2026, 12, 12, 12, 0, tzinfo=IST)
SECRET = "test-counter-secret-" + "c" * 24


def pay(db, payer: int, amount_paise: int, key: str, *, when: dt.datetime = NOON,
        commit: bool = True) -> int:
    """A shop payment to Chai Point; rolled back instead unless ``commit``."""
    session = db()
    with session:
        session.begin()
        tx = shop_payments_service(session, clock=lambda: when).pay_merchant(
            session.get(User, payer), "chai-point", amount_paise, key, "", pin=PIN)
        tx_id = tx.id
        if commit:
            session.commit()
        else:
            session.rollback()
    return tx_id


@contextlib.contextmanager
def feed_of(db, now: dt.datetime = NOON) -> Iterator[CounterFeed]:
    """A feed on a session of its own, closed after (on SQLite every
    transaction takes the write lock: BEGIN IMMEDIATE)."""
    with db() as session:
        yield CounterFeed(session, clock=lambda: now)


def first_stream(db, shop: int) -> CounterStream:
    with feed_of(db) as feed:
        stream = feed.stream_of(shop, feed.stores(shop)[0].id)
    assert stream is not None
    return stream


def read(db, stream: CounterStream, after: Position = START, *, want: int,
         **kwargs: object) -> list[CounterItem]:
    """The stream's events after ``after``, read until there are ``want`` of
    them (or 20 s): on a PostgreSQL server that others share, a transaction
    of another database still running holds the horizon back a moment (it is
    cluster-wide: docs/operations.md)."""
    deadline = time.monotonic() + 20
    while True:
        with feed_of(db) as feed:
            found = feed.read(stream, after, **kwargs)  # type: ignore[arg-type]
        if len(found) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture
def shop(db):
    return make_merchant(db)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=5_000_00)


def test_a_payment_has_its_event_and_a_rolled_back_one_none(db, shop, asha):
    paid = pay(db, asha, 250_00, "form-key-counter-001")
    undone = pay(db, asha, 120_00, "form-key-counter-002", commit=False)
    stream = first_stream(db, shop)
    assert stream.first_store and stream.store_name == "Chai Point"
    [item] = read(db, stream, want=1)
    assert item.transaction_id == paid != undone
    assert item.payload() == {
        "id": str(item.position), "transaction_id": paid, "amount_paise": 250_00,
        "amount": "₹250.00", "day": "2026-12-12", "time": "12:00:00", "store": "Chai Point",
        "say": {"en": "Chai Point: two hundred and fifty rupees received",
                "hi": "Chai Point: दो सौ पचास रुपये प्राप्त हुए"}}
    with db() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CounterEvent)) == 1
        event = session.scalars(sa.select(CounterEvent)).one()
        first = session.scalar(sa.select(sa.func.min(MerchantStore.id))
                               .where(MerchantStore.merchant_id == shop))
        # Paid at the shop's handle: at its first store (the payment names it).
        assert (event.merchant_id, event.store_id, event.amount_paise) == (shop, first, 250_00)
        assert (event.xid > 0) == ON_POSTGRES


def test_the_same_form_twice_is_announced_once(db, shop, asha):
    first = pay(db, asha, 80_00, "form-key-counter-003")
    assert pay(db, asha, 80_00, "form-key-counter-003") == first
    assert [i.transaction_id for i in read(db, first_stream(db, shop), want=1)] == [first]


def test_reading_goes_on_after_a_position_and_up_to_a_horizon(db, shop, asha):
    made = [pay(db, asha, (i + 1) * 10_00, f"form-key-counter-1{i:02d}") for i in range(5)]
    stream = first_stream(db, shop)
    items = read(db, stream, want=5)
    assert [i.transaction_id for i in items] == made
    assert [i.position for i in items] == sorted(i.position for i in items)
    assert [i.transaction_id for i in read(db, stream, items[1].position, want=3)] == made[2:]
    assert [i.transaction_id for i in read(db, stream, START, want=2, upto=items[2].position,
                                           limit=2)] == made[:2]
    deadline = time.monotonic() + 20
    while True:  # (every transaction of the server older than the five ended)
        with feed_of(db) as feed:
            horizon = feed.horizon()
        if horizon >= items[-1].position or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert horizon >= items[-1].position  # all five are final
    later = pay(db, asha, 1_00, "form-key-counter-199")
    assert [i.transaction_id for i in read(db, stream, horizon, want=1)] == [later]


def test_a_fresh_page_reads_todays_only(db, shop, asha):
    pay(db, asha, 10_00, "form-key-counter-201", when=NOON - dt.timedelta(days=1))
    today = pay(db, asha, 20_00, "form-key-counter-202")
    with feed_of(db) as feed:
        since = feed.today_start()
    assert since == dt.datetime(2026, 12, 12, tzinfo=IST)
    found = read(db, first_stream(db, shop), want=1, since=since)
    assert [i.transaction_id for i in found] == [today]


def test_each_store_hears_its_own(db, shop, asha):
    """A payment names its store (transactions.payee_store_id); none named is
    the first store's."""
    unnamed = pay(db, asha, 10_00, "form-key-counter-301")
    with db() as session, session.begin():
        first = session.scalars(sa.select(MerchantStore)).one()
        second = MerchantStore(merchant_id=shop, name="Chai Point Station", handle="chai-station",
                               created_at=NOON)
        closed = MerchantStore(merchant_id=shop, name="Old Stall", handle="chai-old",
                               created_at=NOON, closed_at=NOON)
        session.add_all([second, closed])
        session.flush()
        first_id, second_id, closed_id = first.id, second.id, closed.id
        merchant, payer = session.get(Merchant, shop), session.get(User, asha)
        at_second = records.record(
            session, NOON, {"payer": payer, "payee_merchant": merchant}, announced=True,
            kind=Kind.PAYMENT, status=Status.COMPLETED, amount_paise=30_00,
            payer_user_id=asha, payee_merchant_id=shop, payee_store_id=second_id,
            idempotency_key="payment:test:at-second").id
    named_first = None
    with db() as session, session.begin():
        named_first = records.record(
            session, NOON, {}, announced=True, kind=Kind.PAYMENT, status=Status.COMPLETED,
            amount_paise=40_00, payer_user_id=asha, payee_merchant_id=shop,
            payee_store_id=first_id, idempotency_key="payment:test:at-first").id
    with feed_of(db) as feed:
        assert [s.id for s in feed.stores(shop)] == [first_id, second_id]
        assert feed.stream_of(shop, closed_id) is None
        assert feed.stream_of(shop + 1, first_id) is None  # not the shop's
        one, two = feed.stream_of(shop, first_id), feed.stream_of(shop, second_id)
    assert one is not None and two is not None and not two.first_store
    assert [i.transaction_id for i in read(db, one, want=2)] == [unnamed, named_first]
    [item] = read(db, two, want=1)
    assert item.transaction_id == at_second
    assert item.payload()["say"]["en"] == "Chai Point Station: thirty rupees received"


def test_a_batch_of_payments_is_announced_each(db, shop, asha):
    ravi = make_user(db, "+919812345678", "Ravi", deposit_paise=1_000_00)
    with db() as session, session.begin():
        payments = shop_payments_service(session, clock=lambda: NOON)
        made = pay_shop_batch(payments, session.get(Merchant, shop), [
            ShopPayment(session.get(User, asha), 10_00, "payment:batch:1", pin=PIN),
            ShopPayment(session.get(User, ravi), 20_00, "payment:batch:2", pin=PIN)])
        made_ids = [tx.id for tx in made if isinstance(tx, Transaction)]
    assert [i.transaction_id for i in read(db, first_stream(db, shop), want=2)] == made_ids


@pytest.mark.postgres
def test_an_event_waits_for_every_older_transaction(db, shop, asha, app_engine):
    """Ids commit out of order; a reader must never pass one by. B took its
    xid first; A wrote its event first (the smaller id), B second and
    committed first. B is delivered (every transaction before it ended), then
    A after it, though A's id is smaller: nothing missed. And an event whose
    transaction started after one still running waits for it."""
    tx_a, tx_b, tx_c = (pay(db, asha, n * 1_00, f"form-key-counter-4{n:02d}") for n in (1, 2, 3))
    with app_engine.begin() as conn:
        conn.execute(sa.delete(CounterEvent.__table__))
    insert = sa.text(
        "INSERT INTO counter_events (xid, merchant_id, store_id, transaction_id, amount_paise,"
        " created_at) VALUES (pg_current_xact_id()::text::bigint, :m, NULL, :t, 100, :at)"
        " RETURNING id")
    stream = first_stream(db, shop)
    a, b = app_engine.connect(), app_engine.connect()
    try:
        b.execute(sa.text("SELECT pg_current_xact_id()"))  # B's xid first
        id_a = a.execute(insert, {"m": shop, "t": tx_a, "at": NOON}).scalar_one()
        id_b = b.execute(insert, {"m": shop, "t": tx_b, "at": NOON}).scalar_one()
        assert id_a < id_b
        assert read(db, stream, want=0) == []  # neither committed
        b.commit()
        [first] = read(db, stream, want=1)
        assert first.transaction_id == tx_b
        c = app_engine.connect()  # a transaction after A's, committed before it
        c.execute(insert, {"m": shop, "t": tx_c, "at": NOON})
        c.commit()
        c.close()
        assert read(db, stream, first.position, want=0) == []  # C waits for A
        a.commit()
        assert [i.transaction_id for i in read(db, stream, first.position, want=2)] == [tx_a, tx_c]
    finally:
        a.close()
        b.close()


# ---------------------------------------------------------------- tokens


def tokens(now: dt.datetime = NOON, secret: str = SECRET, ttl_s: float = 600) -> CounterTokens:
    return CounterTokens(secret=secret, ttl_s=ttl_s, clock=lambda: now)


def test_a_token_names_its_shop_and_store_until_it_runs_out():
    token, expires = tokens().issue(7, 12)
    assert expires == NOON + dt.timedelta(minutes=10)
    grant = tokens(NOON + dt.timedelta(minutes=9)).verify(token)
    assert (grant.merchant_id, grant.store_id, grant.expires_at) == (7, 12, expires)
    with pytest.raises(TokenRefused, match="expired"):
        tokens(NOON + dt.timedelta(minutes=10)).verify(token)


@pytest.mark.parametrize("change", ["store", "signature", "secret", "garbage", "long"])
def test_a_changed_or_foreign_token_is_refused(change):
    token, _ = tokens().issue(7, 12)
    if change == "store":
        token = token.replace("c1.7.12.", "c1.7.13.")
    elif change == "signature":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif change == "secret":
        token, _ = tokens(secret="another-secret-" + "z" * 30).issue(7, 12)
    elif change == "garbage":
        token = "c1.7.12.x.y"
    else:  # signed with our secret but living far longer than ours do
        token, _ = tokens(ttl_s=86400).issue(7, 12)
    with pytest.raises(TokenRefused):
        tokens().verify(token)


def test_production_refuses_a_weak_secret_and_reads_a_strong_one():
    production = {key: value for key, value in PRODUCTION_KYC_SETTINGS.items()
                  if key != "wallet.counter_token_secret"}
    production["wallet.environment"] = "production"
    with pytest.raises(ConfigurationError, match="counter_token_secret"):
        WalletSettings.from_dict({**production, "wallet.counter_token_secret": "short"})
    with pytest.raises(ConfigurationError, match="counter_token_secret"):
        WalletSettings.from_dict({**production, "wallet.counter_token_secret":
                                  "development-only-counter-token-secret-never-in-production"})
    strong = "Qm7vX2nR8tLw4pKc9YhB3mFs6Dj1GaUeZ"
    assert WalletSettings.from_dict(
        {**production, "wallet.counter_token_secret": strong}).counter_token_secret == strong
    assert WalletSettings.from_dict(production).counter_token_secret is None
