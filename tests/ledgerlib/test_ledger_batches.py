"""Batches: the same books as posting each item alone, in a few statements."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import (
    BatchItem,
    BatchRefused,
    IdempotencyConflict,
    InsufficientFunds,
    Ledger,
    LedgerError,
    credit,
    debit,
    transfer_item,
)

ACCOUNTS = [("bank", "asset", True, 0), ("w0", "liability", False, 0),
            ("w1", "liability", False, 0), ("w2", "liability", False, 5_000),
            ("usd", "liability", False, 0)]


def open_books(ledger: Ledger) -> None:
    for code, kind, negative, overdraft in ACCOUNTS:
        ledger.open_account(code, kind, allow_negative=negative, overdraft_limit_paise=overdraft,
                            currency="USD" if code == "usd" else "INR")
    ledger.transfer("bank", "w0", 10_000, idempotency_key="seed")


def outcome(result_or_error) -> tuple:
    """A comparable summary of one item's fate."""
    if isinstance(result_or_error, LedgerError):
        return ("refused", type(result_or_error).__name__)
    entry = result_or_error
    return ("replayed" if entry.replayed else "posted", entry.postings)


def books(ledger: Ledger) -> dict:
    return {code: (ledger.balance(code).posted_paise, ledger.balance(code).held_paise)
            for code, *_ in ACCOUNTS}


codes = st.sampled_from(["bank", "w0", "w1", "w2", "usd", "nobody"])
items = st.lists(
    st.builds(
        transfer_item, codes, codes, st.integers(1, 8_000),
        idempotency_key=st.one_of(st.none(), st.sampled_from(["seed", "a", "b", "c"])),
    ),
    max_size=25,
)


def run_singles(ledger: Ledger, batch: list[BatchItem]) -> list[tuple]:
    outcomes = []
    for item in batch:
        try:
            with ledger.session.begin_nested():
                outcomes.append(outcome(ledger.post(item.legs,
                                                    idempotency_key=item.idempotency_key)))
        except LedgerError as error:
            outcomes.append(outcome(error))
    return outcomes


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=items, atomic=st.booleans())
def test_a_batch_posts_what_single_posts_would(ledger_engine, batch, atomic):
    with Session(ledger_engine) as session:
        session.begin()
        try:
            ledger = Ledger(session)
            open_books(ledger)
            expected = run_singles(ledger, batch)
            expected_books = books(ledger)
        finally:
            session.rollback()
    with Session(ledger_engine) as session:
        session.begin()
        try:
            ledger = Ledger(session)
            open_books(ledger)
            before = books(ledger)
            try:
                results = ledger.post_batch(batch, atomic=atomic)
            except BatchRefused as refused:
                assert atomic
                assert any(o[0] == "refused" for o in expected)
                assert refused.first_refused == next(
                    i for i, o in enumerate(expected) if o[0] == "refused")
                assert books(ledger) == before  # nothing written
                return
            got = [outcome(r.entry if r.ok else r.error) for r in results]
            assert got == expected
            assert [r.index for r in results] == list(range(len(batch)))
            assert books(ledger) == expected_books
            report = ledger.verify()
            assert report.ok, report.summary()
        finally:
            session.rollback()


def test_batch_results_keys_and_atomic_refusal(ledger):
    open_books(ledger)
    results = ledger.post_batch([
        transfer_item("w0", "w1", 1_000, idempotency_key="p1"),
        transfer_item("w0", "w1", 1_000, idempotency_key="p1"),  # same movement: replay
        transfer_item("w0", "w2", 1_000, idempotency_key="p1"),  # another movement
        transfer_item("w1", "w2", 5_000),  # w1 has only 1_000
        transfer_item("w0", "usd", 5),  # two currencies
        transfer_item("w0", "seed-less", 5),
        BatchItem([debit("w0", 1), credit("w1", 2)]),  # unbalanced
        "not an item",
        transfer_item("w0", "bank", 8_000, idempotency_key="seed"),  # a single post's key
        transfer_item("w2", "w0", 4_000),  # within w2's overdraft
    ])
    statuses = [(r.status, type(r.error).__name__ if r.error else None) for r in results]
    assert statuses == [
        ("posted", None), ("replayed", None), ("refused", "IdempotencyConflict"),
        ("refused", "InsufficientFunds"), ("refused", "UnbalancedEntry"),
        ("refused", "AccountNotFound"), ("refused", "UnbalancedEntry"),
        ("refused", "InvalidEntry"), ("refused", "IdempotencyConflict"), ("posted", None),
    ]
    assert results[1].entry.id == results[0].entry.id and results[1].entry.replayed
    assert ledger.balance("w2").posted_paise == -4_000
    assert ledger.find_entry("p1").id == results[0].entry.id
    assert ledger.verify().ok

    before = books(ledger)
    with pytest.raises(BatchRefused) as refused:
        ledger.post_batch([transfer_item("w1", "w0", 10), transfer_item("w1", "w0", 10**6)],
                          atomic=True)
    assert refused.value.first_refused == 1
    assert isinstance(refused.value.__cause__, InsufficientFunds)
    assert [r.status for r in refused.value.results] == ["posted", "refused"]
    assert books(ledger) == before
    # A single post replays an entry a batch posted, and the other way round.
    assert ledger.transfer("w0", "w1", 1_000, idempotency_key="p1").replayed
    with pytest.raises(IdempotencyConflict):
        ledger.transfer("w0", "w2", 1_000, idempotency_key="p1")


def test_a_batch_takes_three_statements_whatever_its_size(ledger_engine):
    with Session(ledger_engine) as session, session.begin():
        open_books(Ledger(session))
    statements = []

    def count(*_args):
        statements.append(1)

    sa.event.listen(ledger_engine, "before_cursor_execute", count)
    try:
        with Session(ledger_engine) as session, session.begin():
            session.connection()  # the transaction's own BEGIN is not the batch's
            statements.clear()
            results = Ledger(session).post_batch(
                [transfer_item("w0", "w1", 1, idempotency_key=f"n{i}") for i in range(300)])
            assert all(r.status == "posted" for r in results)
            used = len(statements)
    finally:
        sa.event.remove(ledger_engine, "before_cursor_execute", count)
    on_sqlite = ledger_engine.dialect.name == "sqlite"
    assert used == (6 if on_sqlite else 3)  # SQLite: one executemany per table
    with Session(ledger_engine) as session:
        assert ledgerlib.verify(session).ok


def test_a_batch_writes_any_text_and_times_exactly(session):
    """Keys, memos and metadata of any text (commas, quotes, newlines, other
    scripts) come back as given; a posting stamped later than the batch's
    clock (the account's latest posting is later) keeps its own time."""
    at = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    early = Ledger(session, clock=lambda: at)
    open_books(early)
    late = Ledger(session, clock=lambda: at + dt.timedelta(hours=1))
    late.transfer("bank", "w1", 700, idempotency_key="later")
    texts = ['a,b', 'say "hi", then go', "line\nbreak", "₹ 5,00,000", "\\back,slash", "", "'"]
    items = [transfer_item("w0", "w2" if i % 2 else "w1", 10 + i, idempotency_key=f"k,{t}",
                           memo=t, metadata={"note": t, "n": [i, {"x": t}]})
             for i, t in enumerate(texts)]
    items.append(transfer_item("w1", "w2", 3))  # w1's last posting is an hour ahead
    results = early.post_batch(items)
    assert [r.status for r in results] == ["posted"] * len(items)
    for item, result in zip(items, results, strict=True):
        stored = early.get_entry(result.entry.id)
        assert (stored.idempotency_key, stored.memo, dict(stored.metadata)) == (
            item.idempotency_key, item.memo, dict(item.metadata or {}))
    times = dict(session.execute(
        sa.select(ledgerlib.tables.postings.c.amount_paise,
                  ledgerlib.tables.postings.c.created_at)
        .where(ledgerlib.tables.postings.c.entry_id == results[-1].entry.id)).all())
    # w1 (debited 3) keeps its later time; w2 (credited) takes the batch's.
    assert times == {3: at + dt.timedelta(hours=1), -3: at}
    assert early.verify().ok
