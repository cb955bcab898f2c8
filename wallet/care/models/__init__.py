"""Care's tables: users' tickets and their timelines (wallet.care.tickets)."""
from __future__ import annotations

from .ticket import Ticket, TicketEvent

__all__ = ["Ticket", "TicketEvent"]
