"""A transfer held for its undo window (wallet.money.transfer_holds): one row
per held transfer, beside its transaction; the ledger hold keeps the money
out of both wallets' reach until it lands or is cancelled."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import TransferHoldStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.transaction import sql_list
from ...core.models.user import IdType


class TransferHold(Base):
    __tablename__ = "transfer_holds"

    transaction_id: Mapped[int] = mapped_column(IdType, ForeignKey("transactions.id"),
                                                primary_key=True)
    hold_id: Mapped[int] = mapped_column(BigInteger)
    #: When the sweep lands it (the end of the undo window).
    lands_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"status IN {sql_list(TransferHoldStatus.ALL)}", name="status"),
        # The sweep's: pending ones, due first.
        Index("ix_transfer_holds_due", "lands_at",
              sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )
