"""Scheduled and recurring payments (wallet.money.schedules): a schedule, and
one row per run of it, unique per (schedule, run number): the run's ledger key
is derived from that pair, so a run is paid at most once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import RunStatus, ScheduleFrequency, ScheduleStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.transaction import sql_list
from ...core.models.user import IdType


class PaymentSchedule(Base):
    """A payment its payer approved with the PIN, to a user or a shop, once or
    every week or month (wallet.money.schedule_dates)."""

    __tablename__ = "payment_schedules"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "ps_…": the id pages and the API show (unguessable).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    payer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    payee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    payee_merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"))
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(140), default="")
    frequency: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[dt.date] = mapped_column(Date)
    #: The last date a run may fall on (inclusive), or None.
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    #: How many runs in all (skipped ones count), or None.
    max_runs: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    #: The number of the latest run made a row (its next is made when it ends).
    last_run_number: Mapped[int] = mapped_column(Integer, default=0)
    #: The form's or the API's key it was made with: the same twice makes one.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("amount_paise > 0", name="amount_positive"),
        CheckConstraint(f"status IN {sql_list(ScheduleStatus.ALL)}", name="status"),
        CheckConstraint(f"frequency IN {sql_list(ScheduleFrequency.ALL)}", name="frequency"),
        CheckConstraint("(payee_user_id IS NULL) <> (payee_merchant_id IS NULL)",
                        name="one_payee"),
        Index("ix_payment_schedules_payer_user_id_id", "payer_user_id", "id"),
    )


class ScheduleRun(Base):
    """One run of a schedule: its date, its notice, its outcome."""

    __tablename__ = "schedule_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("payment_schedules.id"))
    run_number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date] = mapped_column(Date)
    #: When the payer is told it is coming (notice period before ``due_at``).
    notify_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When the sweep pays it: its day's run time, or its retry's time.
    attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"),
                                                       unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("schedule_id", "run_number"),
        CheckConstraint(f"status IN {sql_list(RunStatus.ALL)}", name="status"),
        Index("ix_schedule_runs_status_attempt_at", "status", "attempt_at"),
        Index("ix_schedule_runs_notified_at_notify_at", "notified_at", "notify_at"),
    )
