from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from .. import codes
from .meta import Base, UTCDateTime
from .user import IdType


class Merchant(Base):
    """A shop that accepts wallet payments. Logs in to the merchant app only."""

    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: Public payment handle, e.g. "chai-point": users pay /pay/chai-point.
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: Space-separated origins (``https://shop.example``) a payment request's
    #: return URL may point at.
    return_origins: Mapped[str] = mapped_column(String(1000), default="", server_default="")

    @property
    def wallet_code(self) -> str:
        return codes.merchant_wallet(self.id)
