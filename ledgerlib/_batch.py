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
import gc
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import bindparam, insert, select, text, update

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


#: The entries already holding the batch's keys and, in the same round trip,
#: ids for the new entries (the rows without a key). The keys come as one
#: JSON array: quicker to bind than a long list of parameters; each is looked
#: up in the unique index (LATERAL: never a scan of all entries). The
#: sequence is looked up once (MATERIALIZED), not per id: that lookup costs
#: 50 times the nextval.
_PG_KEYS_AND_IDS = text("""
WITH sequence AS MATERIALIZED (
    SELECT CAST(pg_get_serial_sequence('ledger_entries', 'id') AS regclass) AS name
)
SELECT e.idempotency_key, e.id, e.fingerprint
FROM json_array_elements_text(CAST(:keys AS json)) AS k(key)
CROSS JOIN LATERAL (SELECT idempotency_key, id, fingerprint FROM ledger_entries
                    WHERE idempotency_key = k.key) AS e
UNION ALL
SELECT NULL, nextval(sequence.name), NULL
FROM sequence, generate_series(1, :n)
""")
_SQLITE_LAST_ID = text("SELECT coalesce(max(id), 0) FROM ledger_entries")


def _column(type_: str, name: str) -> str:
    """A column of the batch's rows, sent as ONE text of comma-separated values
    (``''`` for NULL): the server splits and casts it in one go, several times
    quicker than reading JSON and far quicker for the client than binding an
    array. Only for values that never hold a comma (numbers, currency codes,
    hex hashes, ISO times), and for at least two rows (``''`` alone would be
    no row rather than one NULL): an entry has two postings or more."""
    return f"CAST(string_to_array(:{name}, ',', '') AS {type_}[])"


#: Every row of the batch in one statement. Entries' keys, memos and metadata
#: (any text) come as JSON arrays of one column each (each value parsed once);
#: the postings' columns and the entries' ids and fingerprints as
#: comma-separated texts (:func:`_column`); the accounts' rows (a few) as one
#: JSON array of arrays. A posting's time is NULL when it is the batch's own
#: (most are): one cast per batch. The UPDATE sets each column the CHECK
#: constraints read from the locked rows (see ledgerlib.fastpath).
_PG_WRITE = text(f"""
WITH new_entries AS (
    INSERT INTO ledger_entries (id, idempotency_key, fingerprint, memo, metadata, created_at)
    SELECT e.id, e.key, e.fingerprint, e.memo, e.metadata, CAST(:at AS timestamptz)
    FROM ROWS FROM (unnest({_column("bigint", "e_id")}),
                    json_array_elements_text(CAST(:e_key AS json)),
                    unnest({_column("text", "e_fingerprint")}),
                    json_array_elements_text(CAST(:e_memo AS json)),
                    json_array_elements(CAST(:e_metadata AS json)))
         AS e(id, key, fingerprint, memo, metadata)
), new_postings AS (
    INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, created_at,
                                 balance_after, hash)
    SELECT p.entry_id, p.account_id, p.amount, p.currency,
           coalesce(p.at, CAST(:at AS timestamptz)), p.balance_after, p.hash
    FROM unnest({_column("bigint", "p_entry")}, {_column("bigint", "p_account")},
                {_column("bigint", "p_amount")}, {_column("text", "p_currency")},
                {_column("timestamptz", "p_at")}, {_column("bigint", "p_balance")},
                {_column("text", "p_hash")})
         WITH ORDINALITY AS p(entry_id, account_id, amount, currency, at, balance_after,
                              hash, n)
    ORDER BY p.n  -- ids in chain order
)
UPDATE ledger_accounts AS acc
SET posted_paise = CAST(a->>1 AS bigint), held_paise = CAST(a->>2 AS bigint),
    allow_negative = CAST(a->>3 AS boolean), overdraft_limit_paise = CAST(a->>4 AS bigint),
    chain_hash = a->>5, last_posted_at = CAST(a->>6 AS timestamptz)
FROM json_array_elements(CAST(:accounts AS json)) AS a
WHERE acc.id = CAST(a->>0 AS bigint)
""")

_SQLITE_UPDATE_ACCOUNT = (
    update(accounts)
    .where(accounts.c.id == bindparam("acc_id"))
    .values(posted_paise=bindparam("posted"), held_paise=bindparam("held"),
            chain_hash=bindparam("hash"), last_posted_at=bindparam("at"))
)


@dataclass
class _Writes:
    """The rows a batch will write, gathered while its items are checked."""

    #: (id, idempotency key, fingerprint, memo, metadata)
    entries: list[tuple[int, str | None, str, str, dict[str, Any]]]
    #: (entry id, account id, amount, currency, created at, balance after, hash)
    postings: list[tuple[int, int, int, str, dt.datetime, int, str]]
    touched: set[str]
    #: Expired holds the batch records as such (their rows are locked).
    expired_holds: list[int] = field(default_factory=list)
    #: Accounts whose expired holds were looked up already (none left to free).
    no_expired: set[int] = field(default_factory=set)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for one of a batch's loops.

    Each item leaves a dozen objects that live until the batch returns (its
    Entry, postings, rows to write), so the collector ran dozens of times per
    batch, full collections of the whole process included: a third of a
    batch's client time, for nothing -- these objects form no cycles.
    Reference counting still frees memory meanwhile, and the collector runs
    as usual after the loop. Left alone when the application turned it off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
        with _gc_paused():
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
        clock = (now, chain.micros(now))
        with _gc_paused():
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
        writes: _Writes,
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
        self, locked: Locked, posted_change: dict[str, int], writes: _Writes
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

    def _write(self, writes: _Writes, touched: list[LockedAccount], now: dt.datetime) -> None:
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
            conn.execute(_SQLITE_UPDATE_ACCOUNT, [
                {"acc_id": acc.id, "posted": acc.posted_paise, "held": acc.held_paise,
                 "hash": acc.chain_hash, "at": acc.last_posted_at} for acc in touched])
            return
        with _gc_paused():
            params = _pg_write_params(writes, touched, now)
        self._conn.execute(_PG_WRITE, params)


def _joined(values: Iterable[object]) -> str:
    """A :func:`_column`'s text: values joined by commas, None as ''."""
    return ",".join(["" if value is None else str(value) for value in values])


def _pg_write_params(writes: _Writes, touched: list[LockedAccount], now: dt.datetime
                     ) -> dict[str, Any]:
    """The parameters of :data:`_PG_WRITE` (see there)."""
    e_id, e_key, e_fingerprint, e_memo, e_metadata = zip(*writes.entries, strict=True)
    p_entry, p_account, p_amount, p_currency, p_at, p_balance, p_hash = zip(
        *writes.postings, strict=True)
    iso: dict[dt.datetime, str | None] = {now: None}  # NULL: the batch's own time
    return {
        "at": now,
        "e_id": _joined(e_id), "e_key": json.dumps(e_key),
        "e_fingerprint": ",".join(e_fingerprint), "e_memo": json.dumps(e_memo),
        "e_metadata": json.dumps(e_metadata),
        "p_entry": _joined(p_entry), "p_account": _joined(p_account),
        "p_amount": _joined(p_amount), "p_currency": ",".join(p_currency),
        "p_at": _joined([iso[at] if at in iso else iso.setdefault(at, at.isoformat())
                         for at in p_at]),
        "p_balance": _joined(p_balance), "p_hash": ",".join(p_hash),
        # (a row per account: a few, where the postings are thousands)
        "accounts": json.dumps([
            (acc.id, acc.posted_paise, acc.held_paise, acc.allow_negative,
             acc.overdraft_limit_paise, acc.chain_hash,
             None if acc.last_posted_at is None else acc.last_posted_at.isoformat())
            for acc in touched]),
    }
