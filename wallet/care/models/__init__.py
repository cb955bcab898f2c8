"""Care's tables: users' tickets and their timelines (wallet.care.tickets),
and the compensation paid on them (wallet.care.compensation)."""
from __future__ import annotations

from .compensation import TicketCompensation
from .ticket import Ticket, TicketEvent

__all__ = ["Ticket", "TicketCompensation", "TicketEvent"]
