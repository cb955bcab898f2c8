"""Shops' automatic settlement over a simulated week, swept by two workers at
once (PostgreSQL): the clock is advanced two hours at a time through seven
days of daily times (and T+1 mornings); between steps customers pay the shops
and dispute some payments; at each step two threads run the workers' sweep
(wallet.services.Background.sweep_settlements) together while a third drives
the shops' payouts through a bank that caps each payout.

Asserted: each due window of each shop is settled exactly once, with exactly
available (posted - held) less the shop's minimum (none when that is below
₹1), so the disputes' holds are never settled and no shop goes below its
minimum; every settlement's payouts sum to it, each within the bank's cap;
every settlement is paid and has one ``settlement.processed`` event (and
delivery) carrying its payouts' references; and nothing deadlocks
(pg_stat_database.deadlocks before and after, and every client error)."""
from __future__ import annotations

import datetime as dt
import json
import random
import threading

import pytest
from sqlalchemy import select

import ledgerlib
from ledgerlib import Ledger
from wallet.banking.models import Settlement, SettlementSchedule
from wallet.core import codes
from wallet.core.codes import IST
from wallet.core.models import Merchant, Transaction
from wallet.db import WalletSession, get_engine
from wallet.merchants.models import MerchantDelivery, MerchantEvent
from wallet.money import shop_shards

from ..settlement_helpers import (
    START,
    Clock,
    PayingBank,
    background,
    balance_of,
    drive_payouts,
    make_shop,
    pay,
    payouts_of,
    services,
    set_schedule,
)
from ..wallet_helpers import deposit_service, make_user
from .test_payment_deadlocks import (
    ClientDeadlocks,
    flush_statistics_of_the_work,
    server_deadlocks,
    stats_engine,
    tagged,
)

pytestmark = pytest.mark.postgres

CAP = 20_000_00  # the bank's per-payout cap
#: handle -> (mode, times, minimum kept)
SHOPS = {
    "daily-a": ("daily_times", "11:00,17:00", "500"),
    "daily-b": ("daily_times", "11:00,17:00", "2000"),
    "daily-c": ("daily_times", "11:00", ""),
    "big-shop": ("daily_times", "13:00,19:00", "100"),
    "tplus-a": ("t_plus_1", "", ""),
    "tplus-b": ("t_plus_1", "", "1000"),
}
CUSTOMERS = 10


def disputes_held(db, shop_id: int) -> int:
    from wallet.banking.auto_settlement import disputes_held as held

    with db() as session:
        return held(Ledger(session), session.get_one(Merchant, shop_id))


def expected_amount(db, shop_id: int, mode: str, keep: int, due: dt.datetime) -> int:
    """What the window should settle, read before the sweep."""
    with db() as session:
        shop = session.get_one(Merchant, shop_id)
        ledger = Ledger(session)
        balance = shop_shards.balance(ledger, shop)
        eligible = balance.available_paise
        if mode == "t_plus_1":
            day_start = codes.ist_day_bounds(due.astimezone(IST).date())[0]
            opening = shop_shards.period_balances(ledger, shop, day_start,
                                                  day_start).opening_paise
            eligible = min(eligible, opening - balance.held_paise)
    amount = eligible - keep
    return amount if amount >= 1_00 else 0


def test_a_week_of_automatic_settlements_by_two_workers(db, runner, web_settings):
    clock = Clock(START)
    rng = random.Random(29)
    shops = {handle: make_shop(db, clock, handle) for handle in SHOPS}
    customers = [make_user(db, f"+9198765{n:05d}", f"Customer {n}", deposit_paise=1_00_000_00)
                 for n in range(CUSTOMERS)]
    clock.advance(days=1)  # the accounts past their cooling-off: Tue 08:00 IST
    keeps = {}
    for handle, (mode, times, keep) in SHOPS.items():
        set_schedule(db, clock, shops[handle], mode, times, keep)
        keeps[handle] = int(keep or 0) * 100

    url = tagged(web_settings["sqlalchemy.url"])
    engine = get_engine({"sqlalchemy.url": url, "sqlalchemy.pool_size": "8"})

    def run(fn):
        def attempt():
            with WalletSession(engine, expire_on_commit=False) as session, session.begin():
                return fn(session)
        return ledgerlib.retrying(attempt)

    bank = PayingBank()
    stats = stats_engine()
    before = server_deadlocks(stats)
    paid_so_far: dict[str, int] = {}
    expected: dict[str, int] = {}  # window key -> amount
    payments = 0
    errors: list[BaseException] = []
    end = clock.now + dt.timedelta(days=7)
    with ClientDeadlocks() as client:
        while clock.now < end:
            # Customers pay; now and then one disputes a payment (held in the shop).
            for _ in range(4):
                handle = rng.choice(list(SHOPS))
                payer = rng.choice(customers)
                amount = (rng.randrange(15_000, 45_000) * 100 if handle == "big-shop"
                          else rng.randrange(200, 3_000) * 100)
                payments += 1
                top_up(db, payer, amount, payments)
                tx = pay(db, clock, payer, handle, amount, f"week-pay-{payments:08d}")
                if rng.random() < 0.1:
                    with db() as session, session.begin():
                        services(session, clock).disputes.open(payer, tx, "not_delivered")
            clock.advance(hours=2)
            due = due_windows(db, clock.now)
            held_before = {s: disputes_held(db, s) for s in shops.values()}
            available_before = {s: balance_of(db, s).available_paise for s in shops.values()}
            for shop_id, (mode, at) in due.items():
                handle = next(h for h, i in shops.items() if i == shop_id)
                amount = expected_amount(db, shop_id, mode, keeps[handle], at)
                if amount:
                    expected[codes.settlement_window_key(shop_id, at)] = amount
            sweep = background(run, clock, CAP)
            barrier = threading.Barrier(3)

            def worker(sweep=sweep, barrier=barrier):
                try:
                    barrier.wait()
                    sweep.sweep_settlements()
                except BaseException as exc:  # noqa: BLE001 - the assertion shows it
                    errors.append(exc)

            def payouts(barrier=barrier):
                try:
                    barrier.wait()
                    drive_payouts(run, clock, shops.values(), bank, CAP)
                except BaseException as exc:  # noqa: BLE001
                    errors.append(exc)

            threads = [threading.Thread(target=worker) for _ in range(2)]
            threads.append(threading.Thread(target=payouts))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            for handle, shop_id in shops.items():  # never below the minimum
                assert balance_of(db, shop_id).available_paise >= min(
                    keeps[handle], available_before[shop_id])
                assert disputes_held(db, shop_id) == held_before[shop_id]
            drive_payouts(run, clock, shops.values(), bank, CAP)
        paid_so_far = dict(bank.paid)
    engine.dispose()
    flush_statistics_of_the_work(stats)
    deadlocks = server_deadlocks(stats) - before
    stats.dispose()
    assert errors == [] and client.count == 0 and deadlocks == 0, (errors, deadlocks)

    with db() as session:
        made = session.scalars(select(Settlement).order_by(Settlement.id)).all()
        events = session.scalars(select(MerchantEvent).where(
            MerchantEvent.type == "settlement.processed")).all()
        deliveries = session.scalars(select(MerchantDelivery.event_id)).all()
    # Each window due settled exactly once, with exactly what was expected.
    assert {s.window_key: s.amount_paise for s in made} == expected
    assert len(expected) >= 30 and {s.trigger for s in made} == {"scheduled"}
    days = {s.window_key.split(":")[2][:10] for s in made}
    assert len(days) == 7, days
    # Split payouts sum to each settlement, each within the cap, all paid.
    splits = 0
    for settlement in made:
        parts = payouts_of(db, settlement.id)
        assert sum(p[0] for p in parts) == settlement.amount_paise
        assert all(p[0] == p[1] <= CAP and p[2] == "completed" for p in parts)
        splits += len(parts) > 1
        assert settlement.status == "paid"
        refs = settlement.bank_references.split()
        assert len(refs) == len(parts) and all(paid_so_far[r] for r in refs)
    assert splits >= 5
    # One settlement.processed per settlement, with its bank references, delivered.
    by_id = {json.loads(e.payload)["data"]["id"]: e for e in events}
    assert len(events) == len(made) == len(by_id)
    for settlement in made:
        data = json.loads(by_id[settlement.public_id].payload)["data"]
        assert data["bank_references"] == settlement.bank_references.split()
        assert data["amount_paise"] == settlement.amount_paise
    assert sorted(deliveries) == sorted(e.id for e in events)
    ledger_ok(db)
    print(f"a week: {payments} payments, {len(made)} settlements ({splits} split), "
          f"0 deadlocks")


def top_up(db, user_id: int, amount: int, n: int) -> None:
    """Money for the customer's next payment (a deposit when short)."""
    with db() as session, session.begin():
        if Ledger(session).balance(codes.user_wallet(user_id)).available_paise < amount:
            from wallet.core.models import User
            deposit_service(session).record_completed(
                session.get_one(User, user_id), "hdfc", 90_000_00, f"week-topup-{n:08d}")


def due_windows(db, now: dt.datetime) -> dict[int, tuple[str, dt.datetime]]:
    """shop -> (its mode, the window the sweep will settle), for each due."""
    from wallet.banking.settlement_times import last_due

    with db() as session:
        found = {}
        for schedule in session.scalars(select(SettlementSchedule).where(
                SettlementSchedule.enabled.is_(True), SettlementSchedule.next_run_at <= now)):
            at = max(schedule.next_run_at, last_due(schedule.mode, schedule.times, now))
            found[schedule.merchant_id] = (schedule.mode, at)
        return found


def ledger_ok(db) -> None:
    with db() as session:
        ledgerlib.verify(session)
        assert session.scalar(select(Transaction.id).where(
            Transaction.flag_reason.is_not(None))) is None
