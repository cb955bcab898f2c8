"""A user asks another for money (a request, alone or one share of a split
bill), and a user blocks a requester."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import MoneyRequestStatus, SplitMode, SplitStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Split(Base):
    """A bill shared: its total is always ``creator_share_paise`` plus the
    amounts of its requests (one per other person)."""

    __tablename__ = "splits"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "sp_…": the id pages and the API know it by (unguessable).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    creator_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(80))
    mode: Mapped[str] = mapped_column(String(8))
    total_paise: Mapped[int] = mapped_column(BigInteger)
    #: The creator's own share (theirs already: no request), 0 if not in it.
    creator_share_paise: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("total_paise > 0", name="total_positive"),
        CheckConstraint("creator_share_paise >= 0", name="creator_share_not_negative"),
        CheckConstraint(f"mode IN {_sql_list(SplitMode.ALL)}", name="mode"),
        CheckConstraint(f"status IN {_sql_list(SplitStatus.ALL)}", name="status"),
        Index("ix_splits_creator_user_id_id", "creator_user_id", "id"),
    )


class MoneyRequest(Base):
    """A user (the requester) asks another (the payer) for an amount; paid
    at most once, by one ordinary transfer (``transaction_id``)."""

    __tablename__ = "money_requests"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "rq_…": the id pages and the API know it by (unguessable).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    requester_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    payer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(140))
    status: Mapped[str] = mapped_column(String(16))
    #: The split bill it is a share of, if any.
    split_id: Mapped[int | None] = mapped_column(ForeignKey("splits.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: When it was paid, declined, cancelled or expired.
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The transfer (a ``transactions`` row of kind transfer) once paid.
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"),
                                                       unique=True)

    __table_args__ = (
        CheckConstraint("amount_paise > 0", name="amount_positive"),
        CheckConstraint("requester_user_id <> payer_user_id", name="not_self"),
        CheckConstraint(f"status IN {_sql_list(MoneyRequestStatus.ALL)}", name="status"),
        Index("ix_money_requests_payer_user_id_id", "payer_user_id", "id"),
        Index("ix_money_requests_requester_user_id_id", "requester_user_id", "id"),
        Index("ix_money_requests_requester_user_id_created_at", "requester_user_id",
              "created_at"),
        Index("ix_money_requests_status_expires_at", "status", "expires_at"),
        Index("ix_money_requests_split_id", "split_id"),
    )


class RequestBlock(Base):
    """``user_id`` takes no more requests from ``blocked_user_id``."""

    __tablename__ = "request_blocks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    blocked_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "blocked_user_id"),)
