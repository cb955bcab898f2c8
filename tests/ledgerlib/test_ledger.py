"""Unit tests of ledgerlib's rules. Every error path checks that nothing was written."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import (
    AccountExists,
    AccountNotFound,
    AlreadyReversed,
    CurrencyMismatch,
    EmptyEntry,
    HoldAlreadyResolved,
    HoldNotFound,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    InvalidEntry,
    Ledger,
    UnbalancedEntry,
    credit,
    debit,
)
from ledgerlib.tables import accounts, entries, holds, postings

from ..conftest import LEDGER_SCHEMA, schema_url

BANK = "bank:hdfc:settlement"
ALICE = "user:1:wallet"
BOB = "user:2:wallet"
SHOP = "merchant:1:wallet"
FEES = "income:fees"


def snapshot(session: Session) -> tuple:
    """Everything the ledger stores, to compare before and after a failed call."""
    conn = session.connection()
    return tuple(
        tuple(map(tuple, conn.execute(sa.select(table).order_by(table.c.id)).all()))
        for table in (accounts, entries, postings, holds)
    )


@pytest.fixture
def funded(ledger: Ledger) -> Ledger:
    ledger.open_account(BANK, "asset", allow_negative=True)
    for code in (ALICE, BOB, SHOP):
        ledger.open_account(code, "liability", owner_ref=code.split(":")[1])
    ledger.open_account(FEES, "income")
    ledger.transfer(BANK, ALICE, 100_00, idempotency_key="seed:alice")
    return ledger


def available(ledger: Ledger, code: str) -> int:
    return ledger.balance(code).available_paise


# ---------------------------------------------------------------- accounts


def test_open_account_is_idempotent_and_rejects_changed_properties(ledger, session):
    first = ledger.open_account(ALICE, "liability", owner_ref="1")
    again = ledger.open_account(ALICE, "liability", owner_ref="1")
    assert first == again
    assert first.normal_side == "credit" and not first.allow_negative
    before = snapshot(session)
    with pytest.raises(AccountExists):
        ledger.open_account(ALICE, "asset", owner_ref="1")
    with pytest.raises(AccountExists):
        ledger.open_account(ALICE, "liability", owner_ref="1", allow_negative=True)
    assert snapshot(session) == before


@pytest.mark.parametrize(
    "code, kind, currency",
    [
        ("", "liability", "INR"),
        ("has space", "liability", "INR"),
        ("x" * 129, "liability", "INR"),
        ("ok", "wallet", "INR"),
        ("ok", "liability", "inr"),
        ("ok", "liability", "RUPEE"),
    ],
)
def test_open_account_validates(ledger, session, code, kind, currency):
    before = snapshot(session)
    with pytest.raises(InvalidEntry):
        ledger.open_account(code, kind, currency=currency)
    assert snapshot(session) == before


def test_unknown_account(funded, session):
    before = snapshot(session)
    with pytest.raises(AccountNotFound):
        funded.balance("user:404:wallet")
    with pytest.raises(AccountNotFound):
        funded.transfer(ALICE, "user:404:wallet", 100)
    assert snapshot(session) == before


# ----------------------------------------------------------------- entries


def test_transfer_moves_money_and_keeps_books_balanced(funded):
    entry = funded.transfer(ALICE, BOB, 25_50, memo="dinner", metadata={"transfer": 7})
    assert available(funded, ALICE) == 74_50
    assert available(funded, BOB) == 25_50
    assert available(funded, BANK) == 100_00  # asset: money we hold at the bank
    assert sum(p.amount_paise for p in entry.postings) == 0
    assert entry.memo == "dinner" and entry.metadata == {"transfer": 7}
    assert entry.created_at.tzinfo is not None
    assert funded.get_entry(entry.id) == entry
    assert funded.verify().ok


def test_multi_leg_entry_with_fee(funded):
    funded.post(
        [debit(ALICE, 102_00 - 2_00), credit(SHOP, 98_00), credit(FEES, 2_00)],
        idempotency_key="pay:1",
    )
    assert available(funded, ALICE) == 0
    assert available(funded, SHOP) == 98_00
    assert available(funded, FEES) == 2_00
    assert funded.verify().ok


@pytest.mark.parametrize(
    "legs, error",
    [
        ([], EmptyEntry),
        ([debit(ALICE, 100)], EmptyEntry),
        ([debit(ALICE, 100), credit(BOB, 99)], UnbalancedEntry),
        ([debit(ALICE, 0), credit(BOB, 0)], InvalidAmount),
        ([debit(ALICE, -100), credit(BOB, -100)], InvalidAmount),
        ([debit(ALICE, 1.5), credit(BOB, 1.5)], InvalidAmount),
        ([debit(ALICE, True), credit(BOB, True)], InvalidAmount),
        ([debit(ALICE, 10**13), credit(BOB, 10**13)], InvalidAmount),
        ([debit(ALICE, 100), ("BOB", 100)], InvalidEntry),
        ([ledgerlib.Leg(ALICE, "up", 100), credit(BOB, 100)], InvalidEntry),
    ],
)
def test_malformed_entries_are_rejected_and_write_nothing(funded, session, legs, error):
    before = snapshot(session)
    with pytest.raises(error):
        funded.post(legs)
    assert snapshot(session) == before


def test_cross_currency_entry_must_balance_per_currency(funded, session):
    funded.open_account("user:1:usd", "liability", currency="USD")
    funded.open_account("bank:usd", "asset", currency="USD", allow_negative=True)
    before = snapshot(session)
    # Sums to zero overall but not per currency.
    with pytest.raises(UnbalancedEntry, match="per currency"):
        funded.post([debit(ALICE, 500), credit("user:1:usd", 500)])
    assert snapshot(session) == before
    # An FX movement balanced in each currency is fine.
    funded.post(
        [debit(ALICE, 8300), credit(BANK, 8300), debit("bank:usd", 100), credit("user:1:usd", 100)]
    )
    assert available(funded, "user:1:usd") == 100
    assert funded.verify().ok


def test_hold_between_currencies_is_rejected(funded, session):
    funded.open_account("user:1:usd", "liability", currency="USD")
    before = snapshot(session)
    with pytest.raises(CurrencyMismatch):
        funded.hold(ALICE, "user:1:usd", 100)
    assert snapshot(session) == before


def test_insufficient_funds_writes_nothing(funded, session):
    before = snapshot(session)
    with pytest.raises(InsufficientFunds) as info:
        funded.transfer(ALICE, BOB, 100_01)
    assert (info.value.available_paise, info.value.requested_paise) == (100_00, 100_01)
    assert snapshot(session) == before
    funded.transfer(ALICE, BOB, 100_00)  # exactly all of it is fine
    assert available(funded, ALICE) == 0


def test_negative_allowed_accounts_may_go_below_zero(funded):
    funded.transfer(BANK, BOB, 5_00)
    assert funded.balance(BANK).posted_paise == 105_00
    funded.open_account("clearing", "liability", allow_negative=True)
    funded.transfer("clearing", BOB, 1_00)
    assert funded.balance("clearing").posted_paise == -1_00


def test_metadata_and_memo_limits(funded, session):
    before = snapshot(session)
    with pytest.raises(InvalidEntry):
        funded.transfer(ALICE, BOB, 1, metadata={"x": object()})
    with pytest.raises(InvalidEntry):
        funded.transfer(ALICE, BOB, 1, metadata={"x": "y" * 5000})
    with pytest.raises(InvalidEntry):
        funded.transfer(ALICE, BOB, 1, memo="m" * 501)
    with pytest.raises(InvalidEntry):
        funded.transfer(ALICE, BOB, 1, idempotency_key="")
    assert snapshot(session) == before


# ------------------------------------------------------------- idempotency


def test_same_key_same_content_returns_the_original(funded, session):
    first = funded.transfer(ALICE, BOB, 10_00, idempotency_key="transfer:k1")
    before = snapshot(session)
    again = funded.transfer(ALICE, BOB, 10_00, idempotency_key="transfer:k1", memo="other memo")
    assert again == first
    assert (first.replayed, again.replayed) == (False, True)  # says which call moved money
    assert snapshot(session) == before
    assert available(funded, BOB) == 10_00
    assert funded.find_entry("transfer:k1") == first
    assert funded.find_entry("nope") is None


def test_same_key_replayed_after_the_money_was_spent_is_still_a_replay(funded):
    first = funded.transfer(ALICE, BOB, 100_00, idempotency_key="transfer:all")
    # Alice now has nothing: the replay must not be mistaken for an overdraft.
    again = funded.transfer(ALICE, BOB, 100_00, idempotency_key="transfer:all")
    assert again == first and again.replayed


@pytest.mark.parametrize(
    "source, destination, amount",
    [(ALICE, BOB, 11_00), (ALICE, SHOP, 10_00), (BOB, ALICE, 10_00)],
)
def test_same_key_other_content_conflicts(funded, session, source, destination, amount):
    funded.transfer(ALICE, BOB, 10_00, idempotency_key="transfer:k1")
    before = snapshot(session)
    with pytest.raises(IdempotencyConflict):
        funded.transfer(source, destination, amount, idempotency_key="transfer:k1")
    assert snapshot(session) == before


def test_same_key_other_content_conflicts_even_without_funds(funded, session):
    funded.transfer(ALICE, BOB, 100_00, idempotency_key="transfer:k1")
    before = snapshot(session)
    with pytest.raises(IdempotencyConflict):
        funded.transfer(ALICE, SHOP, 100_00, idempotency_key="transfer:k1")
    assert snapshot(session) == before


# ---------------------------------------------------------------- reversals


def test_reverse_restores_balances_once(funded, session):
    entry = funded.transfer(ALICE, BOB, 30_00)
    reversal = funded.reverse(entry.id)
    assert reversal.reverses_entry_id == entry.id
    assert available(funded, ALICE) == 100_00 and available(funded, BOB) == 0
    assert funded.reverse(entry.id) == reversal  # same default key: a replay
    before = snapshot(session)
    with pytest.raises(AlreadyReversed):
        funded.reverse(entry.id, idempotency_key="another")
    assert snapshot(session) == before
    assert funded.verify().ok


def test_reverse_checks_funds(funded, session):
    entry = funded.transfer(ALICE, BOB, 30_00)
    funded.transfer(BOB, SHOP, 30_00)
    before = snapshot(session)
    with pytest.raises(InsufficientFunds):
        funded.reverse(entry.id)
    assert snapshot(session) == before


def test_entries_and_postings_cannot_be_edited_or_deleted(ledger_engine):
    with Session(ledger_engine) as s, s.begin():
        Ledger(s).open_account("a", "asset", allow_negative=True)
        Ledger(s).open_account("b", "liability")
        Ledger(s).transfer("a", "b", 100)
    for statement in (
        "UPDATE ledger_postings SET amount_paise = 5",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_entries SET memo = 'x'",
        "DELETE FROM ledger_entries",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="immutable"):
            with ledger_engine.begin() as conn:
                conn.exec_driver_sql(statement)


def test_postings_must_name_an_existing_entry_and_account(ledger_engine):
    """Postings have no FOREIGN KEYs (guards check their references instead,
    once per statement on PostgreSQL): a posting of a missing entry or to a
    missing account is refused, and an account with postings cannot go or
    change its id."""
    with Session(ledger_engine) as s, s.begin():
        ledger = Ledger(s)
        a = ledger.open_account("a", "asset", allow_negative=True).id
        b = ledger.open_account("b", "liability").id
        entry = ledger.transfer("a", "b", 100)
        unused = ledger.open_account("unused", "liability").id
    legs = "({e}, {x}, 7, 'INR', '2026-01-01', 0, 'x'), ({e}, {y}, -7, 'INR', '2026-01-01', 0, 'x')"
    for e, x, y in ((entry.id + 1000, a, b), (entry.id, a, 999_999)):
        with pytest.raises(sa.exc.IntegrityError):
            with ledger_engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, "
                    "created_at, balance_after, hash) VALUES " + legs.format(e=e, x=x, y=y))
    for statement in (f"DELETE FROM ledger_accounts WHERE id = {a}",
                      f"UPDATE ledger_accounts SET id = 99999 WHERE id = {a}"):
        with pytest.raises(sa.exc.IntegrityError):
            with ledger_engine.begin() as conn:
                conn.exec_driver_sql(statement)
    with ledger_engine.begin() as conn:  # an account without postings may go
        conn.exec_driver_sql(f"DELETE FROM ledger_accounts WHERE id = {unused}")
    with Session(ledger_engine) as s:
        assert Ledger(s).verify().ok


def test_database_refuses_a_negative_wallet_row(ledger_engine):
    with Session(ledger_engine) as s, s.begin():
        Ledger(s).open_account("w", "liability")
    with pytest.raises(sa.exc.IntegrityError):
        with ledger_engine.begin() as conn:
            conn.exec_driver_sql("UPDATE ledger_accounts SET posted_paise = -1 WHERE code = 'w'")


# -------------------------------------------------------------------- holds


def test_hold_reduces_available_then_commit_moves_it(funded):
    hold = funded.hold(ALICE, BANK, 40_00, idempotency_key="withdrawal:1", metadata={"w": 1})
    assert hold.status == "pending"
    balance = funded.balance(ALICE)
    assert (balance.posted_paise, balance.held_paise, balance.available_paise) == (
        100_00, 40_00, 60_00,
    )
    entry = funded.commit_hold(hold.id)
    assert entry.metadata == {"w": 1}
    balance = funded.balance(ALICE)
    assert (balance.posted_paise, balance.held_paise) == (60_00, 0)
    assert funded.balance(BANK).posted_paise == 60_00
    assert funded.get_hold(hold.id).status == "committed"
    assert funded.get_hold(hold.id).commit_entry_id == entry.id
    assert funded.verify().ok


def test_held_money_cannot_be_spent_twice(funded, session):
    funded.hold(ALICE, BANK, 70_00)
    before = snapshot(session)
    with pytest.raises(InsufficientFunds):
        funded.transfer(ALICE, BOB, 30_01)
    with pytest.raises(InsufficientFunds):
        funded.hold(ALICE, BANK, 30_01)
    assert snapshot(session) == before
    funded.transfer(ALICE, BOB, 30_00)
    assert available(funded, ALICE) == 0


def test_release_returns_money_and_resolution_happens_once(funded, session):
    hold = funded.hold(ALICE, BANK, 40_00)
    released = funded.release_hold(hold.id)
    assert released.status == "released" and released.resolved_at is not None
    assert available(funded, ALICE) == 100_00
    before = snapshot(session)
    assert funded.release_hold(hold.id) == released  # same resolution: no-op
    with pytest.raises(HoldAlreadyResolved):
        funded.commit_hold(hold.id)
    assert snapshot(session) == before


def test_commit_twice_is_one_movement_and_release_after_commit_fails(funded, session):
    hold = funded.hold(ALICE, BANK, 40_00)
    entry = funded.commit_hold(hold.id)
    before = snapshot(session)
    assert funded.commit_hold(hold.id) == entry
    assert not entry.replayed and funded.commit_hold(hold.id).replayed
    with pytest.raises(HoldAlreadyResolved):
        funded.release_hold(hold.id)
    assert snapshot(session) == before


def test_hold_idempotency(funded, session):
    hold = funded.hold(ALICE, BANK, 40_00, idempotency_key="withdrawal:9")
    before = snapshot(session)
    assert funded.hold(ALICE, BANK, 40_00, idempotency_key="withdrawal:9") == hold
    with pytest.raises(IdempotencyConflict):
        funded.hold(ALICE, BANK, 41_00, idempotency_key="withdrawal:9")
    assert snapshot(session) == before
    funded.transfer(ALICE, BOB, 60_00)
    # A replay with no money left is still a replay, not an overdraft.
    assert funded.hold(ALICE, BANK, 40_00, idempotency_key="withdrawal:9") == hold


def test_hold_errors(funded, session):
    before = snapshot(session)
    with pytest.raises(HoldNotFound):
        funded.commit_hold(999)
    with pytest.raises(HoldNotFound):
        funded.release_hold(999)
    with pytest.raises(InvalidAmount):
        funded.hold(ALICE, BANK, 0)
    with pytest.raises(InvalidEntry):
        funded.hold(ALICE, ALICE, 100)
    assert snapshot(session) == before


def test_database_refuses_to_resolve_a_hold_twice(ledger_engine):
    with Session(ledger_engine) as s, s.begin():
        ledger = Ledger(s)
        ledger.open_account("a", "liability", allow_negative=True)
        ledger.open_account("b", "asset", allow_negative=True)
        hold_id = ledger.hold("a", "b", 100).id
        ledger.release_hold(hold_id)
    with pytest.raises(sa.exc.DatabaseError, match="already resolved"):
        with ledger_engine.begin() as conn:
            conn.exec_driver_sql(
                f"UPDATE ledger_holds SET status = 'pending' WHERE id = {hold_id}"
            )


def test_pending_holds_lists_unresolved_oldest_first(funded):
    first = funded.hold(ALICE, BANK, 1_00)
    second = funded.hold(ALICE, BANK, 2_00)
    funded.release_hold(funded.hold(ALICE, BANK, 3_00).id)
    assert [h.id for h in funded.pending_holds(ALICE)] == [first.id, second.id]


# ------------------------------------------------------------------ history


def test_history_is_newest_first_with_keyset_cursor(funded):
    for i in range(1, 6):
        funded.transfer(ALICE, BOB, i * 100, memo=f"t{i}")
    page = funded.history(BOB, limit=2)
    assert [item.memo for item in page.items] == ["t5", "t4"]
    assert all(item.counterparty_codes == (ALICE,) for item in page.items)
    assert page.items[0].change_paise == 500
    # A new transfer arriving between pages does not shift the next page.
    funded.transfer(ALICE, BOB, 1, memo="late")
    page2 = funded.history(BOB, limit=2, cursor=page.next_cursor)
    assert [item.memo for item in page2.items] == ["t3", "t2"]
    page3 = funded.history(BOB, limit=2, cursor=page2.next_cursor)
    assert [item.memo for item in page3.items] == ["t1"] and page3.next_cursor is None
    assert funded.history(ALICE, limit=1).items[0].change_paise == -1


@pytest.mark.parametrize("cursor", ["abc", "-1", "1" * 30, "１２"])
def test_history_rejects_bad_cursors(funded, cursor):
    with pytest.raises(InvalidEntry):
        funded.history(ALICE, cursor=cursor)
    with pytest.raises(InvalidEntry):
        funded.history(ALICE, limit=0)


# ------------------------------------------------------------------ reports

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def at(ledger: Ledger, when: dt.datetime) -> Ledger:
    return Ledger(ledger.session, clock=lambda: when)


def test_daily_and_monthly_totals_follow_the_local_day(funded):
    # 23:50 IST on 31 Jan is 18:20 UTC on 31 Jan; 00:10 IST on 1 Feb is still
    # 31 Jan in UTC (18:40): it must count for 1 Feb in an IST report.
    at(funded, dt.datetime(2026, 1, 31, 23, 50, tzinfo=IST)).transfer(ALICE, SHOP, 10_00)
    at(funded, dt.datetime(2026, 2, 1, 0, 10, tzinfo=IST)).transfer(ALICE, SHOP, 20_00)
    at(funded, dt.datetime(2026, 2, 1, 23, 59, 59, tzinfo=IST)).transfer(ALICE, SHOP, 5_00)
    at(funded, dt.datetime(2026, 2, 2, 9, 0, tzinfo=IST)).transfer(SHOP, BOB, 1_00)

    days = funded.daily_totals(SHOP, dt.date(2026, 1, 30), dt.date(2026, 2, 2), "Asia/Kolkata")
    assert [(d.period_start.day, d.credited_paise, d.debited_paise, d.postings) for d in days] == [
        (30, 0, 0, 0), (31, 10_00, 0, 1), (1, 25_00, 0, 2), (2, 0, 1_00, 1),
    ]
    months = funded.monthly_totals(SHOP, dt.date(2026, 1, 1), dt.date(2026, 3, 31), "Asia/Kolkata")
    assert [(m.period_start, m.credited_paise) for m in months] == [
        (dt.date(2026, 1, 1), 10_00), (dt.date(2026, 2, 1), 25_00), (dt.date(2026, 3, 1), 0),
    ]
    # The same payments seen from UTC fall on other days.
    utc_days = funded.daily_totals(SHOP, dt.date(2026, 1, 31), dt.date(2026, 2, 1), "UTC")
    assert [d.credited_paise for d in utc_days] == [30_00, 5_00]


def test_report_handles_daylight_saving_days(funded):
    # 29 March 2026: Europe/London springs forward, the day has 23 hours.
    london = dt.timezone(dt.timedelta(hours=1))
    at(funded, dt.datetime(2026, 3, 29, 23, 30, tzinfo=london)).transfer(ALICE, SHOP, 1_00)
    days = funded.daily_totals(SHOP, dt.date(2026, 3, 29), dt.date(2026, 3, 30), "Europe/London")
    assert [d.credited_paise for d in days] == [1_00, 0]


def test_report_rejects_bad_ranges(funded):
    with pytest.raises(InvalidEntry):
        funded.daily_totals(SHOP, dt.date(2026, 2, 2), dt.date(2026, 2, 1), "Asia/Kolkata")
    with pytest.raises(InvalidEntry):
        funded.daily_totals(SHOP, dt.date(2024, 1, 1), dt.date(2026, 1, 1), "Asia/Kolkata")
    with pytest.raises(InvalidEntry):
        funded.daily_totals(SHOP, dt.date(2026, 1, 1), dt.date(2026, 1, 2), "Mars/Olympus")


def test_naive_datetimes_are_refused(funded):
    with pytest.raises((ValueError, sa.exc.StatementError), match="naive"):
        at(funded, dt.datetime(2026, 1, 1)).transfer(ALICE, BOB, 1)


# ------------------------------------------------------------------- verify


def test_verify_reports_corrupted_balances(funded, ledger_engine, session):
    funded.hold(ALICE, BANK, 10_00)
    session.commit()
    assert ledgerlib.verify(session).ok
    session.commit()  # end the read transaction before writing elsewhere
    with ledger_engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE ledger_accounts SET posted_paise = posted_paise + 1, held_paise = 0 "
            f"WHERE code = '{BOB}'"
        )
        conn.exec_driver_sql(f"UPDATE ledger_accounts SET held_paise = 0 WHERE code = '{ALICE}'")
    session.rollback()
    report = ledgerlib.verify(session)
    assert not report.ok
    text = report.summary()
    assert f"account {BOB}: stored posted balance 1 but its postings sum to 0" in text
    assert f"account {ALICE}: stored held balance 0 but its pending holds sum to 1000" in text
    assert "trial balance" in text


def test_cli_verify_and_balance(ledger_engine):
    url = ledger_engine.url.render_as_string(hide_password=False)
    if ledger_engine.dialect.name == "postgresql":
        url = schema_url(LEDGER_SCHEMA)
    with Session(ledger_engine) as s, s.begin():
        ledger = Ledger(s)
        ledger.open_account(BANK, "asset", allow_negative=True)
        ledger.open_account(ALICE, "liability")
        ledger.transfer(BANK, ALICE, 1234_50)
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "ledgerlib", *args, "--url", url], capture_output=True, text=True
    )
    ok = run("verify")
    assert ok.returncode == 0 and "ledger OK" in ok.stdout
    shown = run("balance", ALICE)
    assert "available ₹1,234.50" in shown.stdout
    with ledger_engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE ledger_accounts SET posted_paise = 1 WHERE code = '{ALICE}'")
    broken = run("verify")
    assert broken.returncode == 1 and "ledger BROKEN" in broken.stdout


def test_ledgerlib_imports_nothing_from_the_apps():
    code = (
        "import sys, ledgerlib, ledgerlib.__main__;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('pyramid', 'webapp', 'webhook_app', 'huey', 'huey_tasks', 'fake_bank', 'transaction')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.postgres
def test_postgres_refuses_an_unbalanced_entry_at_commit(ledger_engine):
    with Session(ledger_engine) as s, s.begin():
        ledger = Ledger(s)
        ledger.open_account("a", "asset", allow_negative=True)
        ledger.open_account("b", "liability")
        entry = ledger.transfer("a", "b", 100)
    with pytest.raises(sa.exc.DatabaseError, match="does not balance"):
        with ledger_engine.begin() as conn:  # a third leg slipped into an old entry
            conn.exec_driver_sql(
                "INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, "
                f"created_at, balance_after, hash) VALUES ({entry.id}, 1, 5, 'INR', now(), 0, "
                "'x')"
            )
    with pytest.raises(sa.exc.DatabaseError, match="does not balance"):
        with ledger_engine.begin() as conn:  # an entry without postings
            conn.exec_driver_sql(
                "INSERT INTO ledger_entries (fingerprint, memo, metadata, created_at) "
                "VALUES ('x', '', '{}', now())"
            )


def test_ledgerlib_type_checks_strictly():
    """The public API is typed (py.typed ships): mypy --strict finds nothing."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports",
                             str(root / "ledgerlib")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# --------------------------------------------------------- invariants and API

def test_invariant_check_refuses_corrupt_books(funded, session):
    """A stored held balance below the hold's amount (corrupt books): releasing
    the hold would take it negative, so the always-on check refuses before the UPDATE."""
    hold = funded.hold(ALICE, BANK, 30_00)
    session.connection().execute(
        sa.update(accounts).where(accounts.c.code == ALICE).values(held_paise=10_00)
    )
    with pytest.raises(ledgerlib.InvariantViolation,
                       match=f"held balance of {ALICE} would go negative"):
        funded.release_hold(hold.id)
    assert funded.balance(ALICE).held_paise == 10_00  # the transaction is still usable
    # Not a LedgerError: those promise nothing was written, this one asks for a rollback.
    assert not issubclass(ledgerlib.InvariantViolation, ledgerlib.LedgerError)


_CORRUPT_BOOKS_UNDER_O = """
import sys
import sqlalchemy as sa
from sqlalchemy.orm import Session
import ledgerlib
if not sys.flags.optimize:
    sys.exit("not running under python -O")
engine = ledgerlib.create_engine("sqlite://")
ledgerlib.create_all(engine)
with Session(engine) as session:
    ledger = ledgerlib.Ledger(session)
    ledger.open_account("bank", "asset", allow_negative=True)
    ledger.open_account("w", "liability")
    ledger.transfer("bank", "w", 1000)
    hold = ledger.hold("w", "bank", 300)
    accounts = ledgerlib.tables.accounts
    session.execute(sa.update(accounts).where(accounts.c.code == "w").values(held_paise=100))
    try:
        ledger.release_hold(hold.id)
    except ledgerlib.InvariantViolation as error:
        print("refused:", error)
    else:
        sys.exit("the invariant check did not fire")
"""


def test_invariant_checks_stay_on_under_python_O():
    result = subprocess.run([sys.executable, "-O", "-c", _CORRUPT_BOOKS_UNDER_O],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "refused: held balance of w would go negative" in result.stdout


def test_ledgerlib_has_no_assert_statements_and_reports_do_not_import_the_ledger():
    import ast
    import pathlib

    package = pathlib.Path(ledgerlib.__file__).parent
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert not asserts, f"{path.name} has assert statements on lines {asserts}"
    for name in ("reports.py", "verification.py"):
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
                imported.update(alias.name for alias in node.names if not node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        assert not {"ledger", "ledgerlib.ledger", "_core", "_posting", "_holds"} & imported, name


def test_applications_need_only_the_root_names():
    for name in ("metadata", "guard_ddl", "create_all", "NAMING_CONVENTION", "UTCDateTime",
                 "check_paise", "snapshot_session", "configure_sqlite", "tables",
                 "InvariantViolation", "verify", "VerifyReport"):
        assert name in ledgerlib.__all__ and hasattr(ledgerlib, name), name
    assert callable(ledgerlib.verify)
    tables = ledgerlib.tables
    assert [t.name for t in (tables.accounts, tables.entries, tables.postings, tables.holds)] == [
        "ledger_accounts", "ledger_entries", "ledger_postings", "ledger_holds"]
    assert tables.accounts is ledgerlib.metadata.tables["ledger_accounts"]
