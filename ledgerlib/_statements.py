"""SQL statements the ledger runs per operation, built once.

Building a Core statement costs more than SQLAlchemy's compiled-cache lookup
for it, so statements on the hot paths are built once (module constants or
``lru_cache`` keyed by their shape) and take named bind parameters.
"""
from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    bindparam,
    case,
    column,
    insert,
    select,
    text,
    true,
    update,
    values,
)

from .schema import accounts, entries, holds, metadata, postings

#: The rows of the accounts named in ``codes``, locked in ascending id order
#: (the library's one global lock order). ``FOR NO KEY UPDATE``: it excludes
#: every other balance change, yet lets foreign-key checks on the rows pass
#: (``FOR KEY SHARE``), so a table of the application that references
#: accounts can never wait on, or deadlock with, a posting.
LOCK_ACCOUNTS = (
    select(
        accounts.c.id,
        accounts.c.code,
        accounts.c.kind,
        accounts.c.currency,
        accounts.c.allow_negative,
        accounts.c.overdraft_limit_paise,
        accounts.c.posted_paise,
        accounts.c.held_paise,
        accounts.c.chain_hash,
        accounts.c.last_posted_at,
    )
    .where(accounts.c.code.in_(bindparam("codes", expanding=True)))
    .order_by(accounts.c.id)
    .with_for_update(key_share=True)
)


@functools.lru_cache(maxsize=None)
def hold_query(for_update: bool) -> Select[Any]:
    """A hold with its accounts' codes (built once: commit_hold runs it per payout)."""
    source_acc = accounts.alias("source_acc")
    dest_acc = accounts.alias("dest_acc")
    stmt = (
        select(holds, source_acc.c.code.label("source_code"),
               dest_acc.c.code.label("destination_code"))
        .join(source_acc, source_acc.c.id == holds.c.source_account_id)
        .join(dest_acc, dest_acc.c.id == holds.c.destination_account_id)
        .where(holds.c.id == bindparam("hold_id", type_=BigInteger))
    )
    return stmt.with_for_update(of=holds, key_share=True) if for_update else stmt


@functools.lru_cache(maxsize=128)
def update_balances(rows: int, heads: bool = False) -> Any:
    """One UPDATE adding deltas to ``rows`` locked accounts (one round trip), built once.

    Parameters: ``id_<i>``, ``posted_<i>``, ``held_<i>`` for i in 0..rows-1, and
    with ``heads`` also the new chain head ``hash_<i>`` and its time ``at_<i>``.
    """

    def per_row(column: str, type_: Any, else_: Any) -> Any:
        return case(
            *[
                (accounts.c.id == bindparam(f"id_{i}", type_=BigInteger),
                 bindparam(f"{column}_{i}", type_=type_))
                for i in range(rows)
            ],
            else_=else_,
        )

    values: dict[str, Any] = {
        "posted_paise": accounts.c.posted_paise + per_row("posted", BigInteger(), 0),
        "held_paise": accounts.c.held_paise + per_row("held", BigInteger(), 0),
    }
    if heads:
        values["chain_hash"] = per_row("hash", accounts.c.chain_hash.type,
                                       accounts.c.chain_hash)
        values["last_posted_at"] = per_row("at", accounts.c.last_posted_at.type,
                                           accounts.c.last_posted_at)
    return (
        update(accounts)
        .where(accounts.c.id.in_([bindparam(f"id_{i}", type_=BigInteger) for i in range(rows)]))
        .values(**values)
    )


POSTING_COLUMNS = ("entry_id", "account_id", "amount_paise", "currency", "created_at",
                   "balance_after", "hash")


@functools.lru_cache(maxsize=64)
def insert_postings(rows: int) -> Any:
    """One multi-row INSERT for ``rows`` postings (one round trip), built once.

    Parameters: ``<column>_<i>`` for each of :data:`POSTING_COLUMNS`, i in 0..rows-1.
    """
    return insert(postings).values(
        [
            {col: bindparam(f"{col}_{i}", type_=postings.c[col].type) for col in POSTING_COLUMNS}
            for i in range(rows)
        ]
    )


@functools.lru_cache(maxsize=16)
def insert_returning_id(table_name: str, dialect: str, conflict_column: str | None) -> Any:
    """INSERT ... [ON CONFLICT (column) DO NOTHING] RETURNING id, built once.

    With a conflict column, no row comes back when the key is already taken.
    """
    table = metadata.tables[table_name]
    if conflict_column is None:
        stmt = insert(table)
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=[conflict_column])
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=[conflict_column])
    else:
        raise NotImplementedError(f"ledgerlib supports PostgreSQL and SQLite, not {dialect}")
    return stmt.returning(table.c.id)


#: An id for a new entry (PostgreSQL), drawn before its postings are hashed;
#: ``table`` is ledger_entries as the connection names it (schema translation).
NEXT_ENTRY_ID = text("SELECT nextval(pg_get_serial_sequence(:table, 'id'))")

_ENTRY_WRITTEN_COLUMNS = ("account_id", "amount_paise", "currency", "created_at",
                          "balance_after", "hash")


@functools.lru_cache(maxsize=16)
def pg_entry_with_postings(rows: int) -> Any:
    """An entry and its ``rows`` postings in ONE statement (PostgreSQL): the
    guard that every new entry has postings runs at the end of the statement
    that inserts it. Core, not text, so a ``schema_translate_map`` applies.

    Parameters: the entry's columns (``id`` drawn by :data:`NEXT_ENTRY_ID`),
    and ``<column>_<i>`` of each posting but its entry id. The postings'
    entry ids come back, none when the idempotency key was already taken
    (then nothing was written).
    """
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    new_entry = (
        pg_insert(entries)
        .values({name: bindparam(name) for name in (
            "id", "idempotency_key", "fingerprint", "memo", "metadata", "reverses_entry_id",
            "created_at")})
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(entries.c.id)
        .cte("new_entry")
    )
    legs = values(
        column("n", Integer),
        *(column(name, postings.c[name].type) for name in _ENTRY_WRITTEN_COLUMNS),
        name="legs",
    ).data([
        (bindparam(f"n_{i}", i, type_=Integer),
         *(bindparam(f"{name}_{i}", type_=postings.c[name].type)
           for name in _ENTRY_WRITTEN_COLUMNS))
        for i in range(rows)
    ])
    # Postings in chain order: their ids follow it.
    written = (select(new_entry.c.id, *(legs.c[name] for name in _ENTRY_WRITTEN_COLUMNS))
               .select_from(new_entry).join(legs, true()).order_by(legs.c.n))
    return (insert(postings).from_select(["entry_id", *_ENTRY_WRITTEN_COLUMNS], written)
            .add_cte(new_entry).returning(postings.c.entry_id))
