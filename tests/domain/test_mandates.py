"""AutoPay mandates in the domain: approval with the PIN, debits within the
mandate only (maximum, dates, one per period, active, not frozen), the
pre-debit notice, pause and revoke effective at once, the PIN cap, the
shop's events. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from wallet.core.codes import DebitStatus, MandateStatus
from wallet.core.errors import WalletError
from wallet.core.models import Merchant, Notification, Transaction, User
from wallet.identity.errors import PinRefused
from wallet.merchants.errors import (
    DebitNotOpen,
    MandateAmountExceeded,
    MandateNotActive,
    MandateNotFound,
    MandateOutsideDates,
    MandatePeriodUsed,
)
from wallet.merchants.models import Mandate, MandateDebit
from wallet.money.errors import WalletFrozen
from wallet.money.freeze import freeze

from ..mandate_helpers import (
    Clock,
    approved_mandate,
    create_mandate,
    event_types,
    make_shop,
    new_mandate,
    services,
)
from ..wallet_helpers import PIN, balance, make_user, state

DAY = 24 * 3600


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def shop(db):
    return make_shop(db)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def present(db, clock, shop_id, mandate_id, amount_paise=499_00):
    with db() as session, session.begin():
        return services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop_id), mandate_id, amount_paise).public_id


def execute_due(db, clock) -> list[str]:
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        return [debit.status for debit_id in debits.due()
                if (debit := debits.execute(debit_id)) is not None]


def debit_row(db, public_id) -> MandateDebit:
    with db() as session:
        return session.scalar(select(MandateDebit).where(MandateDebit.public_id == public_id))


def mandate_row(db, public_id) -> Mandate:
    with db() as session:
        return session.scalar(select(Mandate).where(Mandate.public_id == public_id))


def change(db, clock, user_id, public_id, what):
    with db() as session, session.begin():
        return getattr(services(session, clock).mandates, what)(
            session.get_one(User, user_id), public_id).status


# ----------------------------------------------------------------- approval


def test_approved_with_the_pin_then_a_debit_after_the_notice(db, clock, shop, asha):
    public_id = create_mandate(db, clock, shop)
    assert mandate_row(db, public_id).status == MandateStatus.CREATED
    with db() as session, session.begin():
        with pytest.raises(PinRefused):
            services(session, clock).mandates.approve(session.get_one(User, asha), public_id,
                                                      pin="9753")
    assert mandate_row(db, public_id).status == MandateStatus.CREATED
    with db() as session, session.begin():
        services(session, clock).mandates.approve(session.get_one(User, asha), public_id,
                                                  pin=PIN)
    row = mandate_row(db, public_id)
    assert row.status == MandateStatus.ACTIVE and row.customer_user_id == asha

    debit_id = present(db, clock, shop, public_id, 499_00)
    with db() as session:  # the customer is told at once
        notice = session.scalar(select(Notification).where(Notification.user_id == asha)
                                .order_by(Notification.id.desc()))
        assert notice.kind == "mandate_debit_notice" and "₹499.00" in notice.text
    assert debit_row(db, debit_id).status == DebitStatus.SCHEDULED
    clock.advance(seconds=DAY - 1)
    assert execute_due(db, clock) == []  # not before the notice period
    assert balance(db, asha) == (1_000_00, 0)
    clock.advance(seconds=1)
    assert execute_due(db, clock) == [DebitStatus.SUCCEEDED]
    assert execute_due(db, clock) == []  # once
    assert balance(db, asha) == (501_00, 0)
    debit = debit_row(db, debit_id)
    assert debit.status == DebitStatus.SUCCEEDED and debit.transaction_id is not None
    with db() as session:
        tx = session.get(Transaction, debit.transaction_id)
        assert tx.kind == "payment" and tx.note == "AutoPay: Streamflix monthly plan"
        assert tx.idempotency_key == f"mandate_debit:{debit.id}"
    assert event_types(db, shop) == ["mandate.approved", "mandate.debit.succeeded"]
    with db() as session:  # the payment has the ledger entry its record says
        from wallet.operations.bank_calls import verify_all

        result = verify_all(session)
        assert result.ok, (result.ledger, result.records)


def test_a_second_approval_by_another_customer_is_refused(db, clock, shop, asha):
    ravi = make_user(db, "+919812345678", "Ravi")
    public_id = approved_mandate(db, clock, shop, asha)
    with db() as session, session.begin():
        again = services(session, clock).mandates.approve(session.get_one(User, asha),
                                                          public_id, pin=PIN)
        assert again.status == MandateStatus.ACTIVE
        with pytest.raises(MandateNotActive):
            services(session, clock).mandates.approve(session.get_one(User, ravi), public_id,
                                                      pin=PIN)
    assert mandate_row(db, public_id).customer_user_id == asha


# ----------------------------------------------------- debits refused, nothing written


def refused(db, clock, shop_id, mandate_id, amount_paise, error):
    before = state(db), _debits(db)
    with db() as session, session.begin():
        with pytest.raises(error):
            services(session, clock).mandate_debits.present(
                session.get_one(Merchant, shop_id), mandate_id, amount_paise)
    assert (state(db), _debits(db)) == before


def _debits(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(MandateDebit))


def test_above_the_maximum(db, clock, shop, asha):
    public_id = approved_mandate(db, clock, shop, asha)
    refused(db, clock, shop, public_id, 499_01, MandateAmountExceeded)


@pytest.mark.parametrize("amount", [0, -100, 10.5, True, "100"])
def test_bad_amounts(db, clock, shop, asha, amount):
    public_id = approved_mandate(db, clock, shop, asha)
    refused(db, clock, shop, public_id, amount, WalletError)


def test_before_the_start_and_after_the_end(db, clock, shop, asha):
    later = approved_mandate(db, clock, shop, asha, start_in_days=3)
    refused(db, clock, shop, later, 100_00, MandateOutsideDates)
    short = approved_mandate(db, clock, shop, asha, days=0)  # today only: ends before the notice
    refused(db, clock, shop, short, 100_00, MandateOutsideDates)
    ended = approved_mandate(db, clock, shop, asha, days=40)
    clock.advance(days=45)
    refused(db, clock, shop, ended, 100_00, MandateOutsideDates)


def test_one_per_period(db, clock, shop, asha):
    monthly = approved_mandate(db, clock, shop, asha)
    present(db, clock, shop, monthly, 100_00)
    refused(db, clock, shop, monthly, 100_00, MandatePeriodUsed)
    clock.advance(days=32)  # the next month
    present(db, clock, shop, monthly, 100_00)
    as_presented = approved_mandate(db, clock, shop, asha, frequency="as_presented")
    present(db, clock, shop, as_presented, 100_00)
    present(db, clock, shop, as_presented, 100_00)


def test_not_approved_paused_revoked_or_frozen(db, clock, shop, asha):
    created = create_mandate(db, clock, shop)
    refused(db, clock, shop, created, 100_00, MandateNotActive)
    paused = approved_mandate(db, clock, shop, asha)
    change(db, clock, asha, paused, "pause")
    refused(db, clock, shop, paused, 100_00, MandateNotActive)
    assert change(db, clock, asha, paused, "resume") == MandateStatus.ACTIVE
    revoked = approved_mandate(db, clock, shop, asha)
    change(db, clock, asha, revoked, "revoke")
    refused(db, clock, shop, revoked, 100_00, MandateNotActive)
    with pytest.raises(MandateNotActive):
        change(db, clock, asha, revoked, "resume")
    with db() as session, session.begin():
        freeze(session.get_one(User, asha), "under review", clock.now)
    refused(db, clock, shop, paused, 100_00, WalletFrozen)


def test_another_shops_or_an_unknown_mandate(db, clock, shop, asha):
    public_id = approved_mandate(db, clock, shop, asha)
    other = make_shop(db, "othershop")
    refused(db, clock, other, public_id, 100_00, MandateNotFound)
    refused(db, clock, shop, "md_nosuchmandate", 100_00, MandateNotFound)
    with db() as session:
        with pytest.raises(MandateNotFound):
            services(session, clock).mandates.of_merchant(session.get_one(Merchant, other),
                                                          public_id)
    ravi = make_user(db, "+919812345678", "Ravi")
    with pytest.raises(MandateNotFound):  # a customer's list is theirs
        change(db, clock, ravi, public_id, "revoke")


@pytest.mark.parametrize("field, kwargs", [
    ("max_amount_paise", {"max_amount_paise": 0}),
    ("max_amount_paise", {"max_amount_paise": -5}),
    ("max_amount_paise", {"max_amount_paise": 12.5}),
    ("max_amount_paise", {"max_amount_paise": 10 ** 13}),
    ("frequency", {"frequency": "hourly"}),
    ("start_date", {"start_in_days": -1}),
    ("end_date", {"days": -1}),
    ("end_date", {"days": 5000}),
    ("description", {"description": ""}),
    ("description", {"description": "x" * 141}),
    ("description", {"description": "bad\u202etext"}),
])
def test_bad_mandates_are_refused(db, clock, shop, field, kwargs):
    with db() as session, session.begin():
        with pytest.raises(WalletError) as refusal:
            services(session, clock).mandates.create(session.get_one(Merchant, shop),
                                                     new_mandate(clock, **kwargs))
        assert refusal.value.field == field
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Mandate)) == 0


# ------------------------------------------------- pause and revoke: at once


def test_revoked_between_the_notice_and_the_debit(db, clock, shop, asha):
    public_id = approved_mandate(db, clock, shop, asha)
    debit_id = present(db, clock, shop, public_id, 499_00)
    clock.advance(hours=2)
    change(db, clock, asha, public_id, "revoke")
    assert debit_row(db, debit_id).status == DebitStatus.CANCELLED
    assert debit_row(db, debit_id).failure_code == "mandate_revoked"
    clock.advance(days=2)
    assert execute_due(db, clock) == []
    assert balance(db, asha) == (1_000_00, 0)
    assert event_types(db, shop) == ["mandate.approved", "mandate.debit.failed",
                                     "mandate.revoked"]


def test_paused_then_resumed_the_cancelled_debit_stays_cancelled(db, clock, shop, asha):
    public_id = approved_mandate(db, clock, shop, asha, frequency="as_presented")
    debit_id = present(db, clock, shop, public_id, 100_00)
    change(db, clock, asha, public_id, "pause")
    change(db, clock, asha, public_id, "resume")
    clock.advance(days=2)
    assert execute_due(db, clock) == []
    assert debit_row(db, debit_id).status == DebitStatus.CANCELLED
    assert event_types(db, shop) == ["mandate.approved", "mandate.debit.failed",
                                     "mandate.paused", "mandate.resumed"]


def test_execution_checks_the_mandate_again(db, clock, shop, asha):
    """A debit still scheduled under a mandate no longer active (a pause that
    did not reach it) is cancelled by its execution, not paid."""
    public_id = approved_mandate(db, clock, shop, asha)
    debit_id = present(db, clock, shop, public_id, 100_00)
    with db() as session, session.begin():
        session.scalar(select(Mandate).where(Mandate.public_id == public_id)).status = "paused"
    clock.advance(days=2)
    assert execute_due(db, clock) == [DebitStatus.CANCELLED]
    assert balance(db, asha) == (1_000_00, 0)
    assert debit_row(db, debit_id).failure_code == "mandate_paused"


def test_a_frozen_wallet_or_too_little_money_fails_the_debit(db, clock, shop, asha):
    public_id = approved_mandate(db, clock, shop, asha, max_amount_paise=2_000_00,
                                 frequency="as_presented")
    short = present(db, clock, shop, public_id, 1_500_00)
    frozen = present(db, clock, shop, public_id, 100_00)
    clock.advance(days=1, seconds=1)
    with db() as session, session.begin():
        freeze(session.get_one(User, asha), "under review", clock.now)
    execute_due(db, clock)
    assert debit_row(db, short).failure_code in ("insufficient_funds", "wallet_frozen")
    assert debit_row(db, frozen).failure_code == "wallet_frozen"
    assert balance(db, asha) == (1_000_00, 0)
    assert event_types(db, shop).count("mandate.debit.failed") == 2


# ------------------------------------------------------------- the PIN cap


def test_above_the_cap_the_customer_approves_with_the_pin(db, clock, shop):
    rich = make_user(db, "+919876543210", "Asha", deposit_paise=50_000_00)
    public_id = approved_mandate(db, clock, shop, rich, max_amount_paise=20_000_00)
    debit_id = present(db, clock, shop, public_id, 16_000_00)
    clock.advance(days=1)
    assert execute_due(db, clock) == [DebitStatus.AWAITING_PIN]
    assert balance(db, rich) == (50_000_00, 0)
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        [(waiting, _, merchant)] = debits.awaiting(session.get_one(User, rich))
        assert waiting.public_id == debit_id and merchant.id == shop
        with pytest.raises(PinRefused):
            debits.approve(session.get_one(User, rich), debit_id, pin="9753")
    assert debit_row(db, debit_id).status == DebitStatus.AWAITING_PIN
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        assert debits.approve(session.get_one(User, rich), debit_id,
                              pin=PIN).status == DebitStatus.SUCCEEDED
    assert balance(db, rich) == (34_000_00, 0)
    with db() as session, session.begin():
        with pytest.raises(DebitNotOpen):
            services(session, clock).mandate_debits.decline(session.get_one(User, rich),
                                                            debit_id)


def test_awaiting_pin_then_revoked_never_executes(db, clock, shop):
    rich = make_user(db, "+919876543210", "Asha", deposit_paise=50_000_00)
    public_id = approved_mandate(db, clock, shop, rich, max_amount_paise=20_000_00)
    debit_id = present(db, clock, shop, public_id, 16_000_00)
    clock.advance(days=1)
    execute_due(db, clock)
    change(db, clock, rich, public_id, "revoke")
    assert debit_row(db, debit_id).status == DebitStatus.CANCELLED
    with db() as session, session.begin():
        with pytest.raises(DebitNotOpen):
            services(session, clock).mandate_debits.approve(session.get_one(User, rich),
                                                            debit_id, pin=PIN)
    assert balance(db, rich) == (50_000_00, 0)


def test_the_worker_executes_due_debits(runner, db, clock, shop, asha):
    from wallet.services import Background

    from ..wallet_helpers import services_for_tests

    public_id = approved_mandate(db, clock, shop, asha)
    present(db, clock, shop, public_id, 250_00)
    settings = services_for_tests(None).settings
    background = Background(runner, settings, clock=clock)
    assert background.execute_due_mandate_debits() == []
    clock.advance(days=1)
    assert len(background.execute_due_mandate_debits()) == 1
    assert background.execute_due_mandate_debits() == []
    assert balance(db, asha) == (750_00, 0)
