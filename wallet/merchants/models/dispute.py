"""Disputes of shop payments (wallet.merchants.disputes): a customer says a
payment was not delivered or not authorised; the disputed money is held in
the shop's wallet until the shop accepts, contests (an operator decides) or
lets the deadline pass."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import DisputeReason, DisputeStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


_UNRESOLVED = text(f"status IN {_sql_list(DisputeStatus.UNRESOLVED)}")


class Dispute(Base):
    """One customer's dispute of one shop payment (at most one unresolved per
    payment: a partial unique index)."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "dp_…": the id the shop knows it by (unguessable).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    payment_transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"))
    customer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The customer's complaint ticket it came from (wallet.care.tickets), if any: no FK.
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16))
    #: What the customer disputes: the payment less what was refunded before.
    disputed_paise: Mapped[int] = mapped_column(BigInteger)
    #: What could be held in the shop's wallet (less when its balance was less; 0: no hold).
    held_paise: Mapped[int] = mapped_column(BigInteger)
    #: The ledger hold (None when nothing could be held).
    hold_id: Mapped[int | None] = mapped_column(BigInteger)
    #: The shop's answer by then, or the customer wins.
    respond_by: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    evidence: Mapped[str] = mapped_column(String(2000), default="")
    #: Who decided (an operator's name, "shop", or "deadline") and why.
    decided_by: Mapped[str] = mapped_column(String(80), default="")
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    #: The refund to the customer when the customer won (or the shop accepted).
    refund_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"),
                                                              unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("disputed_paise > 0", name="disputed_positive"),
        CheckConstraint("held_paise >= 0 AND held_paise <= disputed_paise", name="held_range"),
        CheckConstraint(f"status IN {_sql_list(DisputeStatus.ALL)}", name="status"),
        CheckConstraint(f"reason IN {_sql_list(DisputeReason.ALL)}", name="reason"),
        Index("ix_disputes_merchant_id_id", "merchant_id", "id"),
        Index("ix_disputes_status_respond_by", "status", "respond_by"),
        Index("uq_disputes_unresolved_payment", "payment_transaction_id", unique=True,
              postgresql_where=_UNRESOLVED, sqlite_where=_UNRESOLVED),
    )
