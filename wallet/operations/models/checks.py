from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


class LedgerCheck(Base):
    """One run of the ledger verification (wallet.operations.ledger_checks): what it
    found, when, and how long it took. Metrics and the console read it."""

    __tablename__ = "ledger_checks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    #: How many problems, and the first of them (the CLI's verify shows them all).
    problems: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(1000))
