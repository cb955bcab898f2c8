"""Receive handles raced on PostgreSQL: people choose the same handle at
once. Exactly one gets it; every other is told it is taken (HandleTaken,
from the unique constraint inside its savepoint) and keeps no handle; their
transactions commit cleanly."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from wallet.core.models import User
from wallet.db import WalletSession, get_engine
from wallet.identity.errors import HandleTaken
from wallet.identity.handles import Handles

from ..wallet_helpers import make_user
from .test_payment_deadlocks import race, tagged

pytestmark = pytest.mark.postgres

PEOPLE = 6
ROUNDS = 4


def test_one_person_gets_a_handle_however_many_race(db, web_settings):
    people = [make_user(db, f"+9198000001{i:02d}", f"Person {i}") for i in range(PEOPLE * ROUNDS)]
    engine = get_engine({"sqlalchemy.url": tagged(web_settings["sqlalchemy.url"]),
                         "sqlalchemy.pool_size": str(PEOPLE + 2)})
    lock = threading.Lock()
    try:
        for round_ in range(ROUNDS):
            outcomes: list[str] = []
            handle = f"popular-{round_}"

            def choose(user_id: int, handle: str = handle, outcomes: list[str] = outcomes
                       ) -> None:
                try:
                    with WalletSession(engine) as session, session.begin():
                        Handles(session).choose(session.get(User, user_id), handle)
                        # (the refused ones still commit: nothing else is lost)
                    outcome = "chosen"
                except HandleTaken:
                    outcome = "taken"
                except BaseException as exc:  # noqa: BLE001 (counted, then asserted)
                    outcome = f"error: {exc!r}"
                with lock:
                    outcomes.append(outcome)

            lane = people[round_ * PEOPLE:(round_ + 1) * PEOPLE]
            race(*(lambda user_id=user_id: choose(user_id) for user_id in lane))
            assert sorted(outcomes) == ["chosen"] + ["taken"] * (PEOPLE - 1)
            with db() as session:
                holders = session.scalars(select(User.id).where(User.handle == handle)).all()
            assert len(holders) == 1 and holders[0] in lane
    finally:
        engine.dispose()
