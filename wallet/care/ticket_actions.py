"""What an operator does with a user's ticket, from the console: take it,
reverse the transfer, refund from the shop, resolve, reject, escalate.

Each goes as :class:`wallet.operations.operator_actions.OperatorActions`'
actions do: the role and a reason are checked, the action runs in a savepoint
(a refusal changes nothing but its audit row), and exactly one row is written
to the audit log (object ``ticket``, the ticket's ``tk_…`` id), with the
operator and the reason. Each action done is also a line on the ticket's
timeline, which the user reads: the reason of a resolution or a rejection is
the user's answer. The ticket's row is locked first (level 4), then the
transfer reversed or the payment refunded (level 4, always after its ticket).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from ledgerlib import InvalidAmount, format_paise, parse_amount

from ..core.codes import Kind, TicketActor, TicketCategory, TicketEventKind, TicketStatus, utcnow
from ..core.errors import WalletError
from ..core.models import Merchant, Transaction
from ..core.text import is_ordinary
from ..merchants.refunds import MAX_REASON_CHARS as REFUND_REASON_CHARS
from ..merchants.refunds import Refunds
from ..operations.audit import Actor, AuditLog, Outcome
from ..operations.operator_actions import ActionResult, clean_reason
from .errors import TicketClosed
from .models import Ticket
from .reversals import Reversals
from .tickets import Tickets

__all__ = ["MAX_REASON_CHARS", "TicketActions", "refund_key"]

#: A resolution's or a rejection's reason is what the user reads (tickets.resolution).
MAX_REASON_CHARS = 300
OBJECT = "ticket"

#: What a fraud ticket is never answered with here (wallet.care.fraud.FraudReview
#: decides it with its hold): taking and escalating it are fine.
FRAUD_REVIEW_ONLY = frozenset({"ticket_resolve", "ticket_reject", "ticket_reverse",
                               "ticket_refund"})


def refund_key(ticket: Ticket) -> str:
    """The shop refund a ticket may make, once: a double click replays it."""
    return f"ticket-{ticket.public_id}"


class TicketActions:
    def __init__(self, db: Session, actor: Actor, operator_id: int | None, *,
                 tickets: Tickets, reversals: Reversals, refunds: Refunds,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db = db
        self.actor = actor
        #: The operator's id, on the timeline (``ticket_events.actor_id``).
        self.operator_id = operator_id
        self.tickets = tickets
        self.reversals = reversals
        self.refunds = refunds
        self.clock = clock
        self.audit = AuditLog(db, clock=clock)

    # -- the frame

    def refuse(self, action: str, public_id: str, reason: str, message: str, *,
               forbidden: bool = False, field: str | None = None) -> ActionResult:
        """Audit a refused attempt; nothing else changes."""
        self.audit.record(self.actor, action, OBJECT, public_id, clean_reason(reason)[:500],
                          Outcome.REFUSED, message)
        return ActionResult(False, message, forbidden=forbidden, field=field)

    def check(self, action: str, public_id: str, reason: str) -> ActionResult | None:
        reason = clean_reason(reason)
        if not self.actor.may_act:
            return self.refuse(action, public_id, reason, f"a {self.actor.role} may not act",
                               forbidden=True)
        if not reason:
            return self.refuse(action, public_id, reason,
                               "Give a reason (it goes in the audit log).", field="reason")
        if len(reason) > MAX_REASON_CHARS or not is_ordinary(reason):
            return self.refuse(action, public_id, reason,
                               f"Keep the reason to {MAX_REASON_CHARS} ordinary characters.",
                               field="reason")
        return None

    def run(self, action: str, public_id: str, reason: str,
            fn: Callable[[Ticket, str], str]) -> ActionResult:
        """``fn(locked ticket, clean reason)`` -> what happened, under the
        checks, in a savepoint; one audit row either way."""
        refused = self.check(action, public_id, reason)
        if refused is not None:
            return refused
        reason = clean_reason(reason)
        try:
            with self.db.begin_nested():
                ticket = self.tickets.locked(self.tickets.by_public_id(public_id).id)
                if ticket.status not in TicketStatus.LIVE:
                    raise TicketClosed(f"This ticket is already {ticket.status}.")
                if ticket.category == TicketCategory.FRAUD and action in FRAUD_REVIEW_ONLY:
                    # Its held money must be returned or released with it: one place.
                    raise WalletError("A fraud report is decided on the Fraud holds page: "
                                      "return or release the held money there.")
                outcome = fn(ticket, reason)
        except WalletError as exc:
            return self.refuse(action, public_id, reason, str(exc), field=exc.field)
        self.audit.record(self.actor, action, OBJECT, public_id, reason, Outcome.DONE, outcome)
        return ActionResult(True, outcome)

    def _move(self, ticket: Ticket, status: TicketStatus, text: str) -> None:
        self.tickets.move(ticket, status, text, actor=TicketActor.OPERATOR,
                          actor_id=self.operator_id)

    def _line(self, ticket: Ticket, text: str) -> None:
        self.tickets.add_line(ticket, TicketEventKind.ACTION, text, actor=TicketActor.OPERATOR,
                              actor_id=self.operator_id)

    # -- the actions

    def take(self, public_id: str, reason: str) -> ActionResult:
        def take(ticket: Ticket, why: str) -> str:
            if ticket.status != TicketStatus.OPEN:
                raise TicketClosed("Someone is already looking into this ticket.")
            self._move(ticket, TicketStatus.INVESTIGATING,
                       "A member of our support team is looking into it.")
            return "investigating"
        return self.run("ticket_take", public_id, reason, take)

    def resolve(self, public_id: str, reason: str) -> ActionResult:
        def resolve(ticket: Ticket, why: str) -> str:
            self._move(ticket, TicketStatus.RESOLVED, why)
            return "resolved"
        return self.run("ticket_resolve", public_id, reason, resolve)

    def reject(self, public_id: str, reason: str) -> ActionResult:
        def reject(ticket: Ticket, why: str) -> str:
            self._move(ticket, TicketStatus.REJECTED, why)
            return "rejected"
        return self.run("ticket_reject", public_id, reason, reject)

    def escalate(self, public_id: str, reason: str) -> ActionResult:
        def escalate(ticket: Ticket, why: str) -> str:
            if ticket.escalated_at is not None:
                raise WalletError("This ticket is already escalated.")
            ticket.escalated_at = self.clock()
            self._line(ticket, "Your ticket was passed to a senior member of our team.")
            return "escalated"
        return self.run("ticket_escalate", public_id, reason, escalate)

    def reverse(self, public_id: str, reason: str) -> ActionResult:
        """Put the reported transfer back to the user who sent it; resolved."""
        def reverse(ticket: Ticket, why: str) -> str:
            tx = self.db.get(Transaction, ticket.transaction_id)
            if tx is None or tx.kind != Kind.TRANSFER or tx.payer_user_id != ticket.user_id:
                raise WalletError("Only a transfer this user sent can be reversed.")
            back = self.reversals.reverse_transfer(tx.id, why)
            amount = format_paise(back.amount_paise)
            self._line(ticket, f"We reversed transfer #{tx.id}: {amount} is back in "
                               f"your wallet.")
            self._move(ticket, TicketStatus.RESOLVED, why)
            return f"reversed {amount} (adjustment #{back.id}); resolved"
        return self.run("ticket_reverse", public_id, reason, reverse)

    def refund(self, public_id: str, amount_text: str, reason: str) -> ActionResult:
        """The shop gives (part of) the reported payment back; resolved. The
        key is the ticket's: a second submission replays the first refund."""
        action = "ticket_refund"
        try:
            amount_paise = parse_amount(amount_text)
        except InvalidAmount as exc:
            refused = self.check(action, public_id, reason)
            return refused or self.refuse(action, public_id, reason, str(exc), field="amount")

        def refund(ticket: Ticket, why: str) -> str:
            tx = self.db.get(Transaction, ticket.transaction_id)
            if (tx is None or tx.kind != Kind.PAYMENT or tx.payee_merchant_id is None
                    or tx.payer_user_id != ticket.user_id):
                raise WalletError("Only a shop payment this user made can be refunded.")
            merchant = self.db.get(Merchant, tx.payee_merchant_id)
            assert merchant is not None  # (a foreign key)
            made = self.refunds.refund(merchant, tx.id, amount_paise, refund_key(ticket),
                                       why[:REFUND_REASON_CHARS])
            amount = format_paise(made.amount_paise)
            self._line(ticket, f"{merchant.name} refunded {amount} to your wallet.")
            self._move(ticket, TicketStatus.RESOLVED, why)
            return f"refunded {amount} ({made.public_id}); resolved"
        return self.run(action, public_id, reason, refund)

