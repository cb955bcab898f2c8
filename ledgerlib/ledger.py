"""The ledger: accounts, balanced journal entries, holds and reversals.

Concurrency scheme: every operation that changes balances first locks the
rows of all accounts it touches with ``SELECT ... FOR NO KEY UPDATE`` in
ascending account id order (holds: the hold row first, then its accounts):
the mode that excludes every other balance change but not the foreign-key
checks of rows that reference the account (``FOR KEY SHARE``). A single
global order means two transactions can never wait on each other in a cycle,
so PostgreSQL raises no deadlock, and the funds check runs on locked, current
balances, so no update is lost and no wallet goes negative. SQLite has no row
locks; it serialises writers (use :func:`ledgerlib.create_engine`, which
begins write transactions with ``BEGIN IMMEDIATE``).

Every check runs before the first write, so an operation that raises a
:class:`~ledgerlib.LedgerError` has written nothing: the caller may catch the
error and still commit. (An :class:`~ledgerlib.InvariantViolation` means
corrupt books or a bug; roll back.)

On PostgreSQL, ``post``/``transfer`` and ``commit_hold`` first try
:mod:`ledgerlib.fastpath`: the same locks (same order) and the same checks,
then the writes, all in one statement. When it does not apply it has written
nothing, and the generic path (:mod:`ledgerlib._posting`) -- the single source
of truth for errors, replays and idempotency, and the only path on SQLite --
does the work.

The class is assembled from layers: :mod:`ledgerlib._core` (session, locks,
funds checks, balance updates), :mod:`ledgerlib._posting` (entries),
:mod:`ledgerlib._holds` (holds) and this module (the public operations on
accounts and entries, history, and the report and verify shortcuts).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update

from . import _statements as sql
from . import asof, reports, verification
from ._batch import BatchOperations
from ._holds import HoldOperations
from .errors import AccountExists, AccountNotFound, InsufficientFunds
from .reports import PeriodTotal
from .schema import accounts, entries, postings
from .types import (
    Account,
    Balance,
    Entry,
    HistoryItem,
    HistoryPage,
    Leg,
    PeriodBalances,
    credit,
    debit,
)
from .validation import (
    check_key,
    check_memo,
    check_metadata,
    check_new_account,
    check_overdraft_limit,
    check_page_size,
    decode_cursor,
    validate_legs,
)
from .verification import VerifyReport


class Ledger(HoldOperations, BatchOperations):
    """Double-entry ledger operations on a caller-owned SQLAlchemy session.

    ``Ledger(session, *, clock=utcnow)``. The ledger never commits or rolls
    back: the caller's transaction decides. ``clock`` returns the aware UTC
    time stamped on new rows (tests and data seeding pass their own).

    Accounts: :meth:`open_account`, :meth:`get_account`, :meth:`balance`,
    :meth:`set_overdraft_limit`. Entries: :meth:`transfer`, :meth:`post`,
    :meth:`post_batch`, :meth:`reverse`, :meth:`get_entry`, :meth:`find_entry`.
    Holds: :meth:`hold`, :meth:`commit_hold`, :meth:`release_hold`,
    :meth:`get_hold`, :meth:`pending_holds`. Reading: :meth:`history`,
    :meth:`balance_as_of`, :meth:`balances_between`, :meth:`daily_totals`,
    :meth:`monthly_totals`, :meth:`chain_heads`, :meth:`verify`.
    """

    # ------------------------------------------------------------------ accounts

    def open_account(
        self,
        code: str,
        kind: str,
        *,
        currency: str = "INR",
        allow_negative: bool = False,
        overdraft_limit_paise: int = 0,
        owner_ref: str | None = None,
    ) -> Account:
        """Create an account, or return the existing one with the same properties.

        The available balance (posted - held) of an account may go down to
        ``-overdraft_limit_paise`` (default 0: never below zero); with
        ``allow_negative`` it has no lower bound at all (e.g. a bank's
        settlement asset). Raises :class:`AccountExists` if ``code`` exists
        with other properties.
        """
        check_new_account(code, kind, currency)
        wanted = dict(
            code=code,
            kind=kind,
            currency=currency,
            allow_negative=bool(allow_negative),
            overdraft_limit_paise=check_overdraft_limit(overdraft_limit_paise),
            owner_ref=owner_ref,
        )
        self._conn.execute(
            sql.insert_returning_id("ledger_accounts", self._dialect, "code"),
            {**wanted, "posted_paise": 0, "held_paise": 0, "chain_hash": "",
             "last_posted_at": None, "created_at": self.clock()},
        )
        account = self.get_account(code)
        existing = {k: getattr(account, k) for k in wanted}
        if existing != wanted:
            raise AccountExists(f"account {code} exists with {existing}, not {wanted}")
        return account

    def set_overdraft_limit(self, code: str, overdraft_limit_paise: int) -> Account:
        """Change how far below zero the account's available balance may go.

        Lowering it under what the account already uses raises
        :class:`InsufficientFunds` (nothing changes).
        """
        limit = check_overdraft_limit(overdraft_limit_paise)
        acc = self._lock_accounts({code})[code]
        available = acc.posted_paise - acc.held_paise
        if not acc.allow_negative and available < -limit:
            raise InsufficientFunds(code, available + limit, 0)
        self._conn.execute(
            update(accounts).where(accounts.c.id == acc.id)
            .values(overdraft_limit_paise=limit)
        )
        return self.get_account(code)

    def balance_as_of(self, code: str, at: dt.datetime) -> int:
        """Posted balance (normal side) after every posting stamped at or before ``at``.

        One index lookup on the running balance kept per posting (holds are not
        postings: they are not counted). See :mod:`ledgerlib.asof`.
        """
        return asof.balance_as_of(self._conn, code, at)

    def balances_between(self, code: str, start: dt.datetime, end: dt.datetime
                         ) -> PeriodBalances:
        """Opening and closing posted balances of ``[start, end)``: two index lookups."""
        return asof.balances_between(self._conn, code, start, end)

    def balances_before(self, code: str, instants: Sequence[dt.datetime]) -> list[int]:
        """The posted balance just before each instant, in one statement (a
        report's closing balances per day or month)."""
        return asof.balances_before(self._conn, code, instants)

    def chain_heads(self) -> dict[str, str]:
        """Each account's latest posting hash (see :mod:`ledgerlib.chain`).

        Keep a copy elsewhere (a log, a published digest): a later
        :meth:`verify` plus these heads shows that no earlier posting was
        rewritten, even by someone who recomputed the chain.
        """
        return {code: head for code, head in self._conn.execute(
            select(accounts.c.code, accounts.c.chain_hash).order_by(accounts.c.code))}

    def balance(self, code: str) -> Balance:
        """The maintained balance: one indexed row read, no scan of postings."""
        row = self._conn.execute(
            select(
                accounts.c.currency, accounts.c.posted_paise, accounts.c.held_paise
            ).where(accounts.c.code == code)
        ).first()
        if row is None:
            raise AccountNotFound(code)
        return Balance(code, row.currency, row.posted_paise, row.held_paise)

    # ------------------------------------------------------------------- entries

    def transfer(
        self,
        source: str,
        destination: str,
        amount_paise: int,
        *,
        idempotency_key: str | None = None,
        memo: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Move money: debit ``source``, credit ``destination``.

        For liability accounts such as wallets this takes money from the source
        wallet; for an asset such as a bank settlement account it records money
        arriving from the bank.
        """
        return self.post(
            [debit(source, amount_paise), credit(destination, amount_paise)],
            idempotency_key=idempotency_key,
            memo=memo,
            metadata=metadata,
        )

    def post(
        self,
        legs: Sequence[Leg],
        *,
        idempotency_key: str | None = None,
        memo: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Post a balanced journal entry of two or more legs.

        With an ``idempotency_key`` already used for the same legs, returns the
        original entry and moves nothing; for other legs raises
        :class:`IdempotencyConflict`.
        """
        signed = validate_legs(legs)
        return self._post(
            signed,
            kind="entry",
            idempotency_key=check_key(idempotency_key),
            memo=check_memo(memo),
            metadata=check_metadata(metadata),
        )

    def reverse(
        self,
        entry_id: int,
        *,
        idempotency_key: str | None = None,
        memo: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Post the exact opposite of an entry. An entry is reversed at most once.

        Reversing again with the same key (default ``reverse:<entry_id>``)
        returns the reversal; any other reversal raises :class:`AlreadyReversed`.
        """
        original = self.get_entry(entry_id)
        signed = [(p.account_code, -p.amount_paise) for p in original.postings]
        return self._post(
            signed,
            kind="reversal",
            idempotency_key=check_key(idempotency_key or f"reverse:{entry_id}"),
            memo=check_memo(memo if memo is not None else f"reversal of entry {entry_id}"),
            metadata=check_metadata(metadata),
            reverses_entry_id=entry_id,
        )

    # ------------------------------------------------------------------ history

    def history(
        self,
        code: str,
        *,
        limit: int = 20,
        cursor: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> HistoryPage:
        """The account's postings, newest first, ``limit`` at a time (keyset paging).

        With ``start``/``end``, only postings stamped in ``[start, end)``; each
        item carries the balance right after it (``balance_after_paise``).
        """
        check_page_size(limit)
        account = self.get_account(code)
        sign = 1 if account.normal_side == "debit" else -1
        stmt = (
            select(
                postings.c.id,
                postings.c.entry_id,
                postings.c.amount_paise,
                postings.c.created_at,
                postings.c.balance_after,
                entries.c.memo,
                entries.c.metadata,
                entries.c.reverses_entry_id,
            )
            .join(entries, entries.c.id == postings.c.entry_id)
            .where(postings.c.account_id == account.id)
            .order_by(postings.c.id.desc())
            .limit(limit + 1)
        )
        if cursor is not None:
            stmt = stmt.where(postings.c.id < decode_cursor(cursor))
        if start is not None:
            stmt = stmt.where(postings.c.created_at >= start)
        if end is not None:
            stmt = stmt.where(postings.c.created_at < end)
        rows = self._conn.execute(stmt).all()
        more = len(rows) > limit
        rows = rows[:limit]
        counterparties = self._counterparties(account.id, {r.entry_id for r in rows})
        items = tuple(
            HistoryItem(
                posting_id=r.id,
                entry_id=r.entry_id,
                change_paise=sign * r.amount_paise,
                created_at=r.created_at,
                memo=r.memo,
                metadata=r.metadata,
                reverses_entry_id=r.reverses_entry_id,
                counterparty_codes=tuple(counterparties[r.entry_id]),
                balance_after_paise=r.balance_after,
            )
            for r in rows
        )
        return HistoryPage(items, str(rows[-1].id) if more else None)

    def _counterparties(self, account_id: int, entry_ids: set[int]) -> dict[int, list[str]]:
        """The other accounts' codes of each entry, in posting order."""
        counterparties: dict[int, list[str]] = defaultdict(list)
        if entry_ids:
            for entry_id, other_code in self._conn.execute(
                select(postings.c.entry_id, accounts.c.code)
                .join(accounts, accounts.c.id == postings.c.account_id)
                .where(
                    postings.c.entry_id.in_(entry_ids),
                    postings.c.account_id != account_id,
                )
                .order_by(postings.c.id)
            ):
                counterparties[entry_id].append(other_code)
        return counterparties

    # ------------------------------------------------- reports and verification

    def daily_totals(
        self, code: str, start: dt.date, end: dt.date, tz: str
    ) -> list[PeriodTotal]:
        """Credited/debited totals per local day in ``tz``, ``start``..``end`` inclusive."""
        return reports.daily_totals(self._conn, code, start, end, tz)

    def monthly_totals(
        self, code: str, start: dt.date, end: dt.date, tz: str
    ) -> list[PeriodTotal]:
        """Credited/debited totals per local month in ``tz`` (months of start..end)."""
        return reports.monthly_totals(self._conn, code, start, end, tz)

    def verify(self) -> VerifyReport:
        """Re-derive every balance from postings and holds; see :mod:`ledgerlib.verification`."""
        return verification.verify(self.session)
