"""Property test: random sequences of ledger operations against a simple model.

Opens, transfers, holds, commits, releases, reversals and reused idempotency
keys; afterwards every balance matches the model, money is conserved to the
paisa, no non-negative account is below zero and ``verify()`` is clean. On
PostgreSQL every transfer and hold commit that moves money must have been
posted by the one-statement fast path (the rest, and transfers from an account
to itself, fall back to the generic path).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import (
    AccountNotFound,
    AlreadyReversed,
    HoldAlreadyResolved,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidEntry,
    Ledger,
)

from ..conftest import ON_POSTGRES

# (code, kind, allow_negative); all but the last are opened up front, the
# last only by an "open" operation (so operations on a missing account occur).
ACCOUNTS = [
    ("bank", "asset", True),
    ("w0", "liability", False),
    ("w1", "liability", False),
    ("w2", "liability", False),
    ("shop", "liability", False),
    ("fees", "income", False),
]
SIGN = {code: (1 if kind == "asset" else -1) for code, kind, _ in ACCOUNTS}

account_index = st.integers(0, len(ACCOUNTS) - 1)
amount = st.integers(1, 20_000)
funding = st.tuples(
    st.just("transfer"), st.just(0), st.integers(1, 4), st.integers(1, 50_000), st.none()
)
key = st.one_of(st.none(), st.sampled_from(["k0", "k1", "k2", "k3"]))
withdrawal_hold = st.tuples(  # a wallet reserving money for a payout
    st.just("hold"), st.integers(1, 4), st.just(0), st.integers(1, 30_000), key
)
operation = st.one_of(
    funding,
    withdrawal_hold,
    st.tuples(st.just("open"), account_index),
    st.tuples(st.just("transfer"), account_index, account_index, amount, key),
    st.tuples(st.just("hold"), account_index, account_index, amount, key),
    st.tuples(st.just("commit"), st.integers(0, 30)),
    st.tuples(st.just("release"), st.integers(0, 30)),
    st.tuples(st.just("reverse"), st.integers(0, 30)),
)


@dataclass
class Model:
    opened: set[str] = field(default_factory=set)
    posted: dict[str, int] = field(default_factory=lambda: {c: 0 for c, _, _ in ACCOUNTS})
    held: dict[str, int] = field(default_factory=lambda: {c: 0 for c, _, _ in ACCOUNTS})
    entries: list[tuple[int, list[tuple[str, int]]]] = field(default_factory=list)
    reversed: set[int] = field(default_factory=set)
    entry_keys: dict[str, tuple] = field(default_factory=dict)
    holds: list[dict] = field(default_factory=list)
    hold_keys: dict[str, tuple] = field(default_factory=dict)
    # Transfers and hold commits that moved money: on PostgreSQL each one must
    # have been posted by the one-statement fast path.
    fast_posts: int = 0

    def available(self, code: str) -> int:
        return self.posted[code] - self.held[code]

    def may_go_negative(self, code: str) -> bool:
        return next(neg for c, _, neg in ACCOUNTS if c == code)

    def can_apply(self, signed: list[tuple[str, int]]) -> bool:
        change: dict[str, int] = {}
        for code, amount_paise in signed:
            change[code] = change.get(code, 0) + SIGN[code] * amount_paise
        return all(
            self.may_go_negative(code) or self.available(code) + delta >= 0
            for code, delta in change.items()
        )

    def apply(self, signed: list[tuple[str, int]]) -> None:
        for code, amount_paise in signed:
            self.posted[code] += SIGN[code] * amount_paise


def run(ledger: Ledger, model: Model, op: tuple) -> None:
    kind = op[0]
    if kind == "open":
        code, account_kind, negative = ACCOUNTS[op[1]]
        ledger.open_account(code, account_kind, allow_negative=negative)
        model.opened.add(code)
        return

    if kind in ("transfer", "hold"):
        source, destination = ACCOUNTS[op[1]][0], ACCOUNTS[op[2]][0]
        amount_paise, idem = op[3], op[4]
        content = (source, destination, amount_paise)
        signed = [(source, amount_paise), (destination, -amount_paise)]
        keys = model.entry_keys if kind == "transfer" else model.hold_keys
        if kind == "hold" and source == destination:
            expected: type[Exception] | None = InvalidEntry
        elif not {source, destination} <= model.opened:
            expected = AccountNotFound
        elif idem in keys:
            expected = None if keys[idem] == content else IdempotencyConflict
        elif kind == "transfer" and not model.can_apply(signed):
            expected = InsufficientFunds
        elif kind == "hold" and not (
            model.may_go_negative(source) or model.available(source) >= amount_paise
        ):
            expected = InsufficientFunds
        else:
            expected = None
        try:
            if kind == "transfer":
                result = ledger.transfer(source, destination, amount_paise, idempotency_key=idem)
            else:
                result = ledger.hold(source, destination, amount_paise, idempotency_key=idem)
        except (InvalidEntry, AccountNotFound, IdempotencyConflict, InsufficientFunds) as exc:
            assert expected is not None and isinstance(exc, expected), (op, exc)
            event(f"{kind}: {type(exc).__name__}")
            return
        event(f"{kind}: {'replay' if idem in keys else 'applied'}")
        assert expected is None, (op, "expected", expected)
        if idem in keys:  # a replay: nothing moves
            return
        if idem is not None:
            keys[idem] = content
        if kind == "transfer":
            if source != destination:  # self-transfer nets to nothing
                model.apply(signed)
                model.fast_posts += 1  # (two links of one account's chain: generic path)
            model.entries.append((result.id, signed))
        else:
            model.held[source] += amount_paise
            model.holds.append({"id": result.id, "status": "pending", "signed": signed})
        return

    if kind in ("commit", "release"):
        if not model.holds:
            return
        hold = model.holds[op[1] % len(model.holds)]
        opposite = "released" if kind == "commit" else "committed"
        done = "committed" if kind == "commit" else "released"
        try:
            if kind == "commit":
                result = ledger.commit_hold(hold["id"])
            else:
                result = ledger.release_hold(hold["id"])
        except HoldAlreadyResolved:
            assert hold["status"] == opposite
            return
        assert hold["status"] != opposite
        if hold["status"] == "pending":
            source, amount_paise = hold["signed"][0]
            model.held[source] -= amount_paise
            if kind == "commit":
                model.apply(hold["signed"])
                model.entries.append((result.id, hold["signed"]))
                model.fast_posts += 1
            hold["status"] = done
        return

    if kind == "reverse":
        if not model.entries:
            return
        entry_id, signed = model.entries[op[1] % len(model.entries)]
        negated = [(code, -amount_paise) for code, amount_paise in signed]
        already = entry_id in model.reversed
        try:
            result = ledger.reverse(entry_id)
        except InsufficientFunds:
            assert not already and not model.can_apply(negated)
            return
        except AlreadyReversed as exc:  # pragma: no cover - default key always replays
            raise AssertionError("default-key reversal must replay") from exc
        if already:
            return
        assert model.can_apply(negated)
        model.apply(negated)
        model.reversed.add(entry_id)
        model.entries.append((result.id, negated))
        return
    raise AssertionError(op)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, max_size=40))
def test_random_operations_conserve_money(ledger_engine, fast_path_calls, ops):
    applied_before = fast_path_calls["applied"]
    with Session(ledger_engine) as session:
        session.begin()
        try:
            ledger = Ledger(session)
            model = Model()
            for index in range(len(ACCOUNTS) - 1):
                run(ledger, model, ("open", index))
            for op in ops:
                run(ledger, model, op)
            for code in model.opened:
                balance = ledger.balance(code)
                assert (balance.posted_paise, balance.held_paise) == (
                    model.posted[code], model.held[code],
                ), code
                if not model.may_go_negative(code):
                    assert balance.available_paise >= 0
            # Conservation: debit-normal balances equal credit-normal ones.
            assert sum(SIGN[c] * model.posted[c] for c in model.opened) == 0
            report = ledgerlib.verify(session)
            assert report.ok, report.summary()
            fast = fast_path_calls["applied"] - applied_before
            assert fast == (model.fast_posts if ON_POSTGRES else 0)
            event(f"fast path posted {'some' if fast else 'no'} entries")
        finally:
            session.rollback()
