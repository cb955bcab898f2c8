"""Responses kept for ``Idempotency-Key`` replays (wallet.core.idempotency)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime
from .user import IdType


class IdempotencyRecord(Base):
    """A money request made with an ``Idempotency-Key``: the request's
    fingerprint and the response it got, replayed for the same key. Keys
    belong to who sent them: a user (token) or a shop (merchant key), exactly
    one of the two."""

    __tablename__ = "api_idempotency"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    key: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the method, path and canonical JSON body.
    request_sha256: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        UniqueConstraint("merchant_id", "key"),
        CheckConstraint("(user_id IS NULL) <> (merchant_id IS NULL)", name="one_owner"),
    )
