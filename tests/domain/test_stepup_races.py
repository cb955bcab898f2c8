"""Step-up and limits under real concurrency (PostgreSQL): parallel PIN
guesses are counted one after the other (at most 5 compared, then locked),
and parallel credits to one wallet never take it past its cap."""
from __future__ import annotations

import threading

import pytest

from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.identity import pins
from wallet.identity.errors import PinLocked, WrongPin
from wallet.identity.pins import Pins
from wallet.money.errors import DepositLimit, RecipientLimit

from ..wallet_helpers import (
    PIN,
    TEST_BANKS,
    TEST_PIN_POLICY,
    balance,
    deposit_service,
    make_user,
    pins_service,
    transfers_service,
)
from .test_wallet_races import run_together

pytestmark = pytest.mark.postgres


def committed(db, fn):
    """``fn(session)`` in a transaction that commits even when it refuses (as
    a page showing the error, or the API's problem answer, does)."""
    with db() as session, session.begin():
        try:
            return fn(session)
        except WalletError as exc:
            return exc


def test_concurrent_pin_guesses_are_counted_and_at_most_five_compared(db, monkeypatch):
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    compared = []
    lock = threading.Lock()
    real = pins.verify_pin

    def counting(pin, stored, keys):
        with lock:
            compared.append(pin)
        return real(pin, stored, keys)

    monkeypatch.setattr(pins, "verify_pin", counting)
    results = run_together(12, lambda i: committed(db, lambda session: pins_service(
        session).approve(session.get(User, asha), f"{i:04d}")))
    assert all(isinstance(r, (WrongPin, PinLocked)) for r in results), results
    assert len(compared) <= 5
    assert sum(isinstance(r, WrongPin) for r in results) == 4
    # Locked now: even the right PIN is refused, and nothing is compared.
    compared.clear()
    assert isinstance(committed(db, lambda session: Pins(session, policy=TEST_PIN_POLICY).approve(
        session.get(User, asha), PIN)), PinLocked)
    assert compared == []


def test_concurrent_transfers_never_push_a_wallet_past_its_cap(db):
    meera = make_user(db, "+919988776655", "Meera", deposit_paise=1_000_00, full_kyc=False)
    senders = [make_user(db, f"+91900000000{i}", f"Sender {i}", deposit_paise=5_000_00)
               for i in range(8)]

    def send(i):
        return committed(db, lambda session: transfers_service(session).send_money(
            session.get(User, senders[i]), "9988776655", 3_000_00, f"form-key-{i:012d}",
            pin=PIN).id)

    results = run_together(8, send)
    assert sum(isinstance(r, int) for r in results) == 3, results
    assert sum(isinstance(r, RecipientLimit) for r in results) == 5
    assert balance(db, meera) == (10_000_00, 0)  # at the ₹10,000 cap, never past it


def test_concurrent_deposits_never_reserve_past_the_cap(db):
    meera = make_user(db, "+919988776655", "Meera", full_kyc=False)

    def start(i):
        return committed(db, lambda session: deposit_service(session, TEST_BANKS).start(
            session.get(User, meera), "hdfc", 4_000_00, f"deposit-key-{i:010d}").id)

    results = run_together(6, start)
    assert sum(isinstance(r, int) for r in results) == 2, results
    assert sum(isinstance(r, DepositLimit) for r in results) == 4
