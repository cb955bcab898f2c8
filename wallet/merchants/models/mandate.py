"""AutoPay mandates: a customer's standing approval of a shop's debits
(wallet.merchants.mandates), and the debits presented within it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import expression

from ...core.codes import DebitStatus, MandateFrequency, MandateStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Mandate(Base):
    """What a shop may debit from a customer's wallet without asking each time:
    at most ``max_amount_paise`` a debit, one per period of ``frequency``,
    from ``starts_at`` until ``ends_at`` (India-time midnights)."""

    __tablename__ = "mandates"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "md_…": the id the shop and the mandate page know it by (unguessable).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    #: Who approved it (None until then).
    customer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    description: Mapped[str] = mapped_column(String(140))
    max_amount_paise: Mapped[int] = mapped_column(BigInteger)
    frequency: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: False: a test mandate (approved at the test page, its debits simulated;
    #: their mode is their mandate's).
    livemode: Mapped[bool] = mapped_column(Boolean, default=True,
                                           server_default=expression.true())

    __table_args__ = (
        CheckConstraint("max_amount_paise > 0", name="max_amount_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(f"status IN {_sql_list(MandateStatus.ALL)}", name="status"),
        CheckConstraint(f"frequency IN {_sql_list(MandateFrequency.ALL)}", name="frequency"),
        Index("ix_mandates_merchant_id_id", "merchant_id", "id"),
        Index("ix_mandates_customer_user_id_id", "customer_user_id", "id"),
    )


class MandateDebit(Base):
    """One debit a shop presented within a mandate: executed no earlier than
    ``execute_at`` (the pre-debit notice), at most one per period."""

    __tablename__ = "mandate_debits"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "mdd_…": the id the shop knows it by.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandates.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    #: The period it falls in ("2026-12", "2026-W50", …; its own id when the
    #: mandate is "as presented"): unique per mandate.
    period_key: Mapped[str] = mapped_column(String(48))
    status: Mapped[str] = mapped_column(String(16))
    execute_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    executed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Why it failed or was cancelled: a stable code and the words for people.
    failure_code: Mapped[str] = mapped_column(String(40), default="")
    failure_reason: Mapped[str] = mapped_column(String(300), default="")
    #: The payment (a ``transactions`` row of kind payment) once it succeeded.
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"),
                                                       unique=True)

    __table_args__ = (
        UniqueConstraint("mandate_id", "period_key"),
        CheckConstraint("amount_paise > 0", name="amount_positive"),
        CheckConstraint(f"status IN {_sql_list(DebitStatus.ALL)}", name="status"),
        Index("ix_mandate_debits_mandate_id_id", "mandate_id", "id"),
        Index("ix_mandate_debits_status_execute_at", "status", "execute_at"),
    )
