"""Operators of the console, their append-only audit log, and stored
reconciliation runs (wallet.operators, wallet.audit, wallet.oversight)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime
from .user import IdType


class Operator(Base):
    """A person who signs in to the console with a password and a TOTP code."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    #: viewer (reads) or operator (may act): wallet.operators.Role.
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(100))
    totp_secret: Mapped[str] = mapped_column(String(64))
    #: The last TOTP time step accepted: a code is good once, never replayed.
    last_totp_step: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("role IN ('viewer', 'operator')", name="role"),)


class AuditEntry(Base):
    """One operator action, done or refused. Rows are only ever inserted: the
    code has no update or delete path, and the database refuses both (a
    trigger, created by the migration)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    #: An operator's name, or the OS user / --as name of a wallet-admin run.
    actor: Mapped[str] = mapped_column(String(64), index=True)
    #: console or cli
    source: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    #: done | refused | error
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(500), default="")


class ReconciliationRun(Base):
    """A bank's statement for a day compared with our records, as it was then."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)
    ran_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    statement_lines: Mapped[int] = mapped_column(Integer)
    mismatch_count: Mapped[int] = mapped_column(Integer)
    #: JSON list of [reference, problem, detail].
    mismatches: Mapped[str] = mapped_column(Text)
