"""A busy shop's receiving shards (wallet.money.shop_shards, issue #25): its
payments spread over them, its balance page and reports show their exact sum,
a refund and a settlement draw from all of them, and the ledger verifies."""
from __future__ import annotations

import datetime as dt
import itertools
import queue
import threading
import time

import pytest
from sqlalchemy import select

import ledgerlib
from ledgerlib import tables as lt
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, User
from wallet.merchants.reports import MerchantReports
from wallet.money import shop_shards
from wallet.operations.bank_calls import verify_all

from ..system.test_payment_deadlocks import ClientDeadlocks, server_deadlocks, stats_engine
from ..wallet_helpers import (
    PIN,
    SHOP_ACCOUNT,
    SHOP_PIN,
    activity_service,
    make_user,
    ready_to_settle,
    refunds,
    shop_payments_service,
    withdrawal_service,
)
from .test_merchant_app import make_merchant, merchant_app, merchant_login, merchant_wsgi

__all__ = ["merchant_app", "merchant_wsgi"]  # (fixtures)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
SHARDS = 4


def with_shards(db, shop_id: int, shards: int = SHARDS) -> None:
    with db() as session, session.begin():
        shop_payments_service(session).set_receiving_shards(session.get(Merchant, shop_id), shards)


def pay(db, user_id: int, amount_paise: int, key: str, when: dt.datetime | None = None) -> int:
    with db() as session, session.begin():
        service = shop_payments_service(session, **({"clock": lambda: when} if when else {}))
        return service.pay_merchant(session.get(User, user_id), "chai-point", amount_paise,
                                    key, "", pin=PIN).id


def shard_postings(db, shop_id: int) -> dict[str, int]:
    """Each receiving account's posted paise."""
    with db() as session:
        accounts = lt.accounts
        return dict(session.connection().execute(
            select(accounts.c.code, accounts.c.posted_paise)
            .where(accounts.c.code.like(f"merchant:{shop_id}:wallet%"))).all())


def shop_balance(db, shop_id: int) -> ledgerlib.Balance:
    with db() as session:
        return activity_service(session).balance(session.get(Merchant, shop_id))


def verified(db) -> None:
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)


class RoundRobin:
    """Shards in turn, in place of the random choice: each gets its share."""

    def __init__(self) -> None:
        self.turn = itertools.count()

    def randrange(self, stop: int) -> int:
        return next(self.turn) % stop


@pytest.fixture
def shop(db, monkeypatch):
    """A shop of 4 receiving shards, paid 24 times by one customer, in turn."""
    monkeypatch.setattr(shop_shards, "random", RoundRobin())
    shop_id = make_merchant(db)
    with_shards(db, shop_id)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=10_000_00)
    payments = [pay(db, asha, 100_00 + i, f"form-key-shard-{i:04d}") for i in range(24)]
    return shop_id, asha, payments


def test_payments_spread_over_the_shards_and_the_balance_is_their_sum(db, shop, merchant_app):
    shop_id, _, _ = shop
    postings = shard_postings(db, shop_id)
    assert len(postings) == SHARDS
    assert all(paise > 0 for paise in postings.values())  # spread, not one row
    total = sum(100_00 + i for i in range(24))
    assert sum(postings.values()) == total
    assert shop_balance(db, shop_id).available_paise == total
    merchant_login(merchant_app)
    assert f"Balance {ledgerlib.format_paise(total)}" in merchant_app.get("/dashboard").text
    verified(db)


def test_a_refund_and_a_settlement_draw_from_every_shard(db, shop):
    shop_id, asha, payments = shop
    total = shop_balance(db, shop_id).available_paise
    # More than any one shard holds: the settlement needs the shards swept together.
    assert max(shard_postings(db, shop_id).values()) < total // 2
    with db() as session, session.begin():
        merchant = session.get(Merchant, shop_id)
        refunds(session).refund(merchant, payments[0], 100_00, "refund-key-0000000001")
    assert shop_balance(db, shop_id).available_paise == total - 100_00
    account = ready_to_settle(db, shop_id)
    assert account
    left = total - 100_00
    with db() as session, session.begin():
        tx = withdrawal_service(session).request(
            session.get(Merchant, shop_id), *SHOP_ACCOUNT, left, "settle-key-000000001",
            pin=SHOP_PIN)
        assert tx.amount_paise == left
    balance = shop_balance(db, shop_id)
    assert (balance.posted_paise, balance.held_paise, balance.available_paise) == (left, left, 0)
    postings = shard_postings(db, shop_id)
    assert postings.pop(f"merchant:{shop_id}:wallet") == left
    assert set(postings.values()) == {0}  # every shard swept into the wallet
    verified(db)


def test_the_reports_closing_balance_sums_the_shards(db):
    shop_id = make_merchant(db)
    with_shards(db, shop_id)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    start = dt.datetime(2026, 10, 31, 10, 0, tzinfo=IST)
    for i in range(12):
        pay(db, asha, 10_00, f"form-key-report-{i:04d}", start + dt.timedelta(minutes=i))
    with db() as session:
        figures = MerchantReports(session).figures(
            session.get(Merchant, shop_id), [dt.date(2026, 10, 31), dt.date(2026, 11, 1)])
    assert (figures[0].gross_paise, figures[0].closing_balance_paise) == (120_00, 120_00)


def test_the_number_of_shards_only_grows_within_its_bounds(db):
    shop_id = make_merchant(db)
    with_shards(db, shop_id, 3)
    for wrong in (0, 2, 65):
        with pytest.raises(WalletError), db() as session, session.begin():
            shop_payments_service(session).set_receiving_shards(
                session.get(Merchant, shop_id), wrong)
    with db() as session:
        assert session.get(Merchant, shop_id).receiving_shards == 3


# ------------------------------------------------------------ a rush (PostgreSQL)

PAYERS, ROUNDS = 12, 8


@pytest.mark.postgres
def test_a_rush_of_payers_with_refunds_meanwhile_never_deadlocks(db, app_engine):
    """Many payers into one shop of 4 shards at once while the shop refunds
    their payments: no deadlock (counted by the clients and by the server),
    no error, and every paisa where it should be."""
    if app_engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only")
    shop_id = make_merchant(db)
    with_shards(db, shop_id)
    payers = [make_user(db, f"+9198765{i:05d}", f"Payer {i}", deposit_paise=1_000_00)
              for i in range(PAYERS)]
    stats = stats_engine()
    before = server_deadlocks(stats)
    paid: queue.Queue[int | None] = queue.Queue()
    errors: list[str] = []
    refunded = [0]

    def payer(who: int) -> None:
        for i in range(ROUNDS):
            try:
                paid.put(pay(db, who, 10_00, f"rush-key-{who:04d}-{i:04d}"))
            except Exception as exc:  # noqa: BLE001 - every error is a failure here
                errors.append(repr(exc)[:200])
        paid.put(None)

    def refunder() -> None:
        finished = 0
        while finished < PAYERS:
            payment = paid.get()
            if payment is None:
                finished += 1
                continue
            try:
                with db() as session, session.begin():
                    refunds(session).refund(session.get(Merchant, shop_id), payment, 4_00,
                                            f"rush-refund-{payment:08d}")
                refunded[0] += 4_00
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc)[:200])

    with ClientDeadlocks() as client_deadlocks:
        threads = [threading.Thread(target=payer, args=(who,)) for who in payers]
        threads.append(threading.Thread(target=refunder))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    app_engine.dispose()  # its backends exit, and hand over their deadlock counts
    time.sleep(1.5)
    assert errors == []
    assert client_deadlocks.count == 0
    assert server_deadlocks(stats) == before
    moved = PAYERS * ROUNDS * 10_00
    assert refunded[0] == PAYERS * ROUNDS * 4_00
    assert shop_balance(db, shop_id).posted_paise == moved - refunded[0]
    with db() as session:
        customers = sum(ledgerlib.Ledger(session).balance(f"user:{who}:wallet").posted_paise
                        for who in payers)
    assert customers + moved - refunded[0] == PAYERS * 1_000_00
    verified(db)
