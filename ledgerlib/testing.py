"""A test kit for projects that keep their books with ledgerlib.

It runs random sequences of ledger operations -- transfers, holds, partial
commits, releases, reversals, each sometimes repeated with its idempotency
key -- on *your* account layout, in *your* database, and checks after every
sequence that:

* **money is conserved**: debit-normal balances equal credit-normal ones in
  every currency, and each balance equals the sum of its postings;
* **nothing goes negative** that may not: no account without
  ``allow_negative`` has an available balance below zero;
* **replays move nothing**: repeating an operation with its idempotency key
  returns the first result (``replayed``) and leaves every balance as it was;
* **verify is clean**: :func:`ledgerlib.verify` finds no problem.

Use it as a pytest plugin (``pytest_plugins = ["ledgerlib.testing"]`` in your
top-level ``conftest.py``, or ``pytest -p ledgerlib.testing``), give it your
accounts with a ``ledgerlib_setup`` fixture, and collect the tests by
subclassing :class:`LedgerPropertyTests`::

    # conftest.py
    import pytest
    from ledgerlib.testing import LedgerSetup

    pytest_plugins = ["ledgerlib.testing"]

    @pytest.fixture
    def ledgerlib_setup():
        def setup(ledger):
            ledger.open_account("bank", "asset", allow_negative=True)
            for code in ("alice", "bob"):
                ledger.open_account(code, "liability")
            return LedgerSetup(funding="bank", accounts=("alice", "bob"))
        return setup

    # test_books.py
    from ledgerlib.testing import LedgerPropertyTests

    class TestOurBooks(LedgerPropertyTests):
        max_examples = 100

The database comes from ``--ledgerlib-url`` or the ``LEDGERLIB_TEST_URL``
environment variable (default: a temporary SQLite file); on PostgreSQL the
kit works in a schema of its own, created and dropped around the tests. Or
override the ``ledgerlib_engine`` fixture to hand it an engine whose database
already has the ledger's tables (say, one your migrations made).

Without pytest, :func:`check_ledger_properties` runs the same checks and
raises :class:`AssertionError` on the first failure. The kit needs
``hypothesis`` (and ``pytest`` for the plugin); ``import ledgerlib`` does not
import this module.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from .db import create_engine
from .errors import (
    AlreadyReversed,
    HoldAlreadyResolved,
    InsufficientFunds,
    InvalidAmount,
    LedgerError,
)
from .ledger import Ledger
from .schema import DEBIT_NORMAL_KINDS, accounts, create_all
from .verification import verify

__all__ = [
    "LedgerPropertyTests", "LedgerSetup", "assert_money_conserved", "assert_no_negative",
    "assert_verified", "check_ledger_properties",
]

ALL_CHECKS = frozenset({"conservation", "no_negative", "replay", "verify"})


def _require(condition: bool, message: str) -> None:
    """A failed check, as pytest reports it; unlike ``assert``, kept under ``python -O``."""
    if not condition:
        raise AssertionError(message)


@dataclass(frozen=True)
class LedgerSetup:
    """The accounts the random operations may use.

    ``accounts``: codes money moves between (at least two). ``funding``: an
    account that may go negative (a bank's settlement account, say) from which
    each sequence first funds the others; None to move only what is there.
    ``amounts``: the largest single amount, in minor units.
    """

    accounts: Sequence[str]
    funding: str | None = None
    max_amount: int = 50_000


#: Your setup: opens (or finds) the accounts on a fresh ledger, in the
#: transaction the kit rolls back afterwards, and says which to use.
AccountSetup = Callable[[Ledger], LedgerSetup]


# ------------------------------------------------------------------ checks


def assert_money_conserved(session: Session) -> None:
    """Per currency, debit-normal balances equal credit-normal ones, and each
    account's stored posted balance equals the sum of its postings."""
    totals: dict[str, int] = defaultdict(int)
    for row in session.execute(sa.select(accounts.c.kind, accounts.c.currency,
                                         accounts.c.posted_paise)):
        sign = 1 if row.kind in DEBIT_NORMAL_KINDS else -1
        totals[row.currency] += sign * row.posted_paise
    unbalanced = {currency: total for currency, total in totals.items() if total}
    _require(not unbalanced, f"money is not conserved: off by {unbalanced}")


def assert_no_negative(session: Session) -> None:
    """No account that may not go negative has an available balance below zero."""
    below = session.execute(
        sa.select(accounts.c.code, accounts.c.posted_paise - accounts.c.held_paise).where(
            ~accounts.c.allow_negative,
            accounts.c.posted_paise - accounts.c.held_paise < 0)
    ).all()
    _require(not below, f"accounts below zero: {below}")


def assert_verified(session: Session) -> None:
    """:func:`ledgerlib.verify` finds nothing wrong."""
    report = verify(session)
    _require(report.ok, report.summary())


# ------------------------------------------------------- random operations

def _operations(count: int, max_amount: int) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    index = st.integers(0, max(count - 1, 0))
    amount = st.integers(1, max_amount)
    pick = st.integers(0, 50)
    return st.lists(st.one_of(
        st.tuples(st.just("transfer"), index, index, amount),
        st.tuples(st.just("hold"), index, index, amount),
        st.tuples(st.just("commit"), pick, st.one_of(st.none(), amount)),
        st.tuples(st.just("release"), pick),
        st.tuples(st.just("reverse"), pick),
        st.tuples(st.just("replay"), pick),
    ), max_size=30)


class _Run:
    """One sequence of operations on one ledger; remembers what it did."""

    def __init__(self, ledger: Ledger, setup: LedgerSetup, checks: frozenset[str]):
        self.ledger, self.setup, self.checks = ledger, setup, checks
        self.prefix = secrets.token_hex(4)  # keys unique to this run
        self.done: list[Callable[[], Any]] = []  # operations that can be replayed
        self.entries: list[int] = []
        self.holds: list[int] = []

    def snapshot(self) -> dict[str, tuple[int, int]]:
        rows = self.ledger.session.execute(
            sa.select(accounts.c.code, accounts.c.posted_paise, accounts.c.held_paise))
        return {row.code: (row.posted_paise, row.held_paise) for row in rows}

    def key(self) -> str:
        return f"ledgerlib-kit:{self.prefix}:{len(self.done) + len(self.entries)}:" \
               f"{secrets.token_hex(4)}"

    def apply(self, op: tuple[Any, ...]) -> None:
        codes = list(self.setup.accounts)
        kind = op[0]
        try:
            if kind in ("transfer", "hold") and codes:
                source, destination = codes[op[1] % len(codes)], codes[op[2] % len(codes)]
                if source == destination:
                    return
                self._run_keyed(kind, source, destination, op[3])
            elif kind == "commit" and self.holds:
                hold_id, amount = self.holds[op[1] % len(self.holds)], op[2]
                self._replayable(lambda: self.ledger.commit_hold(hold_id, amount))
            elif kind == "release" and self.holds:
                hold_id = self.holds[op[1] % len(self.holds)]
                self.ledger.release_hold(hold_id)
            elif kind == "reverse" and self.entries:
                entry_id = self.entries[op[1] % len(self.entries)]
                self._replayable(lambda: self.ledger.reverse(entry_id))
            elif kind == "replay" and self.done:
                self.replay(self.done[op[1] % len(self.done)])
        except (InsufficientFunds, HoldAlreadyResolved, AlreadyReversed, InvalidAmount):
            pass  # refused: LedgerError promises nothing was written (checked below)

    def _run_keyed(self, kind: str, source: str, destination: str, amount: int) -> None:
        key = self.key()
        if kind == "transfer":
            def transfer() -> Any:
                return self.ledger.transfer(source, destination, amount, idempotency_key=key)
            self._replayable(transfer)
        else:
            def hold() -> Any:
                return self.ledger.hold(source, destination, amount, idempotency_key=key)
            self._replayable(hold)

    def _replayable(self, operation: Callable[[], Any]) -> None:
        before = self.snapshot()
        try:
            result = operation()
        except LedgerError:
            _require(self.snapshot() == before, "a refused operation changed balances")
            raise
        if getattr(result, "replayed", False):
            return
        self.done.append(operation)
        if hasattr(result, "postings"):
            self.entries.append(result.id)
        else:
            self.holds.append(result.id)

    def replay(self, operation: Callable[[], Any]) -> None:
        before = self.snapshot()
        try:
            result = operation()
        except LedgerError:
            # A hold whose commit was replayed after a release, say: refused, and
            # still nothing may move.
            _require(self.snapshot() == before, "a refused replay changed balances")
            return
        if "replay" in self.checks:
            _require(self.snapshot() == before, "a replay moved money")
            if hasattr(result, "postings"):
                _require(result.replayed, "a replay was not marked replayed")

    def check(self, session: Session) -> None:
        if "conservation" in self.checks:
            assert_money_conserved(session)
        if "no_negative" in self.checks:
            assert_no_negative(session)
        if "verify" in self.checks:
            assert_verified(session)


def _covering_sequence(max_amount: int) -> list[tuple[Any, ...]]:
    """Every kind of operation, each followed by its replay: run before the
    random sequences, so that each check sees each kind at least once whatever
    hypothesis draws (random draws alone missed a replayed transfer now and
    then, and a broken ledger passed)."""
    a = max(2, max_amount // 10)
    return [
        ("transfer", 0, 1, a), ("replay", 0),  # done[0], entries[0]
        ("hold", 1, 0, a), ("replay", 1),  # done[1], holds[0]
        ("commit", 0, None), ("replay", 2),  # done[2], entries[1]
        ("hold", 0, 1, a), ("commit", 1, a // 2), ("replay", 4),  # a partial commit: done[4]
        ("hold", 0, 1, a), ("release", 2),
        ("reverse", 0), ("replay", 6),  # the first transfer reversed: done[6]
    ]


def check_ledger_properties(
    engine: sa.Engine,
    setup: AccountSetup,
    *,
    checks: frozenset[str] = ALL_CHECKS,
    max_examples: int = 50,
    clock: Callable[[], dt.datetime] | None = None,
    shrink: bool = True,
) -> None:
    """Run a fixed sequence that covers every kind of operation, then random
    operation sequences, on ``engine`` with your ``setup``; each in a
    transaction that is rolled back. Raises AssertionError on a failed check
    (a random sequence first shrunk by hypothesis to a short one, unless
    ``shrink`` is False)."""
    unknown = set(checks) - ALL_CHECKS
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}; choose from {sorted(ALL_CHECKS)}")

    def run(operations: Callable[[LedgerSetup], Sequence[tuple[Any, ...]]]) -> None:
        with Session(engine) as session:
            session.begin()
            try:
                ledger = Ledger(session) if clock is None else Ledger(session, clock=clock)
                layout = setup(ledger)
                if len(layout.accounts) < 2:
                    raise ValueError("LedgerSetup needs at least two accounts")
                sequence = _Run(ledger, layout, frozenset(checks))
                if layout.funding is not None:
                    for code in layout.accounts:
                        ledger.transfer(layout.funding, code, layout.max_amount * 4)
                for op in operations(layout):
                    sequence.apply(op)
                sequence.check(session)
            finally:
                session.rollback()

    run(lambda layout: _covering_sequence(layout.max_amount))
    phases = tuple(Phase) if shrink else (Phase.generate,)

    @settings(max_examples=max_examples, deadline=None, database=None, phases=phases,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def sequences(data: st.DataObject) -> None:
        run(lambda layout: data.draw(_operations(len(layout.accounts), layout.max_amount)))

    sequences()


# -------------------------------------------------------------- the plugin

def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--ledgerlib-url", default=None,
                     help="database URL for ledgerlib.testing (default: LEDGERLIB_TEST_URL, "
                          "else a temporary SQLite file)")


@pytest.fixture
def ledgerlib_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The database the kit's tests use; override to choose your own."""
    url = request.config.getoption("--ledgerlib-url") or os.environ.get("LEDGERLIB_TEST_URL")
    return str(url or f"sqlite:///{tmp_path / 'ledgerlib-kit.db'}")


@pytest.fixture
def ledgerlib_engine(ledgerlib_url: str) -> Iterator[sa.Engine]:
    """An engine with the ledger's tables: in a fresh schema on PostgreSQL
    (dropped afterwards), in the file itself on SQLite."""
    if not ledgerlib_url.startswith("postgresql"):
        engine = create_engine(ledgerlib_url)
        create_all(engine)
        yield engine
        engine.dispose()
        return
    schema = f"ledgerlib_kit_{secrets.token_hex(4)}"
    admin = sa.create_engine(ledgerlib_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = create_engine(ledgerlib_url)

    # SET LOCAL in each transaction, not a connection option: that also works
    # behind PgBouncer in transaction mode, which refuses startup options.
    @sa.event.listens_for(engine, "begin")
    def _use_schema(conn: sa.Connection) -> None:
        conn.exec_driver_sql(f"SET LOCAL search_path TO {schema}")

    try:
        create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def ledgerlib_setup() -> AccountSetup:
    """Your accounts (override this fixture). The default: a bank settlement
    account that may go negative, and three wallets."""
    def setup(ledger: Ledger) -> LedgerSetup:
        ledger.open_account("kit:bank", "asset", allow_negative=True)
        wallets = ("kit:wallet:1", "kit:wallet:2", "kit:wallet:3")
        for code in wallets:
            ledger.open_account(code, "liability")
        return LedgerSetup(accounts=wallets, funding="kit:bank")
    return setup


class LedgerPropertyTests:
    """Subclass in a test module to run the kit's property tests on your setup.

    Uses the fixtures ``ledgerlib_engine`` and ``ledgerlib_setup``; set
    ``max_examples`` on the subclass to run more or fewer sequences.
    """

    max_examples = 30

    def _run(self, engine: sa.Engine, setup: AccountSetup, check: str) -> None:
        check_ledger_properties(engine, setup, checks=frozenset({check}),
                                max_examples=self.max_examples)

    def test_money_is_conserved(self, ledgerlib_engine: sa.Engine,
                                ledgerlib_setup: AccountSetup) -> None:
        self._run(ledgerlib_engine, ledgerlib_setup, "conservation")

    def test_nothing_goes_negative(self, ledgerlib_engine: sa.Engine,
                                   ledgerlib_setup: AccountSetup) -> None:
        self._run(ledgerlib_engine, ledgerlib_setup, "no_negative")

    def test_replays_move_nothing(self, ledgerlib_engine: sa.Engine,
                                  ledgerlib_setup: AccountSetup) -> None:
        self._run(ledgerlib_engine, ledgerlib_setup, "replay")

    def test_verify_is_clean(self, ledgerlib_engine: sa.Engine,
                             ledgerlib_setup: AccountSetup) -> None:
        self._run(ledgerlib_engine, ledgerlib_setup, "verify")
