"""Batches: many entries in one call and three database round trips.

:meth:`BatchOperations.post_batch` posts its items as if each were posted by
:meth:`ledgerlib.Ledger.post` in order -- the same checks, the same
idempotency keys and fingerprints (a batch item replays a single post and the
other way round), funds checked on locked rows, each item seeing the balances
the earlier ones left -- but it talks to the database three times on PostgreSQL,
whatever the number of items:

1. lock every account of the batch (one ``SELECT ... ORDER BY id FOR NO KEY UPDATE``:
   the library's one global lock order, so concurrent batches, single posts
   and holds never deadlock);
2. look up the items' idempotency keys (after the locks: an entry posted
   meanwhile by a transaction we waited on is seen) and, in the same
   statement, reserve the new entries' ids (``nextval`` of their sequence);
3. write every entry, posting (running balance, chained hash) and account row
   (on PostgreSQL one statement reading JSON arrays; on SQLite ``executemany``).

Every check runs in Python on the locked rows between 2 and 3, so a refused
item writes nothing, and with ``atomic=True`` one refused item refuses the
whole batch (:class:`~ledgerlib.BatchRefused`) before anything is written.

More round trips only where a single post would take them too: an item short
of funds on an account that holds money looks up (and locks) that account's
expired holds, which count as released -- once per account and batch; the
holds that let an item pass are recorded ``expired`` with the batch's writes.

One race is left to the database: another transaction taking one of the
batch's idempotency keys for a *different* movement (on other accounts) between
2 and 3. The INSERT then fails on the unique key and the transaction must be
rolled back; retried, the item is refused with :class:`ledgerlib.IdempotencyConflict`.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import insert, select

from . import _batch_sql as sql
from . import chain
from ._core import Locked, LockedAccount
from ._expiry import MARK_EXPIRED
from ._posting import PostingCore, check_balanced_per_currency
from ._statements import POSTING_COLUMNS
from .errors import (
    AccountNotFound,
    BatchRefused,
    IdempotencyConflict,
    InvalidEntry,
    LedgerError,
)
from .invariants import check_present
from .schema import entries, postings
from .types import Entry, Leg, Posting, credit, debit
from .validation import (
    SignedLegs,
    check_codes,
    check_key,
    check_memo,
    check_metadata,
    fingerprint_of,
    validate_legs,
)

#: A batch holds at most this many items.
MAX_BATCH_ITEMS = 10_000


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One entry of a batch: the arguments of :meth:`ledgerlib.Ledger.post`."""

    legs: Sequence[Leg]
    idempotency_key: str | None = None
    memo: str = ""
    metadata: Mapping[str, Any] | None = None


def transfer_item(
    source: str,
    destination: str,
    amount_paise: int,
    *,
    idempotency_key: str | None = None,
    memo: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> BatchItem:
    """The batch item of :meth:`ledgerlib.Ledger.transfer`."""
    return BatchItem((debit(source, amount_paise), credit(destination, amount_paise)),
                     idempotency_key, memo, metadata)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What became of one item: ``posted``, ``replayed`` (its key was used
    before for the same movement: ``entry`` is that one) or ``refused``
    (``error`` says why; the item wrote nothing)."""

    index: int
    status: Literal["posted", "replayed", "refused"]
    entry: Entry | None = None
    error: LedgerError | None = None

    @property
    def ok(self) -> bool:
        return self.status != "refused"


@dataclass(slots=True)
class _Item:
    index: int
    signed: SignedLegs
    key: str | None
    memo: str
    metadata: dict[str, Any]
    fingerprint: str
    #: Each leg on another account (the funds check may then go leg by leg).
    distinct: bool


def _prepare(index: int, item: object) -> _Item:
    """Check an item's shape (no database): raises LedgerError to refuse it."""
    if not isinstance(item, BatchItem):
        raise InvalidEntry(f"not a BatchItem: {item!r}")
    signed = validate_legs(item.legs)
    codes = {code for code, _ in signed}
    check_codes(codes)
    return _Item(index, signed, check_key(item.idempotency_key), check_memo(item.memo),
                 check_metadata(item.metadata), fingerprint_of("entry", signed),
                 len(codes) == len(signed))


def _covered(legs: list[tuple[LockedAccount, int]]) -> bool:
    """True if no leg takes its account below its floor (legs on distinct
    accounts). False sends the item to the full funds check, which also
    frees expired holds and names the shortfall."""
    for acc, amount in legs:
        change = acc.sign * amount
        if (change < 0 and not acc.allow_negative
                and acc.posted_paise - acc.held_paise + change < -acc.overdraft_limit_paise):
            return False
    return True


class BatchOperations(PostingCore):
    """Posting many entries at once (see :class:`ledgerlib.Ledger`)."""

    def post_batch(
        self, items: Iterable[BatchItem], *, atomic: bool = False
    ) -> list[BatchResult]:
        """Post ``items`` in order, in three round trips; one :class:`ledgerlib.BatchResult` each.

        Each item is checked as :meth:`ledgerlib.Ledger.post` would check it, seeing what the
        items before it moved. A refused item writes nothing; with ``atomic``
        the first refusal raises :class:`ledgerlib.BatchRefused` and nothing is written.
        """
        items = list(items)
        if len(items) > MAX_BATCH_ITEMS:
            raise InvalidEntry(f"a batch holds at most {MAX_BATCH_ITEMS} items")
        results: list[BatchResult | None] = [None] * len(items)
        prepared: list[_Item] = []
        with sql.gc_paused():
            for index, item in enumerate(items):
                try:
                    prepared.append(_prepare(index, item))
                except LedgerError as error:
                    results[index] = BatchResult(index, "refused", error=error)
        if prepared:
            self._post_prepared(prepared, results, atomic)
        done = [r for r in results if r is not None]
        if atomic:
            refused = next((r for r in done if not r.ok), None)
            if refused is not None and refused.error is not None:
                raise BatchRefused(list(done), refused.index, refused.error) from refused.error
        return done

    def _post_prepared(
        self, prepared: list[_Item], results: list[BatchResult | None], atomic: bool
    ) -> None:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; pass an aware one")
        locked = self._lock_found({code for item in prepared for code, _ in item.signed})
        keys = {item.key for item in prepared if item.key is not None}
        existing, new_ids = self._keys_and_ids(keys, len(prepared))
        entry_ids = iter(new_ids)
        writes = sql.Writes([], [], set())
        in_batch: dict[str, tuple[str, Entry]] = {}  # key -> (fingerprint, entry)
        clock = (now, chain.micros(now))
        with sql.gc_paused():
            for item in prepared:
                try:
                    results[item.index] = self._step(
                        item, locked, existing, in_batch, entry_ids, writes, clock)
                except LedgerError as error:
                    results[item.index] = BatchResult(item.index, "refused", error=error)
        if atomic and any(r is not None and not r.ok for r in results):
            return  # post_batch raises BatchRefused: nothing is written
        if writes.entries:
            self._write(writes, [locked[code] for code in writes.touched], now)

    def _step(
        self,
        item: _Item,
        locked: Locked,
        existing: dict[str, tuple[int, str]],
        in_batch: dict[str, tuple[str, Entry]],
        entry_ids: Iterator[int],
        writes: sql.Writes,
        clock: tuple[dt.datetime, int],
    ) -> BatchResult:
        """Check one item on the batch's locked rows and queue its writes.

        The batch's hot loop: the checks of :meth:`ledgerlib.Ledger.post`, written
        out for a batch (the locked rows carry what earlier items moved).
        ``clock`` is the batch's time and the same in microseconds."""
        signed = item.signed
        legs: list[tuple[LockedAccount, int]] = []
        for code, amount in signed:
            acc = locked.get(code)
            if acc is None:
                missing = {c for c, _ in signed} - locked.keys()
                raise AccountNotFound(", ".join(sorted(missing)))
            legs.append((acc, amount))
        currency = legs[0][0].currency
        for acc, _ in legs:
            if acc.currency != currency:
                check_balanced_per_currency(signed, locked)
                break
        key = item.key
        if key is not None:
            replayed = self._replay(item, key, existing, in_batch)
            if replayed is not None:
                return replayed
        if not (item.distinct and _covered(legs)):
            posted_change: dict[str, int] = {}
            for acc, amount in legs:
                posted_change[acc.code] = posted_change.get(acc.code, 0) + acc.sign * amount
            if self._first_shortfall(locked, posted_change, {}) is not None:
                self._free_expired_holds(locked, posted_change, writes)
        entry_id = next(entry_ids)
        now, now_micros = clock
        for acc, amount in legs:
            last = acc.last_posted_at
            if last is now or last is None or last <= now:  # (is: this batch posted it)
                at, at_micros = now, now_micros
            else:  # the account's latest posting is later than our clock
                at, at_micros = last, chain.micros(last)
            acc.posted_paise += acc.sign * amount
            acc.chain_hash = chain.posting_hash_at(acc.chain_hash, entry_id, acc.id, amount,
                                                   acc.currency, acc.posted_paise, at_micros)
            acc.last_posted_at = at
            writes.postings.append((entry_id, acc.id, amount, acc.currency, at,
                                    acc.posted_paise, acc.chain_hash))
            writes.touched.add(acc.code)
        writes.entries.append((entry_id, key, item.fingerprint, item.memo, item.metadata))
        entry = Entry(
            id=entry_id, idempotency_key=key, memo=item.memo, metadata=item.metadata,
            created_at=now, reverses_entry_id=None,
            postings=tuple([Posting(acc.code, amount, acc.currency) for acc, amount in legs]),
        )
        if key is not None:
            in_batch[key] = (item.fingerprint, entry)
        return BatchResult(item.index, "posted", entry)

    def _free_expired_holds(
        self, locked: Locked, posted_change: dict[str, int], writes: sql.Writes
    ) -> None:
        """As for a single post, expired holds of the short accounts count as
        released -- if that makes the item pass (else its shortfall is raised).
        Their rows stay locked and are recorded ``expired`` with the batch's
        writes, so an atomic batch refused later writes nothing."""
        plan = self._expiry_plan(locked, posted_change, {}, skip_accounts=writes.no_expired)
        if plan is None:
            writes.no_expired.update(  # (queried now: none left to free there)
                locked[code].id for code, change in posted_change.items() if change < 0)
            shortfall = self._first_shortfall(locked, posted_change, {})
            raise check_present(shortfall, "a shortfall the funds check does not name")
        hold_ids, freed = plan
        writes.expired_holds.extend(hold_ids)
        for code, amount in freed.items():
            locked[code].held_paise += amount
            writes.touched.add(code)
            writes.no_expired.add(locked[code].id)

    def _replay(
        self,
        item: _Item,
        key: str,
        existing: dict[str, tuple[int, str]],
        in_batch: dict[str, tuple[str, Entry]],
    ) -> BatchResult | None:
        """The item's result if its key was used before (in this batch or
        earlier): a replay of the same movement, else IdempotencyConflict."""
        entry: Entry | None
        if key in in_batch:
            fingerprint, entry = in_batch[key]
        elif key in existing:
            entry_id, fingerprint = existing[key]
            entry = self.get_entry(entry_id) if fingerprint == item.fingerprint else None
        else:
            return None
        if fingerprint != item.fingerprint or entry is None:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was used for a different movement")
        return BatchResult(item.index, "replayed", replace(entry, replayed=True))

    def _keys_and_ids(
        self, keys: set[str], n: int
    ) -> tuple[dict[str, tuple[int, str]], list[int]]:
        """Key -> (entry id, fingerprint) of the keys already used, and ids for
        up to ``n`` new entries (unused ones are gaps, as rollbacks leave)."""
        if self._dialect == "postgresql":
            existing, ids = {}, []
            for key, entry_id, fingerprint in self._conn.execute(
                    sql.PG_KEYS_AND_IDS, {"keys": json.dumps(sorted(keys)), "n": n}):
                if key is None:
                    ids.append(int(entry_id))
                else:
                    existing[key] = (int(entry_id), fingerprint)
            return existing, ids
        if keys:
            existing = {key: (entry_id, fingerprint) for key, entry_id, fingerprint in
                        self._conn.execute(
                            select(entries.c.idempotency_key, entries.c.id,
                                   entries.c.fingerprint)
                            .where(entries.c.idempotency_key.in_(sorted(keys))))}
        else:
            existing = {}
        # SQLite: writers are serialised (BEGIN IMMEDIATE), so max + 1 is free.
        last = int(self._conn.execute(sql.SQLITE_LAST_ID).scalar_one())
        return existing, list(range(last + 1, last + n + 1))

    def _write(self, writes: sql.Writes, touched: list[LockedAccount], now: dt.datetime) -> None:
        touched.sort(key=lambda acc: acc.id)
        if writes.expired_holds:  # (their held amounts leave with the accounts' rows)
            self._conn.execute(MARK_EXPIRED, {"ids": writes.expired_holds, "now": now})
        if self._dialect != "postgresql":
            conn = self._conn
            conn.execute(insert(entries), [
                {"id": e[0], "idempotency_key": e[1], "fingerprint": e[2], "memo": e[3],
                 "metadata": e[4], "created_at": now} for e in writes.entries])
            conn.execute(insert(postings), [
                dict(zip(POSTING_COLUMNS, row, strict=True)) for row in writes.postings])
            conn.execute(sql.SQLITE_UPDATE_ACCOUNT, [
                {"acc_id": acc.id, "posted": acc.posted_paise, "held": acc.held_paise,
                 "hash": acc.chain_hash, "at": acc.last_posted_at} for acc in touched])
            return
        with sql.gc_paused():
            params = sql.pg_write_params(writes, touched, now)
        self._conn.execute(sql.PG_WRITE, params)
