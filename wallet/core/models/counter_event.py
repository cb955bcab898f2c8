"""The counter's outbox (wallet.merchants.counter): one row per shop payment,
written in the payment's own transaction, read by the announcer process."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime
from .user import IdType


class CounterEvent(Base):
    """A shop payment as the counter hears of it. It exists exactly when the
    payment does (same transaction: one that rolls back leaves none).

    Readers deliver events in ``(xid, id)`` order and only those whose ``xid``
    is below the oldest transaction still running (docs/architecture.md,
    "The counter's announcer"): on PostgreSQL ``xid`` is the writing
    transaction's ``pg_current_xact_id()``; SQLite serializes writers, so
    there it is 0 and ``id`` alone orders them."""

    __tablename__ = "counter_events"
    __table_args__ = (
        Index("ix_counter_events_merchant_id_xid_id", "merchant_id", "xid", "id"),
        # A page opened afresh reads today's (and old events are pruned by date).
        Index("ix_counter_events_merchant_id_created_at", "merchant_id", "created_at"),
        CheckConstraint("amount_paise > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: The writing transaction's id (PostgreSQL; 0 on SQLite).
    xid: Mapped[int] = mapped_column(BigInteger)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    #: The store paid at (transactions.payee_store_id); NULL: the shop's first store.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_stores.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), unique=True)
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
