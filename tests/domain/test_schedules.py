"""Scheduled and recurring payments (wallet.money.schedules) through the
domain and the workers' sweep, on a clock the test moves."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from wallet.core.codes import RunStatus, ScheduleStatus
from wallet.core.errors import WalletError
from wallet.core.models import Notification, Transaction, User
from wallet.core.notifications import Notice
from wallet.identity.accounts import AccountService
from wallet.identity.errors import WrongPin
from wallet.money.errors import (
    RecipientNotFound,
    ScheduleNotChangeable,
    ScheduleNotFound,
    SelfTransfer,
)
from wallet.money.freeze import freeze, unfreeze
from wallet.money.models import PaymentSchedule, ScheduleRun
from wallet.money.schedule_quotes import read_schedule

from ..schedule_helpers import (
    Clock,
    background,
    make_schedule,
    notices,
    runs_of,
    schedule_status,
    services,
)
from ..wallet_helpers import PASSWORD, PIN, balance, count, make_user, state

ASHA, RAVI = "+919876543210", "+919812345678"
UTC = dt.timezone.utc
#: 09:00 in India on 1 Jan 2027 (a run's time of day): sweeps every 6 hours from here
#: fall on each run's notice time and due time.
START = dt.datetime(2027, 1, 1, 3, 30, tzinfo=UTC)


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def asha(db):
    return make_user(db, ASHA, "Asha", deposit_paise=50_000_00)


@pytest.fixture
def ravi(db):
    return make_user(db, RAVI, "Ravi")


def act(db, clock, what, payer_id, *args, **kwargs):
    with db() as session, session.begin():
        schedules = services(session, clock).payment_schedules
        return getattr(schedules, what)(session.get(User, payer_id), *args, **kwargs)


def debits(db, user_id):
    """The scheduled payments out of ``user_id``'s wallet: (when, amount)."""
    with db() as session:
        return [(tx.created_at, tx.amount_paise) for tx in session.scalars(
            select(Transaction).where(Transaction.payer_user_id == user_id,
                                      Transaction.note.like("Scheduled payment%"))
            .order_by(Transaction.id))]


def test_a_year_of_monthly_runs(db, runner, clock, asha, ravi):
    """Three monthly schedules on the 31st over a simulated year, swept every 6
    hours: one runs 12 times, one skips its March run (11 payments of 12), one
    is cancelled in June; each notice comes 24 h before its debit."""
    monthly = dict(to_phone="98123 45678", amount="100", frequency="monthly",
                   start_date="2027-01-31")
    whole_year = make_schedule(db, clock, asha, key="schedule-key-year-0001", **monthly)
    counted = make_schedule(db, clock, asha, key="schedule-key-count-001", count=12,
                            **{**monthly, "amount": "200"})
    cancelled = make_schedule(db, clock, asha, key="schedule-key-cancel-01",
                              **{**monthly, "amount": "300"})
    sweep = background(runner, clock)
    while clock.now < dt.datetime(2028, 1, 2, tzinfo=UTC):
        sweep.sweep_schedules()
        if clock.now == dt.datetime(2027, 3, 1, 3, 30, tzinfo=UTC):
            act(db, clock, "skip_next", asha, counted)
        if clock.now == dt.datetime(2027, 6, 15, 3, 30, tzinfo=UTC):
            act(db, clock, "cancel", asha, cancelled)
        clock.advance(hours=6)
    paid = debits(db, asha)
    assert [amount for _, amount in paid].count(100_00) == 12
    assert [amount for _, amount in paid].count(200_00) == 11
    assert [amount for _, amount in paid].count(300_00) == 5  # Jan to May
    days = [r[2] for r in runs_of(db, whole_year)]
    assert [d.day for d in days] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31]
    assert runs_of(db, whole_year)[12][1:] == (RunStatus.SCHEDULED, dt.date(2028, 1, 31))
    assert [r[1] for r in runs_of(db, whole_year)][:12] == [RunStatus.COMPLETED] * 12
    assert [r[1] for r in runs_of(db, counted)][2] == RunStatus.SKIPPED
    assert schedule_status(db, counted) == ScheduleStatus.COMPLETED
    assert schedule_status(db, cancelled) == ScheduleStatus.CANCELLED
    assert runs_of(db, cancelled)[-1][1] == RunStatus.CANCELLED
    assert balance(db, ravi)[0] == 12 * 100_00 + 11 * 200_00 + 5 * 300_00
    due = notices(db, asha, Notice.SCHEDULED_PAYMENT_DUE)
    assert len(due) == 12 + 11 + 5  # the March run was skipped before its notice
    for when, amount in paid:  # each debit's notice at least 24 h before it
        text = f"₹{amount // 100:,}.00"
        assert any(text in n.text and n.created_at <= when - dt.timedelta(hours=24)
                   for n in due), (when, amount)


def test_a_run_is_paid_once_whatever_runs_it_again(db, runner, clock, asha, ravi):
    public_id = make_schedule(db, clock, asha, to_phone="98123 45678", amount="150",
                              frequency="once", start_date="2027-01-01")
    sweep = background(runner, clock)
    assert sweep.sweep_schedules() == (0, 1)  # noticed at creation: sooner than 24 h
    assert sweep.sweep_schedules() == (0, 0)
    # A failover that lost the run's status but not the payment: paid again, by its key.
    with db() as session, session.begin():
        run = session.scalar(select(ScheduleRun))
        first_tx = run.transaction_id
        run.status, run.transaction_id = RunStatus.SCHEDULED, None
        session.get(PaymentSchedule, run.schedule_id).status = ScheduleStatus.ACTIVE
    assert sweep.sweep_schedules() == (0, 1)
    assert balance(db, ravi)[0] == 150_00 and count(db, Transaction) == 2  # a deposit, one payment
    with db() as session:
        assert session.scalar(select(ScheduleRun.transaction_id)) == first_tx
    assert schedule_status(db, public_id) == ScheduleStatus.COMPLETED


def test_no_money_then_a_retry(db, runner, clock, ravi):
    poor = make_user(db, "+919800000001", "Poor", deposit_paise=50_00)
    make_schedule(db, clock, poor, to_phone="98123 45678", amount="100", frequency="once",
                  start_date="2027-01-02")
    sweep = background(runner, clock)
    clock.advance(hours=24)
    assert sweep.sweep_schedules() == (0, 1)
    (run,) = runs_of(db, _only_schedule(db))
    assert run[1] == RunStatus.RETRYING
    failed = notices(db, poor, Notice.SCHEDULED_PAYMENT_FAILED)
    assert len(failed) == 1 and "try once more" in failed[0].text
    clock.advance(hours=5)
    assert sweep.sweep_schedules() == (0, 0)  # not yet
    clock.advance(hours=1)
    assert sweep.sweep_schedules() == (0, 1)
    assert runs_of(db, _only_schedule(db))[0][1] == RunStatus.FAILED
    assert len(notices(db, poor, Notice.SCHEDULED_PAYMENT_FAILED)) == 2
    assert balance(db, ravi)[0] == 0 and balance(db, poor)[0] == 50_00
    assert schedule_status(db, _only_schedule(db)) == ScheduleStatus.COMPLETED


def test_a_frozen_wallet_fails_and_its_retry_pays_once_unfrozen(db, runner, clock, asha, ravi):
    make_schedule(db, clock, asha, to_phone="98123 45678", amount="100", frequency="once",
                  start_date="2027-01-02")
    with db() as session, session.begin():
        freeze(session.get(User, asha), "checking", clock.now)
    sweep = background(runner, clock)
    clock.advance(hours=24)
    sweep.sweep_schedules()
    assert runs_of(db, _only_schedule(db))[0][1] == RunStatus.RETRYING
    assert "frozen" in notices(db, asha, Notice.SCHEDULED_PAYMENT_FAILED)[0].text
    with db() as session, session.begin():
        unfreeze(session.get(User, asha))
    clock.advance(hours=6)
    sweep.sweep_schedules()
    assert runs_of(db, _only_schedule(db))[0][1] == RunStatus.COMPLETED
    assert balance(db, ravi)[0] == 100_00


def test_a_disabled_account_pays_nothing_on_its_schedule(db, runner, clock, asha, ravi):
    """An operator disabled the payer (fraud, a death): the approval given
    with the PIN before pays nothing any more (Pins.standing)."""
    make_schedule(db, clock, asha, to_phone="98123 45678", amount="100", frequency="once",
                  start_date="2027-01-02")
    with db() as session, session.begin():
        session.get(User, asha).is_active = False
    clock.advance(hours=24)
    background(runner, clock, schedule_retry=False).sweep_schedules()
    assert runs_of(db, _only_schedule(db))[0][1] == RunStatus.FAILED
    assert "disabled" in notices(db, asha, Notice.SCHEDULED_PAYMENT_FAILED)[0].text
    assert balance(db, ravi)[0] == 0


def test_without_retries_a_refused_run_fails_at_once(db, runner, clock, ravi):
    poor = make_user(db, "+919800000001", "Poor")
    make_schedule(db, clock, poor, to_phone="98123 45678", amount="100", frequency="once",
                  start_date="2027-01-02")
    clock.advance(hours=24)
    background(runner, clock, schedule_retry=False).sweep_schedules()
    assert runs_of(db, _only_schedule(db))[0][1] == RunStatus.FAILED
    assert "not be tried again" in notices(db, poor, Notice.SCHEDULED_PAYMENT_FAILED)[0].text


def test_above_the_cap_a_run_waits_for_the_pin(db, runner, clock, asha, ravi):
    public_id = make_schedule(db, clock, asha, to_phone="98123 45678", amount="6000",
                              frequency="weekly", start_date="2027-01-02", count=2)
    sweep = background(runner, clock)
    clock.advance(hours=24)
    sweep.sweep_schedules()
    assert runs_of(db, public_id)[0][1] == RunStatus.AWAITING_PIN
    assert balance(db, ravi)[0] == 0
    assert len(notices(db, asha, Notice.SCHEDULED_PAYMENT_NEEDS_PIN)) == 1
    with pytest.raises(WrongPin):
        act(db, clock, "pay_awaiting", asha, public_id, 1, pin="2468")
    assert runs_of(db, public_id)[0][1] == RunStatus.AWAITING_PIN
    tx_id = act(db, clock, "pay_awaiting", asha, public_id, 1, pin=PIN).id
    assert act(db, clock, "pay_awaiting", asha, public_id, 1, pin=PIN).id == tx_id  # a repeat
    assert runs_of(db, public_id)[0][1] == RunStatus.COMPLETED
    assert balance(db, ravi)[0] == 6000_00
    with pytest.raises(ScheduleNotChangeable):
        act(db, clock, "pay_awaiting", asha, public_id, 2, pin=PIN)  # not due yet


def test_pause_resume_skips_what_passed_while_paused(db, runner, clock, asha, ravi):
    public_id = make_schedule(db, clock, asha, to_phone="98123 45678", amount="10",
                              frequency="weekly", start_date="2027-01-05", count=4)
    act(db, clock, "pause", asha, public_id)
    sweep = background(runner, clock)
    clock.advance(days=8)  # 9 Jan: the 5 Jan run passed while paused
    assert sweep.sweep_schedules() == (0, 0)
    act(db, clock, "resume", asha, public_id)
    assert [r[1] for r in runs_of(db, public_id)] == [RunStatus.SKIPPED, RunStatus.SCHEDULED]
    clock.advance(days=4)
    sweep.sweep_schedules()
    assert [r[1] for r in runs_of(db, public_id)][:2] == [RunStatus.SKIPPED,
                                                          RunStatus.COMPLETED]
    act(db, clock, "cancel", asha, public_id)
    act(db, clock, "cancel", asha, public_id)  # again: nothing changes
    with pytest.raises(ScheduleNotChangeable):
        act(db, clock, "pause", asha, public_id)
    assert balance(db, ravi)[0] == 10_00


def test_a_shop_schedule(db, runner, clock, asha):
    with db() as session, session.begin():
        shop = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "chai-point", "Chai Point", "chai@example.com", PASSWORD).id
    public_id = make_schedule(db, clock, asha, merchant_handle="chai-point", amount="99",
                              frequency="weekly", start_date="2027-01-01", count=2,
                              note="tea")
    sweep = background(runner, clock)
    sweep.sweep_schedules()
    clock.advance(days=7)
    sweep.sweep_schedules()
    assert [r[1] for r in runs_of(db, public_id)] == [RunStatus.COMPLETED] * 2
    with db() as session:
        notes = session.scalars(select(Transaction.note).where(
            Transaction.payee_merchant_id == shop)).all()
    assert notes == ["Scheduled payment: tea"] * 2
    assert schedule_status(db, public_id) == ScheduleStatus.COMPLETED


def _only_schedule(db):
    with db() as session:
        return session.scalar(select(PaymentSchedule.public_id))


BAD = [
    (dict(amount="0"), "amount"), (dict(amount="-5"), "amount"),
    (dict(amount="1.234"), "amount"), (dict(amount=0), "amount"), (dict(amount=-100), "amount"),
    (dict(amount="abc"), "amount"),
    (dict(to_phone="98000 00000"), "phone"), (dict(to_phone="12"), "phone"),
    (dict(to_phone=None, merchant_handle="no-such-shop"), "handle"),
    (dict(to_phone=None), "phone"), (dict(merchant_handle="chai"), "phone"),
    (dict(to_phone="98765 43210"), "phone"),
    (dict(start_date="2026-12-31"), "start_date"), (dict(start_date="31/01/2027"), "start_date"),
    (dict(start_date="2028-06-01"), "start_date"), (dict(start_date=""), "start_date"),
    (dict(end_date="2027-01-30"), "end_date"), (dict(count=0), "count"),
    (dict(count="1.5"), "count"), (dict(count=500), "count"),
    (dict(count=3, end_date="2027-06-01"), "count"),
    (dict(frequency="daily"), "frequency"), (dict(frequency="once", count=2), "frequency"),
    (dict(note="x" * 101), "note"),
]


@pytest.mark.parametrize("change,field", BAD, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD)])
def test_bad_details_are_refused_and_nothing_is_written(db, clock, asha, ravi, change, field):
    details = {"to_phone": "98123 45678", "merchant_handle": None, "amount": "100",
               "frequency": "monthly", "start_date": "2027-01-31", **change}
    before = state(db), count(db, PaymentSchedule), count(db, Notification)
    with pytest.raises((WalletError, RecipientNotFound, SelfTransfer)) as refused:
        make_schedule(db, clock, asha, **details)
    assert field in refused.value.errors, refused.value.errors
    assert (state(db), count(db, PaymentSchedule), count(db, Notification)) == before


def test_wrong_pin_and_foreign_ids(db, clock, asha, ravi):
    with pytest.raises(WrongPin):
        make_schedule(db, clock, asha, to_phone="98123 45678", amount="100",
                      frequency="once", start_date="2027-01-31", pin="2468")
    assert count(db, PaymentSchedule) == 0
    public_id = make_schedule(db, clock, asha, to_phone="98123 45678", amount="100",
                              frequency="once", start_date="2027-01-31")
    for what, args in (("skip_next", ()), ("pause", ()), ("cancel", ()), ("get", ()),
                       ("pay_awaiting", (1,))):
        kwargs = {"pin": PIN} if what == "pay_awaiting" else {}
        with pytest.raises(ScheduleNotFound):
            act(db, clock, what, ravi, public_id, *args, **kwargs)
    assert schedule_status(db, public_id) == ScheduleStatus.ACTIVE


def test_the_same_key_makes_one_schedule(db, clock, asha, ravi):
    first = make_schedule(db, clock, asha, to_phone="98123 45678", amount="100",
                          frequency="once", start_date="2027-01-31")
    assert make_schedule(db, clock, asha, to_phone="98123 45678", amount="100",
                         frequency="once", start_date="2027-01-31") == first
    with pytest.raises(WalletError, match="other details"):
        make_schedule(db, clock, asha, to_phone="98123 45678", amount="101",
                      frequency="once", start_date="2027-01-31")
    make_user(db, "+919800000002", "Meera")
    with pytest.raises(WalletError, match="other details"):  # another payee
        make_schedule(db, clock, asha, to_phone="98000 00002", amount="100",
                      frequency="once", start_date="2027-01-31")
    assert count(db, PaymentSchedule) == 1


def test_read_schedule_takes_json_values(db, clock, asha):
    with db() as session:
        new = read_schedule(services(session, clock).payment_schedules, to_phone="98123 45678",
                            merchant_handle=None, amount=12_050, frequency="weekly",
                            start_date="2027-02-01", count=4)
    assert (new.amount_paise, new.count, new.start_date) == (12_050, 4, dt.date(2027, 2, 1))


def test_no_adapter_asks_for_the_standing_approval():
    """A payment without the PIN at run time stands on the schedule's approval:
    only the domain service that checks the cap (PaymentSchedules) asks for
    it, never a page, the API or a worker."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    users = sorted(str(path.relative_to(root)) for package in (
        "wallet", "webapp", "api_app", "huey_tasks", "webcommon", "wallet_cli", "admin_app")
        for path in (root / package).rglob("*.py") if ".standing(" in path.read_text())
    assert "wallet/money/schedules.py" in users
    assert [user for user in users if not user.startswith("wallet/")] == []
