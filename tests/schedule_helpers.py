"""Scheduled payments in tests: a clock the test moves, the workers' sweep
(wallet.services.Background) on it, and a schedule made through the domain."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from wallet.core.models import Notification, User
from wallet.identity.pan_vault import PanKeys
from wallet.money.models import PaymentSchedule, ScheduleRun
from wallet.money.schedule_quotes import read_schedule
from wallet.services import Background, Services
from wallet.settings import WalletSettings

from .conftest import TEST_PAN_SETTINGS
from .wallet_helpers import PIN, TEST_BANKS, TEST_PIN_POLICY


class Clock:
    """Now, as the test says: ``clock.now``; ``clock.advance(hours=6)``."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def settings(**schedule) -> WalletSettings:
    """The test apps' settings, with scheduled payments' settings changed."""
    base = WalletSettings(raw={}, banks=TEST_BANKS, bcrypt_rounds=4,
                          pin_keys=TEST_PIN_POLICY.keys,
                          pan_keys=PanKeys.from_settings(TEST_PAN_SETTINGS))
    return dataclasses.replace(base, **schedule)


def services(session, clock, **schedule) -> Services:
    return Services(session, settings(**schedule), clock=clock)


def background(runner, clock, **schedule) -> Background:
    return Background(runner, settings(**schedule), clock=clock)


def make_schedule(db, clock, payer_id: int, *, key: str = "schedule-key-00000001",
                  pin: str = PIN, **details) -> str:
    """A schedule of ``payer_id``'s, approved with the PIN: its public id."""
    details.setdefault("to_phone", None)
    details.setdefault("merchant_handle", None)
    with db() as session, session.begin():
        schedules = services(session, clock).payment_schedules
        payer = session.get(User, payer_id)
        new = read_schedule(schedules, **details)
        return schedules.create(payer, new, key, pin=pin).public_id


def runs_of(db, public_id: str) -> list[tuple[int, str, dt.date]]:
    """(number, status, date) of each run, in order."""
    with db() as session:
        return [(r.run_number, r.status, r.due_date) for r in session.scalars(
            select(ScheduleRun).join(PaymentSchedule,
                                     PaymentSchedule.id == ScheduleRun.schedule_id)
            .where(PaymentSchedule.public_id == public_id).order_by(ScheduleRun.run_number))]


def schedule_status(db, public_id: str) -> str:
    with db() as session:
        return session.scalar(select(PaymentSchedule.status).where(
            PaymentSchedule.public_id == public_id))


def notices(db, user_id: int, kind: str | None = None) -> list[Notification]:
    with db() as session:
        stmt = select(Notification).where(Notification.user_id == user_id)
        if kind is not None:
            stmt = stmt.where(Notification.kind == kind)
        found = list(session.scalars(stmt.order_by(Notification.id)))
        session.expunge_all()
        return found
