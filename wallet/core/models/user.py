from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .. import codes
from .meta import Base, UTCDateTime

IdType = BigInteger().with_variant(Integer(), "sqlite")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("kyc_level IN ('minimum', 'full')", name="kyc_level"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: E.164, e.g. +919876543210 (see webapp.phone).
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: Set by an operator (wallet.money.freeze): the wallet can receive, not spend.
    frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    frozen_reason: Mapped[str | None] = mapped_column(String(300))

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None
    #: "minimum" or "full" (wallet.identity.kyc): decides the wallet's limits (wallet.money.limits).
    kyc_level: Mapped[str] = mapped_column(String(8), default="minimum",
                                           server_default="minimum")
    #: Their receive handle (``asha`` of ``asha@wallet``: wallet.identity.handles),
    #: chosen once; None until they choose it.
    handle: Mapped[str | None] = mapped_column(String(30), unique=True, default=None)

    @property
    def wallet_code(self) -> str:
        return codes.user_wallet(self.id)

    @property
    def masked_phone(self) -> str:
        return f"{self.phone[:3]} ••••• {self.phone[-5:]}" if len(self.phone) > 8 else self.phone


class LoginAttempt(Base):
    """Failed log-ins, counted per phone and per IP to throttle guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class LoginThrottle(Base):
    """Log-in attempts per account key in the current window, counted atomically
    (an upsert) *before* the password is checked, so parallel guesses cannot all
    slip under the limit."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
