"""What a shop's settlements need beyond its password: the bank accounts it
registered (settlements go there and nowhere else) and its shop PIN."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


class MerchantPin(Base):
    """A shop's PIN and its wrong tries: the shape of WalletPin (wallet.identity.pins
    counts, locks and checks both alike), owned by a merchant."""

    __tablename__ = "merchant_pins"

    merchant_id: Mapped[int] = mapped_column(IdType, ForeignKey("merchants.id"),
                                             primary_key=True)
    pin_hash: Mapped[str] = mapped_column(String(100))
    failed_tries: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
