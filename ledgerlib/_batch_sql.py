"""What a batch sends to the database: its statements, the rows it gathers
and their parameters (see :mod:`ledgerlib._batch`)."""
from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, text, update

from ._core import LockedAccount
from .schema import accounts

#: The entries already holding the batch's keys and, in the same round trip,
#: ids for the new entries (the rows without a key). The keys come as one
#: JSON array: quicker to bind than a long list of parameters; each is looked
#: up in the unique index (LATERAL: never a scan of all entries). The
#: sequence is looked up once (MATERIALIZED), not per id: that lookup costs
#: 50 times the nextval.
PG_KEYS_AND_IDS = text("""
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
SQLITE_LAST_ID = text("SELECT coalesce(max(id), 0) FROM ledger_entries")


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
PG_WRITE = text(f"""
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

SQLITE_UPDATE_ACCOUNT = (
    update(accounts)
    .where(accounts.c.id == bindparam("acc_id"))
    .values(posted_paise=bindparam("posted"), held_paise=bindparam("held"),
            chain_hash=bindparam("hash"), last_posted_at=bindparam("at"))
)


@dataclass
class Writes:
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
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for one of a batch's loops.

    Each item leaves a dozen objects that live until the batch returns (its
    Entry, postings, rows to write), so the collector ran dozens of times per
    batch, full collections of the whole process included: a third of a
    batch's client time, for nothing -- these objects form no cycles.
    Reference counting still frees memory meanwhile, and the collector runs
    as usual after the loop. Left alone when the application turned it off
    (but an application thread that turns it off *during* the loop finds it
    on again afterwards: the collector's switch is the process's).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _joined(values: Iterable[object]) -> str:
    """A :func:`_column`'s text: values joined by commas, None as ''."""
    return ",".join(["" if value is None else str(value) for value in values])


def pg_write_params(writes: Writes, touched: list[LockedAccount], now: dt.datetime
                     ) -> dict[str, Any]:
    """The parameters of :data:`PG_WRITE` (see there)."""
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
