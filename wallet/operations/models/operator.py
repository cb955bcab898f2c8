"""The operators' append-only audit log and stored reconciliation runs
(wallet.operations.audit, wallet.operations.oversight)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


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
