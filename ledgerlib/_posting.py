"""Posting a journal entry: the PostgreSQL fast path, then the generic path.

The generic path (:meth:`PostingCore._post`) runs on every dialect and is the
single source of truth for errors, replays and idempotency: it locks the
accounts, checks per-currency balance, reversals and funds on the locked rows,
and only then writes the entry, its postings and the balances. On PostgreSQL
:meth:`PostingCore._fast_post` first tries :mod:`ledgerlib.fastpath`; when it
does not apply it has written nothing and the generic path decides.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from . import _statements as sql
from . import chain, fastpath
from ._core import Heads, Locked, posting_time
from ._expiry import ExpiryCore
from .errors import AlreadyReversed, EntryNotFound, IdempotencyConflict, UnbalancedEntry
from .invariants import check_present
from .schema import accounts, entries, postings
from .types import Entry, Hold, Posting
from .validation import SignedLegs, fingerprint_of

Changes = dict[str, int]


def check_balanced_per_currency(signed: SignedLegs, locked: Locked) -> None:
    """Legs are checked as a whole before; each currency must balance on its own."""
    per_currency: dict[str, int] = defaultdict(int)
    for code, amount in signed:
        per_currency[locked[code].currency] += amount
    unbalanced = {cur: total for cur, total in per_currency.items() if total}
    if unbalanced:
        raise UnbalancedEntry(f"entry does not balance per currency: {unbalanced}")


def posting_rows(
    entry_id: int,
    signed: SignedLegs,
    locked: Locked,
    now: dt.datetime,
    heads: Heads,
    running: dict[str, int],
) -> list[dict[str, Any]]:
    """The posting rows of one entry, with running balances and chained hashes.

    ``heads`` (new chain heads) and ``running`` (posted balances) start empty
    for one entry, or carry what earlier entries of a batch moved; both are
    updated. An account's missing values come from its locked row.
    """
    rows = []
    for code, amount in signed:
        acc = locked[code]
        previous, last_at = heads.get(code, (acc.chain_hash, acc.last_posted_at))
        at = posting_time(last_at, now)
        balance_after = running.get(code, acc.posted_paise) + acc.sign * amount
        running[code] = balance_after
        digest = chain.posting_hash(previous, entry_id, acc.id, amount, acc.currency,
                                    balance_after, at)
        heads[code] = (digest, at)
        rows.append({
            "entry_id": entry_id, "account_id": acc.id, "amount_paise": amount,
            "currency": acc.currency, "created_at": at, "balance_after": balance_after,
            "hash": digest,
        })
    return rows


def _entries_table_name(conn: Connection) -> str:
    """ledger_entries as this connection names it (a schema_translate_map moves it)."""
    schema = (conn.get_execution_options().get("schema_translate_map") or {}).get(
        entries.schema)
    return entries.name if schema is None else f'"{schema}".{entries.name}'


class PostingCore(ExpiryCore):
    """Reading and posting entries (see :class:`ledgerlib.Ledger`)."""

    #: Try :mod:`ledgerlib.fastpath` (one statement) before the generic path on
    #: PostgreSQL. Tests switch it off to compare both paths.
    _fast_path = True

    def get_entry(self, entry_id: int) -> Entry:
        """The entry with this id; :class:`~ledgerlib.EntryNotFound` if none."""
        row = self._conn.execute(select(entries).where(entries.c.id == entry_id)).first()
        if row is None:
            raise EntryNotFound(entry_id)
        return self._entry_from_row(row)

    def find_entry(self, idempotency_key: str) -> Entry | None:
        """The entry posted with this idempotency key, if any."""
        row = self._conn.execute(
            select(entries).where(entries.c.idempotency_key == idempotency_key)
        ).first()
        return None if row is None else self._entry_from_row(row)

    def _entry_from_row(self, row: Row[Any]) -> Entry:
        leg_rows = self._conn.execute(
            select(accounts.c.code, postings.c.amount_paise, postings.c.currency)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(postings.c.entry_id == row.id)
            .order_by(postings.c.id)
        ).all()
        return Entry(
            id=row.id,
            idempotency_key=row.idempotency_key,
            memo=row.memo,
            metadata=row.metadata,
            created_at=row.created_at,
            reverses_entry_id=row.reverses_entry_id,
            postings=tuple(Posting(r.code, r.amount_paise, r.currency) for r in leg_rows),
        )

    def _post(
        self,
        signed: SignedLegs,
        *,
        kind: str,
        idempotency_key: str | None,
        memo: str,
        metadata: dict[str, Any],
        reverses_entry_id: int | None = None,
        resolving_hold: Row[Any] | None = None,
    ) -> Entry:
        """Post ``signed`` (validated legs); every check runs before the first write.

        ``resolving_hold`` (the locked, pending hold row this entry commits)
        also releases its held amount from the source.
        """
        fingerprint = fingerprint_of(kind, signed, str(reverses_entry_id or ""))
        if reverses_entry_id is None and resolving_hold is None:
            fast = self._fast_post(signed, idempotency_key, fingerprint, memo, metadata)
            if fast is not None:
                return fast
        # (commit_hold tries the fast path itself, reversals never do.)
        # The generic path: every dialect, every case, every error.
        locked = self._lock_accounts({code for code, _ in signed})
        check_balanced_per_currency(signed, locked)
        posted_change, held_change = self._balance_changes(signed, locked, resolving_hold)
        if reverses_entry_id is not None:
            self._check_not_reversed(reverses_entry_id, idempotency_key)
        shortfall = self._shortfall_after_expiry(
            locked, posted_change, held_change,
            keep_hold_id=None if resolving_hold is None else resolving_hold.id,
        )
        if shortfall is not None:
            # A replay of a movement that already happened is not an overdraft.
            replay = self._replayed_entry(idempotency_key, fingerprint)
            if replay is not None:
                return replay
            raise shortfall

        now = self.clock()
        heads: Heads = {}
        entry_id = self._insert_entry(
            idempotency_key, fingerprint, memo, metadata, reverses_entry_id, now,
            signed, locked, heads,
        )
        if entry_id is None:  # the key was taken: nothing of ours was written
            return check_present(self._replayed_entry(idempotency_key, fingerprint),
                                 "conflicting insert but no entry found")
        self._apply_balance_changes(locked, posted_change, held_change, heads)
        return Entry(
            id=entry_id,
            idempotency_key=idempotency_key,
            memo=memo,
            metadata=metadata,
            created_at=now,
            reverses_entry_id=reverses_entry_id,
            postings=tuple(
                Posting(code, amount, locked[code].currency) for code, amount in signed
            ),
        )

    def _balance_changes(
        self, signed: SignedLegs, locked: Locked, resolving_hold: Row[Any] | None
    ) -> tuple[Changes, Changes]:
        """(posted, held) change per account code, on each account's normal side."""
        posted_change: Changes = defaultdict(int)
        held_change: Changes = defaultdict(int)
        for code, amount in signed:
            posted_change[code] += locked[code].sign * amount
        if resolving_hold is not None:
            source = self._code_of(locked, resolving_hold.source_account_id)
            held_change[source] -= resolving_hold.amount_paise
        return posted_change, held_change

    def _check_not_reversed(self, entry_id: int, idempotency_key: str | None) -> None:
        """An entry is reversed once; the same reversal again is a replay, not an error."""
        existing_reversal = self._conn.execute(
            select(entries.c.idempotency_key).where(entries.c.reverses_entry_id == entry_id)
        ).first()
        if existing_reversal is not None and existing_reversal[0] != idempotency_key:
            raise AlreadyReversed(f"entry {entry_id} is already reversed")

    def _insert_entry(
        self,
        idempotency_key: str | None,
        fingerprint: str,
        memo: str,
        metadata: dict[str, Any],
        reverses_entry_id: int | None,
        now: dt.datetime,
        signed: SignedLegs,
        locked: Locked,
        heads: Heads,
    ) -> int | None:
        """Insert the entry and its postings (filling ``heads``); the new
        entry's id, or None if ``idempotency_key`` is taken (nothing written).

        PostgreSQL: one statement (its guard wants an entry's postings in the
        statement that inserts it), with an id drawn first for the hashes.
        """
        entry = {
            "idempotency_key": idempotency_key, "fingerprint": fingerprint, "memo": memo,
            "metadata": metadata, "reverses_entry_id": reverses_entry_id, "created_at": now,
        }
        if now.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; pass an aware one")
        if self._dialect == "postgresql":
            conn = self._conn
            entry_id = int(conn.execute(
                sql.NEXT_ENTRY_ID, {"table": _entries_table_name(conn)}).scalar_one())
            rows = posting_rows(entry_id, signed, locked, now, heads, {})
            params = {f"{column}_{i}": value for i, row in enumerate(rows)
                      for column, value in row.items() if column != "entry_id"}
            written = conn.execute(sql.pg_entry_with_postings(len(rows)),
                                   {**entry, **params, "id": entry_id}).first()
            return None if written is None else entry_id
        new_id: int | None = self._conn.execute(
            sql.insert_returning_id(
                "ledger_entries", self._dialect,
                None if idempotency_key is None else "idempotency_key",
            ),
            entry,
        ).scalar()
        if new_id is not None:
            self._insert_postings(posting_rows(new_id, signed, locked, now, heads, {}))
        return new_id

    def _insert_postings(self, rows: list[dict[str, Any]]) -> None:
        params = {f"{column}_{i}": value
                  for i, row in enumerate(rows) for column, value in row.items()}
        self._conn.execute(sql.insert_postings(len(rows)), params)

    def _fast_post(
        self,
        signed: SignedLegs,
        idempotency_key: str | None,
        fingerprint: str,
        memo: str,
        metadata: dict[str, Any],
        hold: Hold | None = None,
    ) -> Entry | None:
        """The one-statement PostgreSQL path (:mod:`ledgerlib.fastpath`).

        None -- having written nothing -- when it does not apply here or any
        check fails; the generic path then decides, raises or replays. With
        ``hold`` (locked, pending) the statement also commits that hold.
        """
        if not self._fast_path:
            return None
        conn = self._conn
        if not fastpath.usable(conn):
            return None
        now = self.clock()
        posted = fastpath.try_post(
            conn, signed, idempotency_key=idempotency_key, fingerprint=fingerprint,
            memo=memo, metadata=metadata, created_at=now,
            hold=None if hold is None else (hold.id, hold.source_code, hold.amount_paise),
        )
        if posted is None:
            return None
        return fastpath.posted_entry(signed, posted, idempotency_key=idempotency_key,
                                     memo=memo, metadata=metadata, created_at=now)

    def _replayed_entry(self, idempotency_key: str | None, fingerprint: str) -> Entry | None:
        """The entry already posted with this key and movement (marked replayed), if any.

        Raises :class:`~ledgerlib.IdempotencyConflict` if the key was used for another movement.
        """
        if idempotency_key is None:
            return None
        row = self._conn.execute(
            select(entries).where(entries.c.idempotency_key == idempotency_key)
        ).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise IdempotencyConflict(
                f"idempotency key {idempotency_key!r} was used for a different movement"
            )
        return replace(self._entry_from_row(row), replayed=True)
