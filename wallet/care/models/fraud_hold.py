"""Money frozen in a recipient's wallet after the sender reported fraud."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import FraudHoldStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType
from .ticket import _sql_list


class FraudHold(Base):
    """One per fraud ticket: what of the transfer was still in the recipient's
    wallet when it was reported (``held_paise``, the ledger hold ``hold_id``;
    none left: status ``none``, no hold), and the operator's decision."""

    __tablename__ = "fraud_holds"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"))
    recipient_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The ledger hold (recipient's wallet -> sender's wallet); None: nothing held.
    hold_id: Mapped[int | None] = mapped_column(BigInteger)
    held_paise: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The operator who returned or released it.
    decided_by: Mapped[int | None] = mapped_column(IdType)
    reason: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        CheckConstraint(f"status IN {_sql_list(FraudHoldStatus.ALL)}", name="status"),
        CheckConstraint("held_paise >= 0", name="held_not_negative"),
        Index("ix_fraud_holds_recipient_user_id", "recipient_user_id"),
        Index("ix_fraud_holds_status_id", "status", "id"),
        Index("ix_fraud_holds_transaction_id", "transaction_id"),
    )
