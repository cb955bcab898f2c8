"""Care's tables: users' tickets and their timelines (wallet.care.tickets),
the compensation paid on them (wallet.care.compensation) and the money frozen
when fraud is reported (wallet.care.fraud)."""
from __future__ import annotations

from .compensation import TicketCompensation
from .fraud_hold import FraudHold
from .ticket import Ticket, TicketEvent

__all__ = ["FraudHold", "Ticket", "TicketCompensation", "TicketEvent"]
