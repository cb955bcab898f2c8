"""Batches: many entries in one call and three database round trips.

:meth:`BatchOperations.post_batch` posts its items as if each were posted by
:meth:`ledgerlib.Ledger.post` in order -- the same checks, the same
idempotency keys and fingerprints (a batch item replays a single post and the
other way round), funds checked on locked rows, each item seeing the balances
the earlier ones left -- but it talks to the database three times on PostgreSQL,
whatever the number of items:

1. lock every account of the batch (one ``SELECT ... ORDER BY id FOR UPDATE``:
   the library's one global lock order, so concurrent batches, single posts
   and holds never deadlock);
2. look up the items' idempotency keys (after the locks: an entry posted
   meanwhile by a transaction we waited on is seen) and, in the same
   statement, reserve the new entries' ids (``nextval`` of their sequence);
3. write every entry, posting (running balance, chained hash) and account row
   (on PostgreSQL one statement of ``unnest`` arrays; on SQLite ``executemany``).

Every check runs in Python on the locked rows between 2 and 3, so a refused
item writes nothing, and with ``atomic=True`` one refused item refuses the
whole batch (:class:`~ledgerlib.BatchRefused`) before anything is written.

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

from sqlalchemy import bindparam, insert, select, text, update

from ._core import Heads, Locked, LockedAccount
from ._posting import PostingCore, check_balanced_per_currency, posting_rows
from .errors import (
    AccountNotFound,
    BatchRefused,
    IdempotencyConflict,
    InvalidEntry,
    LedgerError,
)
from .schema import accounts, entries, postings
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass
class _Item:
    index: int
    signed: SignedLegs
    key: str | None
    memo: str
    metadata: dict[str, Any]
    fingerprint: str


def _prepare(index: int, item: object) -> _Item:
    """Check an item's shape (no database): raises LedgerError to refuse it."""
    if not isinstance(item, BatchItem):
        raise InvalidEntry(f"not a BatchItem: {item!r}")
    signed = validate_legs(item.legs)
    check_codes({code for code, _ in signed})
    return _Item(index, signed, check_key(item.idempotency_key), check_memo(item.memo),
                 check_metadata(item.metadata), fingerprint_of("entry", signed))


#: The entries already holding the batch's keys and, in the same round trip,
#: ids for the new entries (the rows without a key). The keys come as one
#: JSON array: quicker to bind than a long list of parameters.
_PG_KEYS_AND_IDS = text("""
SELECT idempotency_key, id, fingerprint FROM ledger_entries
WHERE idempotency_key IN (SELECT json_array_elements_text(CAST(:keys AS json)))
UNION ALL
SELECT NULL, nextval(pg_get_serial_sequence('ledger_entries', 'id')), NULL
FROM generate_series(1, :n)
""")
_SQLITE_LAST_ID = text("SELECT coalesce(max(id), 0) FROM ledger_entries")

#: Every row of the batch in one statement, its rows handed over as three JSON
#: documents (json.dumps and the server's JSON parser are far quicker than
#: binding long arrays of text). The UPDATE sets each column the CHECK
#: constraints read from the locked rows (see ledgerlib.fastpath).
_PG_WRITE = text("""
WITH new_entries AS (
    INSERT INTO ledger_entries (id, idempotency_key, fingerprint, memo, metadata, created_at)
    SELECT e.id, e.key, e.fp, e.memo, e.meta, CAST(:at AS timestamptz)
    FROM json_to_recordset(CAST(:entries AS json))
         AS e(id bigint, key text, fp text, memo text, meta json)
), new_postings AS (
    INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, created_at,
                                 balance_after, hash)
    SELECT p.e, p.a, p.amount, p.cur, CAST(p.at AS timestamptz), p.bal, p.hash
    FROM json_to_recordset(CAST(:postings AS json))
         AS p(n int, e bigint, a bigint, amount bigint, cur text, at text, bal bigint,
              hash text)
    ORDER BY p.n  -- ids in chain order
)
UPDATE ledger_accounts AS acc
SET posted_paise = a.posted, held_paise = a.held, allow_negative = a.neg,
    overdraft_limit_paise = a.overdraft, chain_hash = a.hash,
    last_posted_at = CAST(a.at AS timestamptz)
FROM json_to_recordset(CAST(:accounts AS json))
     AS a(id bigint, posted bigint, held bigint, neg boolean, overdraft bigint, hash text,
          at text)
WHERE acc.id = a.id
""")

_SQLITE_UPDATE_ACCOUNT = (
    update(accounts)
    .where(accounts.c.id == bindparam("acc_id"))
    .values(posted_paise=bindparam("posted"), chain_hash=bindparam("hash"),
            last_posted_at=bindparam("at"))
)


@dataclass
class _Writes:
    """The rows a batch will write, gathered while its items are checked."""

    entries: list[dict[str, Any]]
    postings: list[dict[str, Any]]
    touched: set[str]


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
        writes = _Writes([], [], set())
        in_batch: dict[str, tuple[str, Entry]] = {}  # key -> (fingerprint, entry)
        for item in prepared:
            try:
                results[item.index] = self._step(
                    item, locked, existing, in_batch, entry_ids, writes, now)
            except LedgerError as error:
                results[item.index] = BatchResult(item.index, "refused", error=error)
        if atomic and any(r is not None and not r.ok for r in results):
            return  # post_batch raises BatchRefused: nothing is written
        if writes.entries:
            self._write(writes, [locked[code] for code in writes.touched])

    def _step(
        self,
        item: _Item,
        locked: Locked,
        existing: dict[str, tuple[int, str]],
        in_batch: dict[str, tuple[str, Entry]],
        entry_ids: Iterator[int],
        writes: _Writes,
        now: dt.datetime,
    ) -> BatchResult:
        """Check one item on the batch's locked rows and queue its writes."""
        missing = {code for code, _ in item.signed} - locked.keys()
        if missing:
            raise AccountNotFound(", ".join(sorted(missing)))
        check_balanced_per_currency(item.signed, locked)
        key = item.key
        if key is not None and key in in_batch:
            fingerprint, entry = in_batch[key]
            if fingerprint != item.fingerprint:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} was used for a different movement")
            return BatchResult(item.index, "replayed", replace(entry, replayed=True))
        if key is not None and key in existing:
            entry_id, fingerprint = existing[key]
            if fingerprint != item.fingerprint:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} was used for a different movement")
            return BatchResult(item.index, "replayed",
                               replace(self.get_entry(entry_id), replayed=True))
        posted_change: dict[str, int] = {}
        for code, amount in item.signed:
            posted_change[code] = posted_change.get(code, 0) + locked[code].sign * amount
        shortfall = self._first_shortfall(locked, posted_change, {})
        if shortfall is not None:
            raise shortfall
        entry_id = next(entry_ids)
        heads: Heads = {}
        running: dict[str, int] = {}
        writes.postings.extend(posting_rows(entry_id, item.signed, locked, now, heads, running))
        for code, balance in running.items():
            acc = locked[code]
            acc.posted_paise = balance
            acc.chain_hash, acc.last_posted_at = heads[code]
            writes.touched.add(code)
        writes.entries.append({
            "id": entry_id, "idempotency_key": key, "fingerprint": item.fingerprint,
            "memo": item.memo, "metadata": item.metadata, "created_at": now,
        })
        entry = Entry(
            id=entry_id, idempotency_key=key, memo=item.memo, metadata=item.metadata,
            created_at=now, reverses_entry_id=None,
            postings=tuple(Posting(code, amount, locked[code].currency)
                           for code, amount in item.signed),
        )
        if key is not None:
            in_batch[key] = (item.fingerprint, entry)
        return BatchResult(item.index, "posted", entry)

    def _keys_and_ids(
        self, keys: set[str], n: int
    ) -> tuple[dict[str, tuple[int, str]], list[int]]:
        """Key -> (entry id, fingerprint) of the keys already used, and ids for
        up to ``n`` new entries (unused ones are gaps, as rollbacks leave)."""
        if self._dialect == "postgresql":
            existing, ids = {}, []
            for key, entry_id, fingerprint in self._conn.execute(
                    _PG_KEYS_AND_IDS, {"keys": json.dumps(sorted(keys)), "n": n}):
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
        last = int(self._conn.execute(_SQLITE_LAST_ID).scalar_one())
        return existing, list(range(last + 1, last + n + 1))

    def _write(self, writes: _Writes, touched: list[LockedAccount]) -> None:
        touched.sort(key=lambda acc: acc.id)
        if self._dialect != "postgresql":
            conn = self._conn
            conn.execute(insert(entries), writes.entries)
            conn.execute(insert(postings), writes.postings)
            conn.execute(_SQLITE_UPDATE_ACCOUNT, [
                {"acc_id": acc.id, "posted": acc.posted_paise, "hash": acc.chain_hash,
                 "at": acc.last_posted_at} for acc in touched])
            return
        at = {moment: moment.isoformat() for moment in {r["created_at"] for r in writes.postings}}
        self._conn.execute(_PG_WRITE, {
            "at": writes.entries[0]["created_at"],
            "entries": json.dumps([
                {"id": r["id"], "key": r["idempotency_key"], "fp": r["fingerprint"],
                 "memo": r["memo"], "meta": r["metadata"]} for r in writes.entries]),
            "postings": json.dumps([
                {"n": n, "e": r["entry_id"], "a": r["account_id"], "amount": r["amount_paise"],
                 "cur": r["currency"], "at": at[r["created_at"]], "bal": r["balance_after"],
                 "hash": r["hash"]} for n, r in enumerate(writes.postings)]),
            "accounts": json.dumps([
                {"id": acc.id, "posted": acc.posted_paise, "held": acc.held_paise,
                 "neg": acc.allow_negative, "overdraft": acc.overdraft_limit_paise,
                 "hash": acc.chain_hash, "at": None if acc.last_posted_at is None
                 else acc.last_posted_at.isoformat()} for acc in touched]),
        })
