"""A shop's automatic settlement (wallet.banking.auto_settlement): its
schedule, each settlement made (by the schedule, by hand, "settle all now")
and the bank payouts it was paid in (several when the bank caps a payout)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import SettlementMode, SettlementStatus, SettlementTrigger
from ...core.models.meta import Base, UTCDateTime
from ...core.models.transaction import sql_list
from ...core.models.user import IdType


class SettlementSchedule(Base):
    """When a shop's balance goes to its bank by itself (one per shop)."""

    __tablename__ = "settlement_schedules"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), unique=True)
    mode: Mapped[str] = mapped_column(String(16))
    #: The India times of day of ``daily_times`` ("11:00,17:00"); T+1's one time.
    times: Mapped[str] = mapped_column(String(100), default="")
    #: What stays in the wallet: a run settles only what is above it.
    min_balance_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("merchant_bank_accounts.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The next window's due instant (None: off); the sweep's index.
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"mode IN {sql_list(SettlementMode.ALL)}", name="mode"),
        CheckConstraint("min_balance_paise >= 0", name="min_balance_not_negative"),
        Index("ix_settlement_schedules_enabled_next_run_at", "enabled", "next_run_at"),
    )


class Settlement(Base):
    """One settlement of a shop's balance to its bank, with what its report
    needs (the period it covers, what was kept and held)."""

    __tablename__ = "settlements"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "stl_…": the id the shop knows it by.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    #: The minimum balance kept in the wallet, and the disputes' money held there.
    kept_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    disputes_held_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("merchant_bank_accounts.id"))
    bank_code: Mapped[str] = mapped_column(String(32))
    #: The references the bank knows its payouts by ("wd_12 wd_13"), once paid.
    bank_references: Mapped[str] = mapped_column(String(600), default="")
    #: ``settlement:<merchant>:<due instant>`` for a scheduled window; unique.
    window_key: Mapped[str] = mapped_column(String(120), unique=True)
    failure_reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("amount_paise > 0", name="amount_positive"),
        CheckConstraint(f"trigger IN {sql_list(SettlementTrigger.ALL)}", name="trigger"),
        CheckConstraint(f"status IN {sql_list(SettlementStatus.ALL)}", name="status"),
        Index("ix_settlements_merchant_id_id", "merchant_id", "id"),
    )


class SettlementPayout(Base):
    """One bank payout (a withdrawal's transaction) of a settlement."""

    __tablename__ = "settlement_payouts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), index=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), unique=True)
    part: Mapped[int] = mapped_column(Integer)
    amount_paise: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("amount_paise > 0", name="amount_positive"),)
