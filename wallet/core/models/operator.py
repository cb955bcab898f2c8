"""The console's operators (wallet.operations.operators)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime
from .user import IdType


class Operator(Base):
    """A person who signs in to the console with a password and a TOTP code."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    #: viewer (reads) or operator (may act): wallet.operations.operators.Role.
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(100))
    totp_secret: Mapped[str] = mapped_column(String(64))
    #: The last TOTP time step accepted: a code is good once, never replayed.
    last_totp_step: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("role IN ('viewer', 'operator')", name="role"),)
