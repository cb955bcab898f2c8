"""Shops' automatic settlement (wallet.banking.auto_settlement): a schedule
read strictly and saved with the shop PIN; each due window settles the
available balance (posted - held: a dispute's hold is never settled) above
the minimum, once, in payouts no larger than the bank's cap; the payouts'
completion marks it paid with the bank's references and tells the shop's
server (settlement.processed); a refused payout fails it, the money back."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from wallet.banking.auto_settlement import split
from wallet.banking.errors import NothingToSettle
from wallet.banking.models import SettlementPayout, SettlementSchedule
from wallet.core.codes import IST
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, MerchantNotification
from wallet.identity.errors import WrongPin
from wallet.merchants.models import MerchantDelivery, MerchantEvent

from ..settlement_helpers import (
    START,
    Clock,
    PayingBank,
    account_of,
    background,
    balance_of,
    count_of,
    drive_payouts,
    make_shop,
    pay,
    payouts_of,
    services,
    set_schedule,
    settlements_of,
)
from ..wallet_helpers import SHOP_PIN, make_user, state


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def shop(db, clock):
    shop = make_shop(db, clock)
    clock.advance(days=1, minutes=5)  # past the account's cooling-off: Tue 08:05 IST
    return shop


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_00_000_00)


def sweep(runner, clock, cap_paise=0):
    return background(runner, clock, cap_paise).sweep_settlements()


def test_split_is_even_and_within_the_cap():
    assert split(2_500_00, 0) == [2_500_00]
    assert split(2_500_00, 1_000_00) == [83_334, 83_333, 83_333]
    assert split(3_000_00, 1_000_00) == [1_000_00] * 3
    for amount in (1, 99_999, 1_000_01, 7_654_321):
        parts = split(amount, 1_000_00)
        assert sum(parts) == amount and max(parts) <= 1_000_00
        assert max(parts) - min(parts) <= 1


@pytest.mark.parametrize("fields, field", [
    (("weekly", "11:00", "", True), "mode"),
    (("daily_times", "25:00", "", True), "times"),
    (("daily_times", "", "", True), "times"),
    (("daily_times", "11:00,12:00,13:00,14:00,15:00,16:00,17:00", "", True), "times"),
    (("daily_times", "11:00", "-5", True), "min_balance"),
    (("daily_times", "11:00", "1e3", True), "min_balance"),
    (("daily_times", "11:00", "", "abc"), "account"),
    (("t_plus_1", "", "", None), "account"),
])
def test_a_bad_schedule_is_refused_with_its_field_and_nothing_is_written(db, clock, shop,
                                                                       fields, field):
    mode, times, keep, account = fields
    account = account_of(db, shop) if account is True else account
    before = (state(db), count_of(db, SettlementSchedule))
    with db() as session, session.begin():
        auto = services(session, clock).auto_settlements
        with pytest.raises(WalletError) as refused:
            auto.set_schedule(session.get(Merchant, shop),
                              auto.read_schedule(mode, times, keep, account), SHOP_PIN)
    assert field in refused.value.errors
    assert (state(db), count_of(db, SettlementSchedule)) == before


def test_the_schedule_needs_the_shop_pin(db, clock, shop):
    with pytest.raises(WrongPin):
        set_schedule(db, clock, shop, "daily_times", "11:00", pin="0000")
    assert count_of(db, SettlementSchedule) == 0
    due = set_schedule(db, clock, shop, "daily_times", "17:00, 11:00")
    assert due == dt.datetime(2026, 12, 15, 11, 0, tzinfo=IST)
    with db() as session:
        assert session.scalar(select(SettlementSchedule.times)) == "11:00,17:00"


def test_a_due_window_settles_what_is_above_the_minimum_once(db, runner, clock, shop, asha):
    set_schedule(db, clock, shop, "daily_times", "11:00,17:00", "500")
    pay(db, clock, asha, "chai-point", 3_000_00, "pay-key-0000000001")
    assert sweep(runner, clock) == []  # 08:05: nothing due
    clock.advance(hours=3)  # 11:05
    [step] = sweep(runner, clock)
    assert step.settlement is not None and step.settlement.amount_paise == 2_500_00
    assert balance_of(db, shop).available_paise == 500_00
    assert sweep(runner, clock) == []  # the window is done
    [made] = settlements_of(db, shop)
    assert (made.status, made.trigger, made.kept_paise) == ("pending", "scheduled", 500_00)
    assert made.window_key == f"settlement:{shop}:2026-12-15T05:30Z"
    drive_payouts(runner, clock, [shop], PayingBank())
    [paid] = settlements_of(db, shop)
    assert paid.status == "paid" and paid.bank_references.startswith("wd_")
    with db() as session:
        [event] = session.scalars(select(MerchantEvent).where(
            MerchantEvent.type == "settlement.processed")).all()
        data = json.loads(event.payload)["data"]
        assert data["id"] == paid.public_id and data["bank_reference"] == paid.bank_references
        assert data["amount_paise"] == 2_500_00
        assert session.scalar(select(MerchantDelivery.event_id)) == event.id
    # Below the minimum at 17:00: nothing settled, nothing written.
    clock.advance(hours=6)
    [step] = sweep(runner, clock)
    assert step.settlement is None and step.reason == "nothing above the minimum balance"
    assert len(settlements_of(db, shop)) == 1


def test_a_capped_bank_gets_several_payouts_that_sum_to_the_settlement(db, runner, clock,
                                                                        shop, asha):
    set_schedule(db, clock, shop, "daily_times", "11:00")
    ravi = make_user(db, "+919812345678", "Ravi", deposit_paise=1_00_000_00)
    pay(db, clock, asha, "chai-point", 70_000_00, "pay-key-0000000002")
    pay(db, clock, ravi, "chai-point", 70_000_00, "pay-key-0000000012")
    clock.advance(hours=3)
    [step] = sweep(runner, clock, cap_paise=50_000_00)
    settlement = step.settlement
    assert settlement.amount_paise == 1_40_000_00  # above the ₹1,00,000 per request
    parts = payouts_of(db, settlement.id)
    assert [p[0] for p in parts] == [46_666_67, 46_666_67, 46_666_66]
    assert all(p[0] == p[1] for p in parts)
    drive_payouts(runner, clock, [shop], PayingBank(), cap_paise=50_000_00)
    [paid] = settlements_of(db, shop)
    assert paid.status == "paid" and len(paid.bank_references.split()) == 3
    assert balance_of(db, shop).posted_paise == 0


def test_a_disputes_hold_is_never_settled(db, runner, clock, shop, asha):
    set_schedule(db, clock, shop, "daily_times", "11:00", "100")
    pay(db, clock, asha, "chai-point", 2_000_00, "pay-key-0000000003")
    disputed = pay(db, clock, asha, "chai-point", 700_00, "pay-key-0000000004")
    with db() as session, session.begin():
        services(session, clock).disputes.open(asha, disputed, "not_delivered")
    clock.advance(hours=3)
    [step] = sweep(runner, clock)
    assert step.settlement.amount_paise == 2_700_00 - 700_00 - 100_00
    assert step.settlement.disputes_held_paise == 700_00
    drive_payouts(runner, clock, [shop], PayingBank())
    left = balance_of(db, shop)
    assert (left.posted_paise, left.held_paise) == (800_00, 700_00)


def test_a_refused_payout_fails_the_settlement_and_the_money_comes_back(db, runner, clock,
                                                                       shop, asha):
    set_schedule(db, clock, shop, "daily_times", "11:00")
    pay(db, clock, asha, "chai-point", 1_500_00, "pay-key-0000000005")
    clock.advance(hours=3)
    [step] = sweep(runner, clock, cap_paise=1_000_00)
    [_, second] = payouts_of(db, step.settlement.id)
    with db() as session:
        refs = [f"wd_{t}" for t in session.scalars(select(SettlementPayout.transaction_id)
                                                   .order_by(SettlementPayout.part))]
    drive_payouts(runner, clock, [shop], PayingBank(refuse={refs[1]}), cap_paise=1_000_00)
    [failed] = settlements_of(db, shop)
    assert failed.status == "failed" and refs[1] in failed.failure_reason
    assert balance_of(db, shop).available_paise == second[0]  # that part is back
    assert count_of(db, MerchantEvent, MerchantEvent.type == "settlement.processed") == 0
    with db() as session:
        assert "back in your wallet" in session.scalar(
            select(MerchantNotification.text).where(
                MerchantNotification.kind == "settlement_failed"))


def test_settle_all_now_needs_the_pin_above_the_threshold(db, runner, clock, shop, asha):
    pay(db, clock, asha, "chai-point", 300_00, "pay-key-0000000006")
    account = account_of(db, shop)

    def settle_all(key, pin=None, **changes):
        with db() as session, session.begin():
            return services(session, clock, **changes).auto_settlements.settle_all(
                session.get(Merchant, shop), str(account), key, pin).public_id

    first = settle_all("settle-all-key-00001")  # ₹300: below the threshold, no PIN
    assert settle_all("settle-all-key-00001") == first  # the same form again
    with pytest.raises(NothingToSettle):
        settle_all("settle-all-key-00002")
    pay(db, clock, asha, "chai-point", 30_000_00, "pay-key-0000000007")
    before = state(db)
    with pytest.raises(WrongPin):
        settle_all("settle-all-key-00003", "0000")
    assert state(db) == before
    settle_all("settle-all-key-00004", SHOP_PIN)
    assert [s.trigger for s in settlements_of(db, shop)] == ["settle_all", "settle_all"]
    assert balance_of(db, shop).available_paise == 0


def test_t_plus_1_settles_what_came_in_before_the_day(db, runner, clock, shop, asha):
    set_schedule(db, clock, shop, "t_plus_1")
    pay(db, clock, asha, "chai-point", 1_000_00, "pay-key-0000000008")  # Tue 08:05
    clock.advance(days=1, hours=-1)  # Wed 07:05
    pay(db, clock, asha, "chai-point", 400_00, "pay-key-0000000009")  # today's: next time
    clock.advance(hours=3)  # Wed 10:05: T+1 runs at 10:00 (Tue's 10:00 had nothing before)
    steps = sweep(runner, clock)
    [made] = [s.settlement for s in steps if s.settlement is not None]
    assert made.amount_paise == 1_000_00
    assert made.period_end == dt.datetime(2026, 12, 16, 0, 0, tzinfo=IST)
    assert balance_of(db, shop).available_paise == 400_00
