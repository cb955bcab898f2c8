"""A user's complaint about a transaction (a ticket) and its timeline."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ...core.codes import TicketActor, TicketCategory, TicketEventKind, TicketStatus
from ...core.models.meta import Base, UTCDateTime
from ...core.models.user import IdType


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Ticket(Base):
    """What a user reported about one of their transactions, with the time
    an answer is due by (``due_at``: the category's deadline from
    ``created_at``) and, once final, the reason the user reads
    (``resolution``)."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: "tk_…": the id pages and the API know it by (unguessable).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"))
    category: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    #: Why it was resolved or rejected, in words for the user.
    resolution: Mapped[str | None] = mapped_column(String(300))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: An operator passed it up (the console's escalated queue).
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: When it was resolved or rejected.
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When the automatic checks examined it (wallet.care.auto_resolve): once,
    #: whatever they found; the sweep looks for open tickets without it.
    examined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"category IN {_sql_list(TicketCategory.ALL)}", name="category"),
        CheckConstraint(f"status IN {_sql_list(TicketStatus.ALL)}", name="status"),
        Index("ix_tickets_user_id_id", "user_id", "id"),
        Index("ix_tickets_status_due_at", "status", "due_at"),
        Index("ix_tickets_transaction_id", "transaction_id"),
        # One live ticket per person and transaction: a second report is an
        # answer pointing at the first, not a second queue entry.
        Index("uq_tickets_one_live_per_transaction", "user_id", "transaction_id", unique=True,
              sqlite_where=text("status IN ('open', 'investigating')"),
              postgresql_where=text("status IN ('open', 'investigating')")),
    )


class TicketEvent(Base):
    """One line of a ticket's timeline, in words the user reads (``text``)."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))
    #: The ticket's status after this line (a STATUS line), else None.
    status: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(16))
    #: The operator (actor ``operator``), else None.
    actor_id: Mapped[int | None] = mapped_column(IdType)
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"kind IN {_sql_list(TicketEventKind.ALL)}", name="kind"),
        CheckConstraint(f"actor IN {_sql_list(TicketActor.ALL)}", name="actor"),
        CheckConstraint(f"status IS NULL OR status IN {_sql_list(TicketStatus.ALL)}",
                        name="status"),
        Index("ix_ticket_events_ticket_id_id", "ticket_id", "id"),
    )
