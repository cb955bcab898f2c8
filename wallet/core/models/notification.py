from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime
from .user import IdType


class Notification(Base):
    """Something a user should hear of in the app (money received, a withdrawal
    paid or returned...), written by the domain in the same database
    transaction as the event itself."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: What happened (wallet.core.notifications.Event).
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(300))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MerchantNotification(Base):
    """Something a shop should hear of, kept like a sent e-mail: a change to
    where its settlements go, or to its shop PIN (wallet.core.notifications)."""

    __tablename__ = "merchant_notifications"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
