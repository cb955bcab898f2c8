"""A ticket that a shop dispute answers: "the shop did not deliver" or "not
authorised by me" on a shop payment opens a dispute (wallet.merchants.disputes)
with the ticket, and the ticket follows it -- the shop's contest, the decision
-- in lines the user reads.

Lock order: a dispute's step locks the dispute, then (here) its ticket, then
moves the money; opening one inserts the ticket (no lock) and then locks the
payment (wallet.merchants.disputes)."""
from __future__ import annotations

from ledgerlib import format_paise

from ..core.codes import DisputeStatus, TicketActor, TicketEventKind, TicketStatus
from ..merchants.models import Dispute
from .errors import TicketNotFound
from .tickets import Tickets

__all__ = ["DisputedTickets"]


class DisputedTickets:
    def __init__(self, *, tickets: Tickets):
        self.tickets = tickets

    def follow(self, dispute: Dispute) -> None:
        """The dispute's ticket told of its step (nothing for a dispute opened
        without a ticket)."""
        if dispute.ticket_id is None:
            return
        try:
            ticket = self.tickets.locked(dispute.ticket_id)
        except TicketNotFound:  # (opened through the domain with an id of no ticket)
            return
        held = format_paise(dispute.held_paise)
        live = ticket.status in TicketStatus.LIVE
        if dispute.status == DisputeStatus.CONTESTED:
            text = ("The shop contested your dispute with its evidence: "
                    f"“{dispute.evidence[:300]}”. Our team decides.")
            self.tickets.add_line(ticket, TicketEventKind.MESSAGE, text, actor=TicketActor.SHOP)
            if ticket.status == TicketStatus.OPEN:
                self.tickets.move(ticket, TicketStatus.INVESTIGATING,
                                  "Our team is looking at the shop's evidence.",
                                  actor=TicketActor.SYSTEM)
            return
        if dispute.status == DisputeStatus.WON:
            status, text = TicketStatus.REJECTED, (
                f"Decided for the shop: {dispute.decision_reason or 'it showed the payment'}.")
        else:
            why = {DisputeStatus.ACCEPTED: "The shop accepted your dispute",
                   DisputeStatus.LOST: "Decided for you"}[DisputeStatus(dispute.status)]
            status, text = TicketStatus.RESOLVED, (
                f"{why}: {held} refunded to your wallet." if dispute.held_paise else
                f"{why}, but the shop's wallet had nothing to refund from: our team will "
                "contact you.")
        if live:
            self.tickets.move(ticket, status, text, actor=TicketActor.SYSTEM)
        else:
            self.tickets.add_line(ticket, TicketEventKind.FINDING, text,
                                  actor=TicketActor.SYSTEM)
