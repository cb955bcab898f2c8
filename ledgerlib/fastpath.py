"""PostgreSQL fast path for posting an entry: the whole happy path in ONE statement.

:meth:`ledgerlib.Ledger.post` (and ``transfer``) and
:meth:`ledgerlib.Ledger.commit_hold` first try :func:`ledgerlib.fastpath.try_post` on
PostgreSQL. One statement of data-modifying CTEs

1. locks the touched accounts (``SELECT ... ORDER BY id FOR NO KEY UPDATE``:
   the library's one global lock order, so no deadlock is possible; and the
   mode that lets foreign-key checks on the rows pass),
2. checks on those locked rows what the generic path checks: every account
   exists, each currency balances, and no account falls below minus its
   overdraft limit *available* (posted - held, on its normal side),
3. only if all of that holds, inserts the entry (``ON CONFLICT
   (idempotency_key) DO NOTHING``), its postings -- each with the account's
   running balance and the next link of its hash chain (:mod:`ledgerlib.chain`,
   computed here in SQL), stamped no earlier than the account's latest
   posting -- and the new balances and chain heads; and, for a hold commit,
   releases the held amount and marks the hold committed (the caller locked
   the hold row first, as the generic path does; the statement re-checks that
   it is still pending, with that amount and source).

It applies to entries with one leg per account (an entry with two legs on one
account -- two links of its chain -- takes the generic path). It returns the
new entry's id, or nothing. "Nothing" means nothing was written -- a check
failed, the key is taken, or anything else unusual -- and the caller runs
the generic path, which stays the single source of truth for errors, replays
and idempotency. (Re-locking rows this transaction already holds is free and
keeps the lock order.) The database guards stay in force for both paths: the
CHECK on available balance (down to the overdraft limit), the immutability
triggers and the balance, reference and has-postings checks of each INSERT.

Why the balances are right under READ COMMITTED: all sub-statements share one
snapshot, but ``FOR NO KEY UPDATE`` waits for a concurrent writer and then returns
the row's *latest* version, so the checks see current balances. The UPDATE's
own scan, though, still finds the snapshot's (possibly stale) version of a
row that another transaction changed meanwhile: PostgreSQL builds the new row
from it and evaluates the CHECK constraints on that *before* it notices the
concurrent change and re-reads the latest version. So the UPDATE takes every
column those constraints read (posted, held, allow_negative) from the locked
row, never from the scanned one: ``posted_paise = locked posted + delta``.
Then the row checked is the row written, whichever version was scanned, and
no concurrent update is lost because we hold the lock on the latest version.
(``acc.posted_paise + delta`` would end up right too, but could first fail
the CHECK spuriously; the concurrency test caught exactly that.) Every write
depends on the ``checked`` CTE, which needs the count of *all* locked rows,
so no row is written before every account is locked.

The fast path only runs with a DBAPI that takes ``%(name)s`` parameters
(psycopg 3, psycopg2) and without a ``schema_translate_map`` (the statement
is plain text naming the tables); otherwise the generic path does the work.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from . import chain, schema
from .types import Entry, Posting
from .validation import legs_json

_DEBIT_NORMAL = ", ".join(f"'{kind}'" for kind in sorted(schema.DEBIT_NORMAL_KINDS))

# The posting's time: the entry's, or the account's latest posting's if later
# (a clock read before waiting for the lock may be behind it).
_AT = "greatest(CAST(%(created_at)s AS timestamptz), a.last_posted_at)"
_HASH = chain.sql_hash("a.chain_hash", "e.id", "a.id", "a.amount", "a.currency",
                       "a.posted_paise + a.change",
                       f"CAST(round(extract(epoch FROM {_AT}) * 1000000) AS bigint)")


#: What a committed hold gives back to its source account (only with a hold).
_RELEASED = ("CASE WHEN a.code = CAST(%(hold_source)s AS text) "
             "THEN CAST(%(hold_amount)s AS bigint) ELSE 0 END")
#: The hold to commit is still pending, for this amount, from this source.
_HOLD_CHECK = """
      AND EXISTS (
          SELECT FROM ledger_holds AS h
          WHERE h.id = CAST(%(hold_id)s AS bigint) AND h.status = 'pending'
            AND h.amount_paise = CAST(%(hold_amount)s AS bigint)
            AND h.source_account_id = (
                SELECT id FROM changes WHERE code = CAST(%(hold_source)s AS text)))"""
#: The hold committed by the new entry.
_RESOLVE_HOLD = """, resolved_hold AS (
    UPDATE ledger_holds AS h
    SET status = 'committed', commit_entry_id = e.id,
        resolved_at = CAST(%(created_at)s AS timestamptz)
    FROM new_entry AS e
    WHERE h.id = CAST(%(hold_id)s AS bigint)
)"""


def _post_sql(with_hold: bool) -> str:
    """The statement; without a hold to commit, its hold parts are left out
    (less for the server to plan and run on every transfer)."""
    released = _RELEASED if with_hold else "0"
    hold_check, resolve_hold = (_HOLD_CHECK, _RESOLVE_HOLD) if with_hold else ("", "")
    return f"""
WITH legs AS (
    -- The legs as one JSON array of [code, amount] (quicker to bind than arrays).
    SELECT leg->>0 AS code, CAST(leg->>1 AS bigint) AS amount, ord
    FROM json_array_elements(CAST(%(legs)s AS json)) WITH ORDINALITY AS l(leg, ord)
), locked AS (
    SELECT id, code, kind, currency, allow_negative, overdraft_limit_paise,
           posted_paise, held_paise, chain_hash, last_posted_at
    FROM ledger_accounts
    WHERE code IN (SELECT code FROM legs)
    ORDER BY id
    FOR NO KEY UPDATE
), changes AS (
    -- One leg per account (try_post sees to it). change: of the posted balance
    -- on the account's normal side; released: the held amount a committed hold
    -- gives back (0 otherwise).
    SELECT a.*, leg.amount, leg.ord,
           CASE WHEN a.kind IN ({_DEBIT_NORMAL}) THEN leg.amount
                ELSE -leg.amount END AS change,
           {released} AS released
    FROM legs AS leg JOIN locked AS a ON a.code = leg.code
), checked AS (
    SELECT 1 AS ok
    FROM (SELECT count(*) AS n, count(DISTINCT currency) AS currencies
          FROM changes) AS t
    WHERE t.n = (SELECT count(*) FROM legs)
      -- One currency (legs sum to zero, checked before), or each one balanced.
      AND (t.currencies = 1 OR NOT EXISTS (
          SELECT FROM changes GROUP BY currency HAVING sum(amount) <> 0))
      -- available = posted - held must not fall below minus the overdraft limit.
      AND NOT EXISTS (
          SELECT FROM changes
          WHERE NOT allow_negative AND change + released < 0
            AND posted_paise - held_paise + change + released < -overdraft_limit_paise)
      -- Never true unless the books are corrupt; the generic path's check then fires.
      AND NOT EXISTS (SELECT FROM changes WHERE held_paise - released < 0){hold_check}
), new_entry AS (
    INSERT INTO ledger_entries (idempotency_key, fingerprint, memo, metadata, created_at)
    SELECT %(key)s, %(fingerprint)s, %(memo)s, CAST(%(metadata)s AS json),
           CAST(%(created_at)s AS timestamptz)
    FROM checked
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
), rows AS (
    SELECT e.id AS entry_id, a.id AS account_id, a.amount, a.currency, a.ord,
           a.posted_paise + a.change AS balance_after, a.held_paise - a.released AS held,
           a.allow_negative, a.overdraft_limit_paise, {_AT} AS at, {_HASH} AS hash
    FROM new_entry AS e CROSS JOIN changes AS a
), new_postings AS (
    INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, created_at,
                                 balance_after, hash)
    SELECT entry_id, account_id, amount, currency, at, balance_after, hash
    FROM rows ORDER BY ord
), new_balances AS (
    -- Every column the CHECK constraints read comes from the locked (latest)
    -- row, not from this statement's snapshot: see the module docstring.
    UPDATE ledger_accounts AS acc
    SET posted_paise = r.balance_after, held_paise = r.held,
        allow_negative = r.allow_negative, overdraft_limit_paise = r.overdraft_limit_paise,
        chain_hash = r.hash, last_posted_at = r.at
    FROM rows AS r
    WHERE acc.id = r.account_id
){resolve_hold}
SELECT entry_id, currency FROM rows ORDER BY ord
"""


POST_SQL = _post_sql(with_hold=False)
COMMIT_HOLD_SQL = _post_sql(with_hold=True)


def usable(conn: Connection) -> bool:
    """True if the fast path may run on this connection."""
    dialect = conn.dialect
    return (
        dialect.name == "postgresql"
        and dialect.paramstyle == "pyformat"
        and not conn.get_execution_options().get("schema_translate_map")
    )


def statement(
    signed: Sequence[tuple[str, int]],
    *,
    idempotency_key: str | None,
    fingerprint: str,
    memo: str,
    metadata: dict[str, Any],
    created_at: dt.datetime,
    hold: tuple[int, str, int] | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """The fast path's statement and its parameters for this entry (see
    :func:`try_post`); None when the generic path must decide without it."""
    if created_at.tzinfo is None:
        return None  # the generic path raises the usual "naive datetime" error
    leg_codes = [code for code, _ in signed]
    for code in leg_codes:
        if not isinstance(code, str):
            return None  # the generic path raises InvalidEntry
    if len(set(leg_codes)) != len(leg_codes):
        return None  # two legs on one account: two links of its chain (generic path)
    params: dict[str, Any] = {
        "legs": legs_json(list(signed)),
        "key": idempotency_key,
        "fingerprint": fingerprint,
        "memo": memo,
        "metadata": json.dumps(metadata) if metadata else "{}",
        "created_at": created_at,
    }
    if hold is None:
        return POST_SQL, params
    params.update(zip(("hold_id", "hold_source", "hold_amount"), hold, strict=True))
    return COMMIT_HOLD_SQL, params


def outcome(rows: Sequence[Sequence[Any]]) -> tuple[int, list[str]] | None:
    """(entry id, currency of each leg) from the statement's rows; None if it wrote nothing."""
    if not rows:
        return None
    return rows[0][0], [row[1] for row in rows]


def try_post(
    conn: Connection,
    signed: Sequence[tuple[str, int]],
    *,
    idempotency_key: str | None,
    fingerprint: str,
    memo: str,
    metadata: dict[str, Any],
    created_at: dt.datetime,
    hold: tuple[int, str, int] | None = None,
) -> tuple[int, list[str]] | None:
    """Post the entry in one statement; return (entry id, currency of each leg).

    ``hold`` is (hold id, source code, amount) of the pending hold this entry
    commits -- the caller has locked the hold row and seen it pending. The same
    statement then releases the held amount and marks the hold committed.

    Returns None, having written nothing, when the generic path must decide.
    ``signed`` must already have passed ``ledgerlib.validation.validate_legs``.
    """
    built = statement(signed, idempotency_key=idempotency_key, fingerprint=fingerprint,
                      memo=memo, metadata=metadata, created_at=created_at, hold=hold)
    if built is None:
        return None
    return outcome(conn.exec_driver_sql(*built).all())


def posted_entry(
    signed: Sequence[tuple[str, int]],
    posted: tuple[int, list[str]],
    *,
    idempotency_key: str | None,
    memo: str,
    metadata: dict[str, Any],
    created_at: dt.datetime,
) -> Entry:
    """The :class:`~ledgerlib.Entry` that :func:`try_post` wrote (``posted`` is its answer)."""
    entry_id, currencies = posted
    return Entry(
        id=entry_id,
        idempotency_key=idempotency_key,
        memo=memo,
        metadata=metadata,
        created_at=created_at,
        reverses_entry_id=None,
        postings=tuple(
            Posting(code, amount, currency)
            for (code, amount), currency in zip(signed, currencies, strict=True)
        ),
    )
