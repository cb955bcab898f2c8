"""PostgreSQL fast path for posting an entry: the whole happy path in ONE statement.

:meth:`ledgerlib.Ledger.post` (and ``transfer``) and
:meth:`ledgerlib.Ledger.commit_hold` first try :func:`ledgerlib.fastpath.try_post` on
PostgreSQL. One statement of data-modifying CTEs

1. locks the touched accounts (``SELECT ... ORDER BY id FOR UPDATE``: the
   library's one global lock order, so no deadlock is possible),
2. checks on those locked rows what the generic path checks: every account
   exists, each currency balances, and no account that may not go negative
   falls below zero *available* (posted - held, on its normal side),
3. only if all of that holds, inserts the entry (``ON CONFLICT
   (idempotency_key) DO NOTHING``), its postings, and the new balances --
   and, for a hold commit, releases the held amount and marks the hold
   committed (the caller locked the hold row first, as the generic path does;
   the statement re-checks that it is still pending, with that amount and
   source).

It returns the new entry's id, or nothing. "Nothing" means nothing was
written -- a check failed, the key is taken, or anything else unusual -- and
the caller runs the generic path, which stays the single source of truth for
errors, replays and idempotency. (Re-locking rows this transaction already
holds is free and keeps the lock order.) The database guards stay in force
for both paths: the CHECK on available balance, the immutability triggers and
the per-entry balance trigger at COMMIT.

Why the balances are right under READ COMMITTED: all sub-statements share one
snapshot, but ``FOR UPDATE`` waits for a concurrent writer and then returns
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

from . import schema

_DEBIT_NORMAL = ", ".join(f"'{kind}'" for kind in sorted(schema.DEBIT_NORMAL_KINDS))

POST_SQL = f"""
WITH legs AS (
    SELECT leg.code, leg.amount, leg.ord
    FROM unnest(CAST(%(leg_codes)s AS text[]), CAST(%(leg_amounts)s AS bigint[]))
         WITH ORDINALITY AS leg(code, amount, ord)
), locked AS (
    SELECT id, code, kind, currency, allow_negative, posted_paise, held_paise
    FROM ledger_accounts
    WHERE code = ANY(CAST(%(codes)s AS text[]))
    ORDER BY id
    FOR UPDATE
), changes AS (
    -- posted: change of the posted balance on the account's normal side;
    -- released: the held amount a committed hold gives back (0 otherwise).
    SELECT a.id, a.allow_negative, a.posted_paise, a.held_paise,
           sum(CASE WHEN a.kind IN ({_DEBIT_NORMAL}) THEN leg.amount
                    ELSE -leg.amount END) AS posted,
           CASE WHEN a.code = CAST(%(hold_source)s AS text)
                THEN CAST(%(hold_amount)s AS bigint) ELSE 0 END AS released
    FROM locked AS a JOIN legs AS leg ON leg.code = a.code
    GROUP BY a.id, a.code, a.allow_negative, a.posted_paise, a.held_paise
), checked AS (
    SELECT 1 AS ok
    WHERE (SELECT count(*) FROM locked) = cardinality(CAST(%(codes)s AS text[]))
      AND NOT EXISTS (
          SELECT FROM legs AS leg JOIN locked AS a ON a.code = leg.code
          GROUP BY a.currency HAVING sum(leg.amount) <> 0)
      -- available = posted - held must not fall below zero where it may not.
      AND NOT EXISTS (
          SELECT FROM changes
          WHERE NOT allow_negative AND posted + released < 0
            AND posted_paise - held_paise + posted + released < 0)
      -- Never true unless the books are corrupt; the generic path's check then fires.
      AND NOT EXISTS (SELECT FROM changes WHERE held_paise - released < 0)
      AND (CAST(%(hold_id)s AS bigint) IS NULL OR EXISTS (
          SELECT FROM ledger_holds AS h
          WHERE h.id = CAST(%(hold_id)s AS bigint) AND h.status = 'pending'
            AND h.amount_paise = CAST(%(hold_amount)s AS bigint)
            AND h.source_account_id = (
                SELECT id FROM locked WHERE code = CAST(%(hold_source)s AS text))))
), new_entry AS (
    INSERT INTO ledger_entries (idempotency_key, fingerprint, memo, metadata, created_at)
    SELECT %(key)s, %(fingerprint)s, %(memo)s, CAST(%(metadata)s AS json),
           CAST(%(created_at)s AS timestamptz)
    FROM checked
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
), new_postings AS (
    INSERT INTO ledger_postings (entry_id, account_id, amount_paise, currency, created_at)
    SELECT e.id, a.id, leg.amount, a.currency, CAST(%(created_at)s AS timestamptz)
    FROM new_entry AS e CROSS JOIN legs AS leg JOIN locked AS a ON a.code = leg.code
    ORDER BY leg.ord
), new_balances AS (
    -- Every column the CHECK constraints read comes from the locked (latest)
    -- row, not from this statement's snapshot: see the module docstring.
    UPDATE ledger_accounts AS acc
    SET posted_paise = c.posted_paise + c.posted,
        held_paise = c.held_paise - c.released,
        allow_negative = c.allow_negative
    FROM changes AS c, new_entry AS e
    WHERE acc.id = c.id AND (c.posted <> 0 OR c.released <> 0)
), resolved_hold AS (
    UPDATE ledger_holds AS h
    SET status = 'committed', commit_entry_id = e.id,
        resolved_at = CAST(%(created_at)s AS timestamptz)
    FROM new_entry AS e
    WHERE h.id = CAST(%(hold_id)s AS bigint)
)
SELECT e.id, array_agg(a.currency ORDER BY leg.ord) AS currencies
FROM new_entry AS e CROSS JOIN legs AS leg JOIN locked AS a ON a.code = leg.code
GROUP BY e.id
"""


def usable(conn: Connection) -> bool:
    """True if the fast path may run on this connection."""
    dialect = conn.dialect
    return (
        dialect.name == "postgresql"
        and dialect.paramstyle == "pyformat"
        and not conn.get_execution_options().get("schema_translate_map")
    )


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
    if created_at.tzinfo is None:
        return None  # the generic path raises the usual "naive datetime" error
    leg_codes = [code for code, _ in signed]
    for code in leg_codes:
        if not isinstance(code, str):
            return None  # the generic path raises InvalidEntry
    hold_id, hold_source, hold_amount = hold if hold is not None else (None, None, None)
    row = conn.exec_driver_sql(
        POST_SQL,
        {
            "leg_codes": leg_codes,
            "leg_amounts": [amount for _, amount in signed],
            "codes": sorted(set(leg_codes)),
            "key": idempotency_key,
            "fingerprint": fingerprint,
            "memo": memo,
            "metadata": json.dumps(metadata),
            "created_at": created_at,
            "hold_id": hold_id,
            "hold_source": hold_source,
            "hold_amount": hold_amount,
        },
    ).first()
    if row is None:
        return None
    return row[0], row[1]
