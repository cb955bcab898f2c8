"""Balances as of any instant, overdraft limits, and the tamper-evident chain."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ledgerlib import InsufficientFunds, InvalidAmount, Ledger, LedgerError, transfer_item

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
WALLETS = ["w0", "w1", "w2"]
SLOW = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


moves = st.lists(
    st.tuples(
        st.integers(-5, 30),  # seconds the clock moves first (backwards too)
        st.sampled_from(["bank", *WALLETS]), st.sampled_from(WALLETS),
        st.integers(1, 3_000), st.booleans(),  # in a batch of one, or alone
    ),
    max_size=30,
)


@SLOW
@given(moves=moves, probes=st.lists(st.integers(-10, 900), min_size=1, max_size=8))
def test_balance_as_of_matches_a_model(ledger_engine, moves, probes):
    clock = Clock()
    with Session(ledger_engine) as session:
        session.begin()
        try:
            ledger = Ledger(session, clock=clock)
            ledger.open_account("bank", "asset", allow_negative=True)
            for code in WALLETS:
                ledger.open_account(code, "liability", overdraft_limit_paise=1_000)
            # Model: per account, (time, change); a posting is never stamped
            # before the account's previous one.
            model: dict[str, list[tuple[dt.datetime, int]]] = {c: [] for c in WALLETS}
            balance = {c: 0 for c in WALLETS}
            for seconds, source, destination, amount, batched in moves:
                clock.now += dt.timedelta(seconds=seconds)
                try:
                    if batched:
                        result = ledger.post_batch(
                            [transfer_item(source, destination, amount)])[0]
                        if result.error is not None:
                            raise result.error
                    else:
                        ledger.transfer(source, destination, amount)
                except InsufficientFunds:
                    assert balance[source] - amount < -1_000
                    continue
                except LedgerError:
                    assert source == destination
                    continue
                for code, change in ((source, -amount), (destination, amount)):
                    if code in model:
                        last = model[code][-1][0] if model[code] else clock.now
                        model[code].append((max(clock.now, last), change))
                        balance[code] += change
            for offset in probes:
                at = T0 + dt.timedelta(seconds=offset)
                for code in WALLETS:
                    expected = sum(change for when, change in model[code] if when <= at)
                    assert ledger.balance_as_of(code, at) == expected
                    period = ledger.balances_between(code, at, at + dt.timedelta(seconds=60))
                    assert period.opening_paise == sum(
                        c for when, c in model[code] if when < at)
                    assert period.closing_paise == sum(
                        c for when, c in model[code] if when < at + dt.timedelta(seconds=60))
            for code in WALLETS:
                assert ledger.balance_as_of(code, clock.now + dt.timedelta(days=1)) == \
                    ledger.balance(code).posted_paise
            report = ledger.verify()
            assert report.ok, report.summary()
        finally:
            session.rollback()


def test_history_between_instants_carries_running_balances(ledger):
    clock = Clock()
    ledger = Ledger(ledger.session, clock=clock)
    ledger.open_account("bank", "asset", allow_negative=True)
    ledger.open_account("w0", "liability")
    for hour in range(5):
        clock.now = T0 + dt.timedelta(hours=hour)
        ledger.transfer("bank", "w0", 100 * (hour + 1))
    page = ledger.history("w0", start=T0 + dt.timedelta(hours=1), end=T0 + dt.timedelta(hours=3))
    assert [(i.change_paise, i.balance_after_paise) for i in page.items] == [
        (300, 600), (200, 300)]
    assert ledger.balance_as_of("w0", T0 - dt.timedelta(seconds=1)) == 0
    assert ledger.balance_as_of("w0", T0 + dt.timedelta(hours=2)) == 600
    with pytest.raises(LedgerError):
        ledger.balance_as_of("w0", dt.datetime(2026, 1, 1))  # naive


overdraft_ops = st.lists(st.tuples(st.sampled_from(WALLETS), st.sampled_from(WALLETS),
                                   st.integers(1, 4_000)), max_size=25)


@SLOW
@given(limits=st.lists(st.integers(0, 3_000), min_size=3, max_size=3), ops=overdraft_ops)
def test_overdraft_limits_hold(ledger_engine, limits, ops):
    with Session(ledger_engine) as session:
        session.begin()
        try:
            ledger = Ledger(session)
            limit = dict(zip(WALLETS, limits, strict=True))
            for code in WALLETS:
                ledger.open_account(code, "liability", overdraft_limit_paise=limit[code])
            balance = {code: 0 for code in WALLETS}
            for source, destination, amount in ops:
                if source == destination:
                    continue
                allowed = balance[source] - amount >= -limit[source]
                try:
                    ledger.transfer(source, destination, amount)
                    assert allowed
                    balance[source] -= amount
                    balance[destination] += amount
                except InsufficientFunds as error:
                    assert not allowed
                    assert error.available_paise == balance[source] + limit[source]
            for code in WALLETS:
                assert ledger.balance(code).posted_paise == balance[code]
                # Lowering a limit under what is used is refused; to it is fine.
                used = max(0, -balance[code])
                if used:
                    with pytest.raises(InsufficientFunds):
                        ledger.set_overdraft_limit(code, used - 1)
                assert ledger.set_overdraft_limit(code, used).overdraft_limit_paise == used
            assert ledger.verify().ok
        finally:
            session.rollback()


def test_overdraft_limit_is_checked_by_the_database_too(ledger):
    ledger.open_account("w0", "liability", overdraft_limit_paise=500)
    ledger.open_account("w1", "liability")
    ledger.transfer("w0", "w1", 500)
    with pytest.raises(InvalidAmount):
        ledger.open_account("w2", "liability", overdraft_limit_paise=-1)
    with pytest.raises(sa.exc.IntegrityError):
        with ledger.session.begin_nested():
            ledger.session.execute(sa.text(
                "UPDATE ledger_accounts SET posted_paise = -501 WHERE code = 'w0'"))


# ------------------------------------------------------------------ tamper evidence

def _unguard(session: Session) -> None:
    """What an intruder with database access does first: lift the immutability guard."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")  # run the pending checks
        conn.exec_driver_sql("ALTER TABLE ledger_postings DISABLE TRIGGER "
                             "ledger_postings_immutable")
    else:
        conn.exec_driver_sql("DROP TRIGGER ledger_postings_immutable")


def _books_with_history(session: Session) -> list[int]:
    ledger = Ledger(session)
    ledger.open_account("bank", "asset", allow_negative=True)
    ledger.open_account("a", "liability")
    ledger.open_account("b", "liability")
    ids = [ledger.transfer("bank", "a", 10_000).id]
    ids += [ledger.transfer("a", "b", 100 * n).id for n in range(1, 5)]
    ids += [r.entry.id for r in ledger.post_batch([transfer_item("b", "a", 50)] * 3)]
    return ids


def test_untouched_books_verify_clean(session):
    _books_with_history(session)
    report = Ledger(session).verify()
    assert report.ok, report.summary()


def test_an_edited_amount_is_named_even_with_balances_edited_to_match(session):
    ids = _books_with_history(session)
    target = ids[2]  # a -> b, 200: make it 2,000 and make every balance agree
    _unguard(session)
    extra = 1_800
    for code, delta in (("a", -extra), ("b", extra)):
        session.execute(sa.text(
            "UPDATE ledger_postings SET amount_paise = amount_paise + :amount "
            "WHERE entry_id = :e AND account_id = (SELECT id FROM ledger_accounts "
            "WHERE code = :code)"), {"amount": -delta, "e": target, "code": code})
        session.execute(sa.text(
            "UPDATE ledger_postings SET balance_after = balance_after + :d "
            "WHERE entry_id >= :e AND account_id = (SELECT id FROM ledger_accounts "
            "WHERE code = :code)"), {"d": delta, "e": target, "code": code})
        session.execute(sa.text(
            "UPDATE ledger_accounts SET posted_paise = posted_paise + :d WHERE code = :code"),
            {"d": delta, "code": code})
    report = Ledger(session).verify()
    assert not report.ok
    # Entries still balance and every stored balance agrees: only the chain tells.
    assert all("entry %d)" % target in p and "hash" in p for p in report.problems), \
        report.problems
    assert len(report.problems) == 2  # the first broken posting of a and of b


def test_a_rewritten_chain_is_caught_by_a_saved_head(session):
    ids = _books_with_history(session)
    ledger = Ledger(session)
    saved = ledger.chain_heads()
    _unguard(session)
    session.execute(sa.text("UPDATE ledger_postings SET created_at = created_at "
                            "WHERE entry_id = :e"), {"e": ids[-1]})
    assert ledger.chain_heads() == saved  # a no-op edit changes nothing
    session.execute(sa.text("UPDATE ledger_accounts SET chain_hash = :h WHERE code = 'a'"),
                    {"h": "0" * 64})
    report = ledger.verify()
    assert report.problems == ["account a: chain head does not match its latest posting"]
    assert ledger.chain_heads() != saved
