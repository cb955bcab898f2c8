"""Care's tables: users' tickets and their timelines (wallet.care.tickets), and
the money frozen when fraud is reported (wallet.care.fraud)."""
from __future__ import annotations

from .fraud_hold import FraudHold
from .ticket import Ticket, TicketEvent

__all__ = ["FraudHold", "Ticket", "TicketEvent"]
