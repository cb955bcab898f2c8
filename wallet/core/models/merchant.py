from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
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

    #: How many ledger accounts receive its payments (wallet.money.shop_shards):
    #: 1 is its wallet account alone; a busy shop's payments spread over more.
    receiving_shards: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __table_args__ = (
        CheckConstraint(f"receiving_shards BETWEEN 1 AND {codes.MAX_RECEIVING_SHARDS}",
                        name="receiving_shards"),
    )

    @property
    def wallet_code(self) -> str:
        return codes.merchant_wallet(self.id)


class MerchantStore(Base):
    """An outlet of a shop (a counter, a branch of a chain): its own handle,
    QR and pay link; a payment to it carries it (``transactions.payee_store_id``).
    Every shop has at least one; its money is the shop's (one wallet)."""

    __tablename__ = "merchant_stores"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    #: Its payment handle: users pay /pay/<handle> (unique among stores).
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: A closed store takes no more payments; its history stays.
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
