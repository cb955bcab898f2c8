"""Writing the counter's outbox (wallet.core.models.CounterEvent): a shop
payment's event in the payment's own transaction, at no extra round trip on
PostgreSQL (one data-modifying CTE inserts the transaction and its event), one
INSERT more on SQLite (which has no such CTE). Reading it is
wallet.merchants.counter's."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, Insert, Text, bindparam, cast, func, insert, select
from sqlalchemy.orm import Session

from .models import CounterEvent, Transaction
from .notifications import _RAW, _UNSET, _inserted

__all__ = ["announce", "insert_announced", "writer_xid"]


def writer_xid() -> Any:
    """The writing transaction's id as a BIGINT (PostgreSQL 13+: xid8, which
    never wraps around)."""
    return cast(cast(func.pg_current_xact_id(), Text), BigInteger)


@functools.cache
def _announced_insert() -> Insert:
    """The transaction's INSERT (as wallet.core.notifications builds it) and
    its event's, one statement: built once."""
    # (Its own INSERT, not _recorded_insert()'s with more RETURNING columns: a
    # statement a CTE was made from keeps its memoized columns in its copies.)
    columns = [c for c in Transaction.__table__.c if c.key != "id"]
    moved = (insert(Transaction)
             .values({c.key: bindparam(f"t_{c.key}", type_=c.type) for c in columns})
             .returning(Transaction.id, Transaction.payee_merchant_id,
                        Transaction.payee_store_id, Transaction.amount_paise,
                        Transaction.created_at)
             .cte("moved"))
    return (insert(CounterEvent).from_select(
        ["xid", "merchant_id", "store_id", "transaction_id", "amount_paise", "created_at"],
        select(writer_xid(), moved.c.payee_merchant_id, moved.c.payee_store_id, moved.c.id,
               moved.c.amount_paise, moved.c.created_at))
        .add_cte(moved).returning(CounterEvent.transaction_id))


def insert_announced(db: Session, values: Mapping[str, Any]) -> Transaction | None:
    """A shop payment's Transaction with ``values`` and its counter event, in
    one statement on PostgreSQL; None elsewhere (the caller adds the
    transaction, then :func:`announce`)."""
    if db.get_bind().dialect.name != "postgresql":
        return None
    row = {**_UNSET, **values}
    params = {f"t_{key}": value for key, value in row.items() if key != "id"}
    return _inserted(db, row, db.execute(_announced_insert(), params,
                                         execution_options=_RAW).scalar_one())


def announce(db: Session, tx: Transaction) -> None:
    """The counter event of ``tx`` (flushed: it has its id), added to the
    session: inserted by the next flush, in the same transaction. (SQLite
    serializes writers: ``xid`` 0 there.)"""
    assert tx.payee_merchant_id is not None
    xid = writer_xid() if db.get_bind().dialect.name == "postgresql" else 0
    db.add(CounterEvent(xid=xid, merchant_id=tx.payee_merchant_id, store_id=tx.payee_store_id,
                        transaction_id=tx.id, amount_paise=tx.amount_paise,
                        created_at=tx.created_at))
