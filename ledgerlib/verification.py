"""Re-derive every maintained figure of the ledger and report what disagrees.

Checks: every entry has two or more postings and sums to zero per currency;
postings use their account's currency; each account's stored posted balance
equals the sum of its postings and its held balance the sum of its pending
holds; no account that may not go negative is below zero; the stored balances
of all accounts form a balanced trial balance per currency; committed holds
point at an entry that moved exactly the committed amount (all of the hold, or
the part committed) from the hold's source to its destination; resolved holds
have their resolution time and expired ones their expiry; and, walking each
account's postings in order, every running balance (``balance_after``) and
every link of the account's hash chain (:mod:`ledgerlib.chain`) is re-derived
-- the first posting that does not match is named, even if the stored
balances were edited to agree with it.

:func:`ledgerlib.verify` is exported as ``ledgerlib.verify``; this module is
``ledgerlib.verification`` so that the name means one thing. The command line
``python -m ledgerlib verify --url URL`` runs it in a :func:`ledgerlib.snapshot_session`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from . import chain
from .schema import DEBIT_NORMAL_KINDS, accounts, entries, holds, postings


@dataclass
class VerifyReport:
    """What :func:`ledgerlib.verify` scanned and every problem it found."""

    accounts: int = 0
    entries: int = 0
    postings: int = 0
    holds_pending: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def summary(self) -> str:
        """One line of counts, then one line per problem (for people, not parsers)."""
        head = (
            f"{self.accounts} accounts, {self.entries} entries, {self.postings} postings, "
            f"{self.holds_pending} pending holds"
        )
        if self.ok:
            return f"ledger OK: {head}"
        return "\n".join([f"ledger BROKEN: {head}", *(f"  - {p}" for p in self.problems)])


def verify(session: Session) -> VerifyReport:
    """Scan the whole ledger. Read-only; O(postings).

    On a database taking writes, run it in one snapshot -- a REPEATABLE READ
    transaction on PostgreSQL (see :func:`ledgerlib.snapshot_session`) -- or a movement
    committed between two of its queries looks like a broken balance.
    """
    conn = session.connection()
    report = VerifyReport()
    report.entries = conn.execute(select(func.count()).select_from(entries)).scalar_one()
    report.postings = conn.execute(select(func.count()).select_from(postings)).scalar_one()
    _check_entries(conn, report)
    _check_accounts(conn, report)
    _check_holds(conn, report)
    _check_chains(conn, report)
    return report


def _check_entries(conn: Connection, report: VerifyReport) -> None:
    """Entries balance per currency, have two postings or more, in their accounts' currency."""
    for entry_id, currency, total in conn.execute(
        select(
            postings.c.entry_id,
            postings.c.currency,
            func.sum(postings.c.amount_paise),
        ).group_by(postings.c.entry_id, postings.c.currency)
    ):
        if total != 0:
            report.problems.append(
                f"entry {entry_id} does not balance in {currency}: off by {total} paise"
            )
    lonely = conn.execute(
        select(entries.c.id)
        .outerjoin(postings, postings.c.entry_id == entries.c.id)
        .group_by(entries.c.id)
        .having(func.count(postings.c.id) < 2)
    ).scalars()
    for entry_id in lonely:
        report.problems.append(f"entry {entry_id} has fewer than two postings")

    for posting_id, code in conn.execute(
        select(postings.c.id, accounts.c.code)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(postings.c.currency != accounts.c.currency)
    ):
        report.problems.append(f"posting {posting_id} is not in the currency of {code}")


def _check_accounts(conn: Connection, report: VerifyReport) -> None:
    """Stored balances equal the derived ones and form a trial balance per currency."""
    posting_sums = dict(
        conn.execute(
            select(postings.c.account_id, func.sum(postings.c.amount_paise)).group_by(
                postings.c.account_id
            )
        ).all()
    )
    held_sums = dict(
        conn.execute(
            select(holds.c.source_account_id, func.sum(holds.c.amount_paise))
            .where(holds.c.status == "pending")
            .group_by(holds.c.source_account_id)
        ).all()
    )
    trial_balance: dict[str, int] = defaultdict(int)
    for acc in conn.execute(select(accounts).order_by(accounts.c.id)):
        report.accounts += 1
        sign = 1 if acc.kind in DEBIT_NORMAL_KINDS else -1
        derived_posted = sign * int(posting_sums.get(acc.id, 0))
        derived_held = int(held_sums.get(acc.id, 0))
        if acc.posted_paise != derived_posted:
            report.problems.append(
                f"account {acc.code}: stored posted balance {acc.posted_paise} "
                f"but its postings sum to {derived_posted}"
            )
        if acc.held_paise != derived_held:
            report.problems.append(
                f"account {acc.code}: stored held balance {acc.held_paise} "
                f"but its pending holds sum to {derived_held}"
            )
        if (not acc.allow_negative
                and acc.posted_paise - acc.held_paise < -acc.overdraft_limit_paise):
            report.problems.append(
                f"account {acc.code} may go down to -{acc.overdraft_limit_paise} but its "
                f"available balance is {acc.posted_paise - acc.held_paise}"
            )
        trial_balance[acc.currency] += sign * acc.posted_paise
    for currency, total in sorted(trial_balance.items()):
        if total != 0:
            report.problems.append(
                f"stored balances in {currency} do not form a trial balance: off by {total}"
            )


def _check_holds(conn: Connection, report: VerifyReport) -> None:
    """Counts pending holds; a committed hold points at an entry that moved
    exactly its committed amount from its source to its destination; a
    resolved hold has its resolution time, an expired one its expiry."""
    report.holds_pending = conn.execute(
        select(func.count()).select_from(holds).where(holds.c.status == "pending")
    ).scalar_one()
    for hold_id in conn.execute(
        select(holds.c.id).where(
            holds.c.status == "committed", holds.c.commit_entry_id.is_(None)
        )
    ).scalars():
        report.problems.append(f"hold {hold_id} is committed without an entry")
    _check_hold_commits(conn, report)
    for hold_id, status in conn.execute(
        select(holds.c.id, holds.c.status).where(
            (holds.c.status != "pending") & holds.c.resolved_at.is_(None)
            | (holds.c.status == "expired") & (holds.c.expires_at > holds.c.resolved_at)
            | (holds.c.committed_paise.is_not(None))
            & (holds.c.committed_paise >= holds.c.amount_paise)
        )
    ):
        report.problems.append(f"hold {hold_id} ({status}) has inconsistent amounts or times")


def _check_hold_commits(conn: Connection, report: VerifyReport) -> None:
    """Each committed hold's entry moves its committed amount, source to destination."""
    committed = func.coalesce(holds.c.committed_paise, holds.c.amount_paise)
    moved: dict[int, dict[int, int]] = defaultdict(dict)
    expected: dict[int, tuple[int, int, int]] = {}
    for row in conn.execute(
        select(holds.c.id, holds.c.source_account_id, holds.c.destination_account_id,
               committed.label("committed"), postings.c.account_id,
               func.sum(postings.c.amount_paise).label("amount"))
        .join(postings, postings.c.entry_id == holds.c.commit_entry_id)
        .where(holds.c.status == "committed")
        .group_by(holds.c.id, holds.c.source_account_id, holds.c.destination_account_id,
                  committed, postings.c.account_id)
    ):
        expected[row.id] = (row.source_account_id, row.destination_account_id, row.committed)
        moved[row.id][row.account_id] = int(row.amount)
    for hold_id, (source, destination, amount) in sorted(expected.items()):
        if moved[hold_id] != {source: amount, destination: -amount}:
            report.problems.append(
                f"hold {hold_id}: its commit entry does not move its committed amount "
                f"{amount} from its source to its destination"
            )


def _check_chains(conn: Connection, report: VerifyReport) -> None:
    """Each account's postings, in order: running balance, time order and hash chain.

    Only the first broken posting of an account is reported (every later link
    of its chain breaks with it).
    """
    heads = {}
    for acc in conn.execute(select(accounts).order_by(accounts.c.id)):
        sign = 1 if acc.kind in DEBIT_NORMAL_KINDS else -1
        heads[acc.id] = (acc.code, sign, acc.chain_hash, acc.last_posted_at)
    # Streamed (a server-side cursor on PostgreSQL): the books may be large.
    stream = conn.execute(
        select(postings.c.id, postings.c.entry_id, postings.c.account_id,
               postings.c.amount_paise, postings.c.currency, postings.c.created_at,
               postings.c.balance_after, postings.c.hash)
        .order_by(postings.c.account_id, postings.c.id)
        .execution_options(yield_per=10_000)
    )
    state: dict[int, tuple[int, str, Any]] = {}  # account -> (balance, hash, time)
    broken: set[int] = set()
    for p in stream:
        if p.account_id in broken:
            continue
        code, sign, _, _ = heads[p.account_id]
        balance, previous, last_at = state.get(p.account_id, (0, chain.GENESIS, None))
        balance += sign * p.amount_paise
        problem = None
        if p.balance_after != balance:
            problem = f"running balance {p.balance_after}, but its postings sum to {balance}"
        elif last_at is not None and p.created_at < last_at:
            problem = "stamped earlier than the posting before it"
        elif p.hash != chain.posting_hash(previous, p.entry_id, p.account_id, p.amount_paise,
                                          p.currency, p.balance_after, p.created_at):
            problem = "hash does not match its contents or the chain before it (altered?)"
        if problem is not None:
            broken.add(p.account_id)
            report.problems.append(
                f"posting {p.id} (entry {p.entry_id}) on account {code}: {problem}")
            continue
        state[p.account_id] = (balance, p.hash, p.created_at)
    for account_id, (code, _, head, last_at) in heads.items():
        if account_id in broken:
            continue
        _, expected, expected_at = state.get(account_id, (0, chain.GENESIS, None))
        if head != expected or last_at != expected_at:
            report.problems.append(
                f"account {code}: chain head does not match its latest posting")


def snapshot_session(engine: Engine) -> Session:
    """A session whose transaction sees one snapshot of the database, for verify()."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    return Session(engine)  # SQLite: BEGIN IMMEDIATE already excludes writers
