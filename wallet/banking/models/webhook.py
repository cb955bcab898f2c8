from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


class WebhookAttempt(Base):
    """Every call to a webhook endpoint, accepted or not, for audit."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(100))
    source_ip: Mapped[str] = mapped_column(String(64))
    signature_header: Mapped[str | None] = mapped_column(String(600))
    body: Mapped[str] = mapped_column(Text)
    http_status: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(300), default="")
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class WebhookEvent(Base):
    """A bank event that was authenticated and processed: replays are refused,
    re-deliveries of the same event answer 200 and change nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(100))
    body_sha256: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(40))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    processed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("bank_code", "event_id"),)
