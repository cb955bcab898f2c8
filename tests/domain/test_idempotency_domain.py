"""The domain's replay-or-run facility (wallet.core.idempotency:
IdempotencyKeys.run_once), without the API: a repeat replays what was stored,
a key reused with another request is refused, a refusal is not stored, and a
twin that committed first makes the run raise ReplayInstead, so that its
movement never commits (PostgreSQL: two at once, one movement)."""
from __future__ import annotations

import threading
import time

import pytest

import ledgerlib
from wallet.core.errors import IdempotencyKeyReused, WalletError
from wallet.core.idempotency import (
    Found,
    IdempotencyKeys,
    KeyedRequest,
    KeyOwner,
    ReplayInstead,
    StoredResponse,
    fingerprint,
)
from wallet.core.models import IdempotencyRecord

from ..wallet_helpers import balance, count, make_user

KEY = "k" * 24


@pytest.fixture
def people(db):
    return (make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00),
            make_user(db, "+919812345678", "Ravi"))


def keyed(owner: int, body: dict) -> KeyedRequest:
    return KeyedRequest(KeyOwner.user(owner), KEY, fingerprint("POST", "/v1/transfers", body))


def mover(session, people, runs: list[str]):
    """An operation that moves ₹10 from Asha to Ravi under a ledger key of its
    own each run: only the facility keeps it from moving twice."""
    asha, ravi = people

    def run() -> StoredResponse:
        runs.append("ran")
        entry = ledgerlib.Ledger(session).transfer(
            f"user:{asha}:wallet", f"user:{ravi}:wallet", 10_00,
            idempotency_key=f"test-move-{len(runs)}-{time.monotonic_ns()}")
        return StoredResponse(201, {"entry": entry.id})
    return run


def run_once(db, people, runs, body, **kwargs):
    with db() as session, session.begin():
        return IdempotencyKeys(session).run_once(keyed(people[0], body),
                                                 mover(session, people, runs), **kwargs)


@pytest.mark.parametrize("look_first", [True, False])
def test_a_repeat_replays_the_stored_answer_and_moves_nothing(db, people, look_first):
    runs: list[str] = []
    first = run_once(db, people, runs, {"amount_paise": 1000})
    assert not first.replayed and first.response.status == 201
    if look_first:
        again = run_once(db, people, runs, {"amount_paise": 1000}, look_first=True)
        assert again.replayed and again.response == first.response and runs == ["ran"]
    else:  # not looked up first: it runs, finds the key taken, and its run rolls back
        with pytest.raises(ReplayInstead) as twin:
            run_once(db, people, runs, {"amount_paise": 1000})
        assert twin.value.response == first.response and runs == ["ran", "ran"]
    assert balance(db, people[0])[0] == 990_00 and balance(db, people[1])[0] == 10_00
    assert count(db, IdempotencyRecord) == 1


def test_a_record_read_already_is_answered_without_a_query(db, people):
    runs: list[str] = []
    run_once(db, people, runs, {"amount_paise": 1000})
    with db() as session:
        record = session.query(IdempotencyRecord).one()
    again = run_once(db, people, runs, {"amount_paise": 1000}, look_first=Found(record))
    assert again.replayed and runs == ["ran"]


@pytest.mark.parametrize("look_first", [True, False])
def test_a_key_reused_for_another_request_is_refused(db, people, look_first):
    runs: list[str] = []
    run_once(db, people, runs, {"amount_paise": 1000})
    with pytest.raises(IdempotencyKeyReused):
        run_once(db, people, runs, {"amount_paise": 2000}, look_first=look_first)
    assert balance(db, people[1])[0] == 10_00 and count(db, IdempotencyRecord) == 1


def test_a_refusal_is_not_stored_and_the_key_runs_again(db, people):
    def refuse() -> StoredResponse:
        raise WalletError("Not now.")

    with db() as session, session.begin(), pytest.raises(WalletError):
        IdempotencyKeys(session).run_once(keyed(people[0], {"amount_paise": 1000}), refuse)
    assert count(db, IdempotencyRecord) == 0
    assert not run_once(db, people, [], {"amount_paise": 1000}, look_first=Found(None)).replayed
    assert count(db, IdempotencyRecord) == 1


@pytest.mark.postgres
def test_two_runs_at_once_with_one_key_move_money_once(db, people):
    """A runs and stores but has not committed; B runs meanwhile (waiting on
    A's locks); A commits; B finds the key taken: ReplayInstead, its movement
    rolled back."""
    runs: list[str] = []
    stored, go_on = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        with db() as session, session.begin():
            outcomes["a"] = IdempotencyKeys(session).run_once(
                keyed(people[0], {"amount_paise": 1000}), mover(session, people, runs))
            stored.set()
            assert go_on.wait(10)

    def twin() -> None:
        try:
            run_once(db, people, runs, {"amount_paise": 1000})
        except ReplayInstead as exc:
            outcomes["b"] = exc.response

    a = threading.Thread(target=first)
    a.start()
    assert stored.wait(10)
    b = threading.Thread(target=twin)
    b.start()
    time.sleep(0.3)  # B runs into A's locks
    go_on.set()
    a.join(10)
    b.join(10)
    assert outcomes["b"] == outcomes["a"].response  # type: ignore[union-attr]
    assert balance(db, people[0])[0] == 990_00 and balance(db, people[1])[0] == 10_00
    assert count(db, IdempotencyRecord) == 1
