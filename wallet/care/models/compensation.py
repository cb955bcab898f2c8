"""A day's compensation credited on a ticket (wallet.care.compensation)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from ...core.models.meta import Base, UTCDateTime


class TicketCompensation(Base):
    """Day ``day_number`` past a stuck transaction's reversal deadline, paid:
    at most one row per ticket and day (the primary key), and at most one
    credit per complained transaction and day across its tickets (the
    credit's key ``compensation:<transaction id>:<n>``, unique), so a sweep
    run twice, or two at once, or twin tickets pay a day once;
    ``transaction_id`` is the credit the user sees (an ``adjustment``)."""

    __tablename__ = "ticket_compensations"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    #: 1: the first day past the deadline.
    day_number: Mapped[int] = mapped_column(Integer, primary_key=True,
                                            autoincrement=False)
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("day_number >= 1", name="day_number_positive"),
        CheckConstraint("amount_paise > 0", name="amount_positive"),
    )
