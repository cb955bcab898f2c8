"""The PostgreSQL fast path (ledgerlib.fastpath) against the generic path.

The fast path must be invisible: the same operations give the same results,
errors, rows and balances with it as without it. On SQLite both runs take the
generic path (the comparison then only checks the harness); on PostgreSQL
the tests also check that the fast path really ran.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import (
    AlreadyReversed,
    HoldAlreadyResolved,
    InsufficientFunds,
    Ledger,
    LedgerError,
    credit,
    debit,
    fastpath,
)
from ledgerlib.tables import accounts, entries, holds, postings

from ..conftest import ON_POSTGRES

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)

# (code, kind, currency, allow_negative); "ghost" is never opened.
ACCOUNTS = [
    ("bank", "asset", "INR", True),
    ("w0", "liability", "INR", False),
    ("w1", "liability", "INR", False),
    ("w2", "liability", "INR", False),
    ("fees", "income", "INR", False),
    ("float", "asset", "INR", False),  # an asset that may not go negative
    ("usd:w", "liability", "USD", False),
    ("usd:bank", "asset", "USD", True),
]
CODES = [code for code, *_ in ACCOUNTS] + ["ghost"]


class Ids:
    """Maps database ids (which differ between runs) to first-seen ordinals."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], int] = {}

    def __call__(self, kind: str, value: int | None) -> int | None:
        if value is None:
            return None
        return self.seen.setdefault((kind, value), len(self.seen))

    def text(self, value: str | None) -> str | None:
        """Keys and memos the ledger derives from ids, such as ``reverse:<id>``."""
        if value is None:
            return None
        value = re.sub(r"^hold:(\d+):", lambda m: f"hold:#{self('hold', int(m[1]))}:", value)
        return re.sub(r"(^reverse:|^reversal of entry )(\d+)$",
                      lambda m: f"{m[1]}#{self('entry', int(m[2]))}", value)


def normal(result, ids: Ids):
    if isinstance(result, ledgerlib.Entry):
        return ("entry", ids("entry", result.id), ids.text(result.idempotency_key),
                ids.text(result.memo),
                dict(result.metadata), result.created_at,
                ids("entry", result.reverses_entry_id), result.postings)
    if isinstance(result, ledgerlib.Hold):
        return ("hold", ids("hold", result.id), result.idempotency_key, result.source_code,
                result.destination_code, result.amount_paise, result.currency, result.status,
                result.memo, dict(result.metadata), result.created_at, result.resolved_at,
                ids("entry", result.commit_entry_id))
    return result


def dump(session: Session, ids: Ids) -> tuple:
    """Every row the ledger stores, with ids replaced by ordinals."""
    conn = session.connection()
    code = dict(conn.execute(sa.select(accounts.c.id, accounts.c.code)).all())
    return (
        sorted((r.code, r.kind, r.currency, r.allow_negative, r.posted_paise, r.held_paise)
               for r in conn.execute(sa.select(accounts))),
        # A reversal's fingerprint hashes the reversed entry's id.
        [(ids("entry", r.id), ids.text(r.idempotency_key),
          r.fingerprint if r.reverses_entry_id is None else "reversal", ids.text(r.memo),
          r.metadata,
          ids("entry", r.reverses_entry_id), r.created_at)
         for r in conn.execute(sa.select(entries).order_by(entries.c.id))],
        [(ids("entry", r.entry_id), code[r.account_id], r.amount_paise, r.currency,
          r.created_at)
         for r in conn.execute(sa.select(postings).order_by(postings.c.id))],
        [(ids("hold", r.id), r.idempotency_key, code[r.source_account_id],
          code[r.destination_account_id], r.amount_paise, r.status,
          ids("entry", r.commit_entry_id), r.resolved_at)
         for r in conn.execute(sa.select(holds).order_by(holds.c.id))],
    )


def apply(ledger: Ledger, op: tuple, ids: Ids, made: dict[str, list[int]]):
    kind = op[0]
    if kind == "transfer":
        _, a, b, amount, key, memo = op
        return ledger.transfer(CODES[a], CODES[b], amount, idempotency_key=key, memo=memo,
                               metadata={"op": memo} if memo else None)
    if kind == "post":
        _, legs, key = op
        total = sum(amount for _, amount in legs[:-1])
        built = [debit(CODES[i], amount) for i, amount in legs[:-1]]
        built.append(credit(CODES[legs[-1][0]], total))
        return ledger.post(built, idempotency_key=key)
    if kind == "hold":
        _, a, b, amount, key = op
        return ledger.hold(CODES[a], CODES[b], amount, idempotency_key=key)
    pool = made["hold" if kind in ("commit", "release") else "entry"]
    if not pool:
        return None
    target = pool[op[1] % len(pool)]
    if kind == "commit":
        return ledger.commit_hold(target)
    if kind == "release":
        return ledger.release_hold(target)
    return ledger.reverse(target)


def run(engine, ops: list[tuple], *, fast: bool) -> tuple[list, tuple]:
    """Apply ``ops`` in one rolled-back transaction; return outcomes and final rows."""
    ids = Ids()
    outcomes = []
    made: dict[str, list[int]] = {"hold": [], "entry": []}
    with Session(engine) as session:
        session.begin()
        try:
            ledger = Ledger(session, clock=lambda: NOW)
            ledger._fast_path = fast
            for code, kind, currency, negative in ACCOUNTS:
                ledger.open_account(code, kind, currency=currency, allow_negative=negative)
            ledger.transfer("bank", "w0", 50_000, idempotency_key="seed")
            ledger.transfer("usd:bank", "usd:w", 5_000)
            for op in ops:
                try:
                    result = apply(ledger, op, ids, made)
                except LedgerError as exc:
                    # Messages naming a hold or entry id differ between runs.
                    named_by_id = isinstance(exc, (AlreadyReversed, HoldAlreadyResolved))
                    outcome = ("error", type(exc).__name__, "" if named_by_id else str(exc))
                else:
                    if isinstance(result, ledgerlib.Entry) and result.id not in made["entry"]:
                        made["entry"].append(result.id)
                        # The returned entry is exactly what is stored.
                        assert ledger.get_entry(result.id) == result
                    if isinstance(result, ledgerlib.Hold) and result.id not in made["hold"]:
                        made["hold"].append(result.id)
                    outcome = normal(result, ids)
                outcomes.append(outcome)
            rows = dump(session, ids)
            report = ledgerlib.verify(session)
            assert report.ok, report.summary()
        finally:
            session.rollback()
    return outcomes, rows


account = st.integers(0, len(CODES) - 1)
amount = st.integers(1, 60_000)
key = st.one_of(st.none(), st.sampled_from(["k0", "k1", "k2"]))
operation = st.one_of(
    st.tuples(st.just("transfer"), account, account, amount, key,
              st.sampled_from(["", "rent"])),
    st.tuples(st.just("transfer"), st.integers(1, 3), st.integers(1, 5), amount, key,
              st.just("")),
    st.tuples(st.just("post"), st.lists(st.tuples(account, amount), min_size=2, max_size=4),
              key),
    st.tuples(st.just("hold"), st.integers(0, 3), st.sampled_from([0, 4, 5]), amount, key),
    st.tuples(st.sampled_from(["commit", "release", "reverse"]), st.integers(0, 20)),
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, max_size=25))
def test_fast_and_generic_paths_agree(ledger_engine, ops):
    assert run(ledger_engine, ops, fast=True) == run(ledger_engine, ops, fast=False)


FIXED_OPS = [
    ("transfer", 1, 2, 10_000, "k0", "rent"),  # applied
    ("transfer", 1, 2, 10_000, "k0", "rent"),  # replay
    ("transfer", 1, 3, 10_000, "k0", ""),  # IdempotencyConflict
    ("transfer", 2, 3, 10_001, None, ""),  # InsufficientFunds
    ("transfer", 1, 8, 5, None, ""),  # AccountNotFound
    ("post", [(1, 700), (6, 10)], None),  # does not balance per currency
    ("post", [(1, 700), (0, 300), (4, 0 + 1)], "k1"),  # three legs, applied
    ("transfer", 0, 5, 1, None, ""),  # crediting a non-negative asset: funds
    ("transfer", 1, 1, 100, None, ""),  # to itself: nets to nothing
    ("hold", 1, 0, 5_000, "h"),
    ("transfer", 1, 2, 35_000, None, ""),  # held money is not available
    ("commit", 0),
    ("commit", 0),  # replay of the commit
    ("reverse", 0),
    ("reverse", 0),
]


def test_fixed_sequence_agrees_and_uses_the_fast_path(ledger_engine, fast_path_calls):
    fast = run(ledger_engine, FIXED_OPS, fast=True)
    calls = dict(fast_path_calls)
    assert fast == run(ledger_engine, FIXED_OPS, fast=False)
    kinds = [o[0] if o[0] in ("entry", "hold") else o[1] for o in fast[0]]
    assert kinds == [
        "entry", "entry", "IdempotencyConflict", "InsufficientFunds", "AccountNotFound",
        "UnbalancedEntry", "entry", "InsufficientFunds", "entry", "hold",
        "InsufficientFunds", "entry", "entry", "entry", "entry",
    ]
    if ON_POSTGRES:
        # Applied by the fast path: the two seeds, k0, k1 and the commit. The
        # self-transfer (two links of one account's hash chain) and everything
        # else fell back to the generic path.
        assert calls == {"tried": 13, "applied": 5}
    else:
        assert calls == {"tried": 0, "applied": 0}


@pytest.mark.postgres
def test_fast_path_is_one_statement(ledger, session, fast_path_calls):
    ledger.open_account("bank", "asset", allow_negative=True)
    ledger.open_account("w0", "liability")
    ledger.open_account("w1", "liability")
    ledger.transfer("bank", "w0", 1_000)
    hold = ledger.hold("w0", "bank", 100)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        entry = ledger.transfer("w0", "w1", 500, idempotency_key="t1")
        assert len(statements) == 1
        statements.clear()
        committed = ledger.commit_hold(hold.id)
        assert len(statements) == 2  # lock the hold, then the one statement
        statements.clear()
        with pytest.raises(InsufficientFunds):
            ledger.transfer("w0", "w1", 401)
        assert len(statements) == 2  # the fast path declines, the generic path raises
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert ledger.get_entry(entry.id) == entry
    assert ledger.get_entry(committed.id) == committed
    assert ledger.get_hold(hold.id).status == "committed"
    assert ledger.get_hold(hold.id).commit_entry_id == committed.id
    balances = {c: ledger.balance(c) for c in ("bank", "w0", "w1")}
    assert [(b.posted_paise, b.held_paise) for b in balances.values()] == [
        (900, 0), (400, 0), (500, 0),
    ]
    assert fast_path_calls == {"tried": 4, "applied": 3}
    assert ledger.verify().ok


def test_fast_path_is_skipped_where_it_cannot_run(ledger, session, fast_path_calls):
    """SQLite, or a schema_translate_map (the statement names tables as text)."""
    ledger.open_account("bank", "asset", allow_negative=True)
    ledger.open_account("w0", "liability")
    assert fastpath.usable(session.connection()) == ON_POSTGRES
    with session.get_bind().connect() as other:
        other.execution_options(schema_translate_map={None: None})
        assert not fastpath.usable(other)
    ledger.transfer("bank", "w0", 1_000)
    assert fast_path_calls["applied"] == (1 if ON_POSTGRES else 0)


def test_corrupt_held_balance_is_left_to_the_generic_assertion(ledger, session):
    """The fast path declines (rather than tripping a CHECK, which on PostgreSQL
    would abort the caller's transaction); the generic path's assertion refuses.
    (That assertion fires after the entry's rows are inserted: only corrupt
    books get there, and the caller is expected to roll back.)"""
    ledger.open_account("bank", "asset", allow_negative=True)
    ledger.open_account("w0", "liability")
    ledger.transfer("bank", "w0", 1_000)
    hold = ledger.hold("w0", "bank", 300)
    session.connection().execute(
        sa.update(accounts).where(accounts.c.code == "w0").values(held_paise=100)
    )
    with pytest.raises(AssertionError, match="held balance of w0 would go negative"):
        ledger.commit_hold(hold.id)
    assert ledger.balance("w0").held_paise == 100  # the transaction is still usable
