"""Payee safety (wallet.money.transfer_holds): a first payment to someone new
says so and shows their verified name masked; above the threshold it is held
for the undo window: the sender may undo it (all of it back), else the sweep
lands it once at the window's end. The recipient can never spend it early.
SQLite and PostgreSQL (WALLET_TEST_DATABASE_URL)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from wallet.core.codes import Status, TransferHoldStatus
from wallet.core.models import Notification, Transaction, User
from wallet.money.errors import InsufficientBalance, RecipientLimit, TransferNotFound, UndoClosed
from wallet.money.limits import LimitPolicy
from wallet.money.models import TransferHold
from wallet.money.transfer_holds import CANCELLED_BY_SENDER, mask_name
from wallet.operations.bank_calls import verify_all

from ..schedule_helpers import Clock, background, services
from ..wallet_helpers import PIN, balance, make_user, state

ASHA, RAVI, MEERA = "+919876543210", "+919812345678", "+919900011122"
#: 08:32 UTC: 14:02 in India; the window (30 minutes) ends at 14:32 IST.
NOW = dt.datetime(2026, 12, 10, 8, 32, tzinfo=dt.timezone.utc)
WINDOW = dt.timedelta(seconds=1800)


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def people(db):
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=10_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    meera = make_user(db, MEERA, "Meera", full_kyc=False)
    return asha, ravi, meera


def send(db, clock, payer: int, phone: str, amount_paise: int, key: str, **settings):
    """A transfer as the send page makes it: (transaction id, status, first payment)."""
    with db() as session, session.begin():
        sent = services(session, clock, **settings).transfers.send(
            session.get(User, payer), phone, amount_paise, f"form-key-{key:0>10}", pin=PIN)
        return sent.transaction.id, sent.transaction.status, sent.payee


def undo(db, clock, user: int, transaction_id: int):
    with db() as session, session.begin():
        tx = services(session, clock).transfer_holds.undo(session.get(User, user),
                                                          transaction_id)
        return tx.status, tx.status_reason


def held_row(db, transaction_id: int) -> tuple[str, str, dt.datetime]:
    with db() as session:
        tx = session.get(Transaction, transaction_id)
        held = session.get(TransferHold, transaction_id)
        return tx.status, held.status, held.lands_at


def clean(db) -> None:
    with db() as session:
        result = verify_all(session)
        assert result.ledger.ok and result.records == [], (result.ledger, result.records)


def test_names_are_masked_by_initials():
    assert mask_name("Asha Kumari") == "Asha K•••••"
    assert mask_name("Ravi") == "Ravi"
    assert mask_name("  Anil  Kumar  Shah ") == "Anil K••••• S•••••"


def test_the_preview_says_first_payment_and_the_verified_name(db, clock, people):
    asha, ravi, meera = people
    with db() as session:
        transfers = services(session, clock).transfers
        user, payee, held = transfers.preview_payee(session.get(User, asha), RAVI, 2_500_00,
                                                    "form-key-0000000001")
        assert (user.id, payee.first_payment, payee.verified_name, held) == (
            ravi, True, "Ravi K•••••", True)
        _, payee, held = transfers.preview_payee(session.get(User, asha), MEERA, 100_00,
                                                 "form-key-0000000001")
        assert (payee.first_payment, payee.name_shown, held) == (True, "name not verified",
                                                                 False)
    send(db, clock, asha, MEERA, 100_00, "1")  # small: completed at once
    with db() as session:
        _, payee, held = services(session, clock).transfers.preview_payee(
            session.get(User, asha), MEERA, 5_000_00, "form-key-0000000002")
        assert (payee.first_payment, held) == (False, False)  # paid before: not first


def test_a_first_payment_above_the_threshold_is_held_and_the_recipient_cannot_spend_it(
        db, clock, people):
    asha, ravi, _ = people
    tx_id, status, payee = send(db, clock, asha, RAVI, 2_500_00, "1")
    assert status == Status.PENDING and payee.first_payment
    assert held_row(db, tx_id) == (Status.PENDING, TransferHoldStatus.PENDING, NOW + WINDOW)
    assert balance(db, asha) == (7_500_00, 2_500_00)  # available, held
    assert balance(db, ravi) == (0, 0)
    with pytest.raises(InsufficientBalance):  # Ravi tries to pass it on: it is not his yet
        send(db, clock, ravi, MEERA, 1_000_00, "2")
    # A second payment to Ravi meanwhile is no first payment: completed at once.
    assert send(db, clock, asha, RAVI, 3_000_00, "3")[1] == Status.COMPLETED
    # Exactly at the threshold: not held.
    assert send(db, clock, asha, MEERA, 2_000_00, "4")[1] == Status.COMPLETED
    clean(db)


def test_undone_within_the_window_the_sender_has_it_all_back(db, clock, people):
    asha, ravi, _ = people
    tx_id = send(db, clock, asha, RAVI, 2_500_00, "1")[0]
    clock.advance(minutes=29)
    assert undo(db, clock, asha, tx_id) == (Status.FAILED, CANCELLED_BY_SENDER)
    assert balance(db, asha) == (10_000_00, 0) and balance(db, ravi) == (0, 0)
    assert held_row(db, tx_id)[:2] == (Status.FAILED, TransferHoldStatus.CANCELLED)
    assert undo(db, clock, asha, tx_id) == (Status.FAILED, CANCELLED_BY_SENDER)  # again: same
    clock.advance(minutes=5)
    assert background(lambda fn: _run(db, fn), clock).land_due_transfers() == []
    assert balance(db, asha) == (10_000_00, 0) and balance(db, ravi) == (0, 0)
    with db() as session:
        told = {n.user_id for n in session.scalars(
            select(Notification).where(Notification.transaction_id == tx_id,
                                       Notification.kind == "transfer_cancelled"))}
    assert told == {asha, ravi}
    # Cancelled is not "paid before": the next payment to Ravi is a first one again.
    assert send(db, clock, asha, RAVI, 2_500_00, "2")[1] == Status.PENDING
    clean(db)


def test_not_undone_it_lands_once_at_the_end_of_the_window(db, clock, people):
    asha, ravi, _ = people
    tx_id = send(db, clock, asha, RAVI, 2_500_00, "1")[0]
    sweep = background(lambda fn: _run(db, fn), clock)
    clock.advance(minutes=29, seconds=59)
    assert sweep.land_due_transfers() == []  # not yet
    clock.advance(seconds=1)
    assert sweep.land_due_transfers() == [tx_id]
    assert sweep.land_due_transfers() == []  # once
    assert held_row(db, tx_id)[:2] == (Status.COMPLETED, TransferHoldStatus.LANDED)
    assert balance(db, asha) == (7_500_00, 0) and balance(db, ravi) == (2_500_00, 0)
    with db() as session:
        tx = session.get(Transaction, tx_id)
        assert tx.settled_at == NOW + WINDOW and tx.ledger_entry_id is not None
    assert send(db, clock, ravi, MEERA, 1_000_00, "2")[1] == Status.COMPLETED  # his now
    clean(db)


def test_undo_after_the_window_or_by_someone_else_is_refused_and_writes_nothing(
        db, clock, people):
    asha, ravi, meera = people
    tx_id = send(db, clock, asha, RAVI, 2_500_00, "1")[0]
    before = state(db)
    with pytest.raises(TransferNotFound):
        undo(db, clock, ravi, tx_id)  # the recipient
    with pytest.raises(TransferNotFound):
        undo(db, clock, meera, tx_id)
    with pytest.raises(TransferNotFound):
        undo(db, clock, asha, tx_id + 1000)
    clock.advance(minutes=30)  # the window is over (the sweep has not run yet)
    with pytest.raises(UndoClosed, match="can no longer be undone"):
        undo(db, clock, asha, tx_id)
    assert state(db) == before
    assert held_row(db, tx_id)[:2] == (Status.PENDING, TransferHoldStatus.PENDING)
    background(lambda fn: _run(db, fn), clock).land_due_transfers()
    with pytest.raises(UndoClosed):
        undo(db, clock, asha, tx_id)
    small = send(db, clock, asha, MEERA, 100_00, "2")[0]  # never held: nothing to undo
    with pytest.raises(TransferNotFound):
        undo(db, clock, asha, small)


def test_a_held_transfer_counts_against_the_recipients_wallet_limit(db, clock, people):
    asha, _, meera = people  # Meera: a minimum-KYC wallet (₹10,000 at most)
    with db() as session, session.begin():  # Asha pays Meera first: no more first payments
        services(session, clock).transfers.send(session.get(User, asha), MEERA, 1_00,
                                                "form-key-0000000009", pin=PIN)
    tx_id = send(db, clock, asha, "+919812345678", 2_500_00, "1")[0]
    assert held_row(db, tx_id)[0] == Status.PENDING
    ravi = make_user(db, "+919811122233", "Ravi Small", deposit_paise=9_000_00, full_kyc=False)
    # Ravi (min KYC, ₹9,000 in) is sent ₹1,000 held for the window: then nothing more fits.
    sent = send(db, clock, asha, "+919811122233", 1_000_00 - 1, "2",
                undo_above_paise=1)
    assert sent[1] == Status.PENDING
    with pytest.raises(RecipientLimit):
        send(db, clock, meera, "+919811122233", 2_00, "3")
    assert LimitPolicy().min_kyc_max_balance_paise == 10_000_00
    assert balance(db, ravi) == (9_000_00, 0)


def _run(db, fn):
    with db() as session, session.begin():
        return fn(session)
