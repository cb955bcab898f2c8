"""Report fraud: the sender of a transfer says a scammer talked them into it.

In one transaction: a ticket of category ``fraud`` (:class:`Tickets`) and a
ledger hold on what of the amount is still in the recipient's wallet -- at
most the transfer's amount, at most the recipient's available balance now
(money already spent is not clawed back; nothing goes negative; nothing left:
no hold, and the ticket says so). The recipient is told and may answer (a
``message`` line by the ``counterparty`` on the ticket). An operator decides:

    held ──return to the sender──► returned   (the hold committed: the sender's wallet
         │                                    credited, an adjustment both see; ticket resolved)
         ──release────────────────► released (the recipient keeps it; ticket rejected)
    none ──release (close)────────► none      (ticket rejected; decided_at set)

Lock order (docs/architecture.md): the transfer's transaction row (a report)
or the ticket (a decision, a response) at level 4 -- either covers its
``fraud_holds`` row -- then the ledger hold (7) and the wallets (8).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from ledgerlib import InsufficientFunds, Ledger, format_paise

from ..core import codes
from ..core.codes import (
    FraudHoldStatus,
    Kind,
    Status,
    TicketActor,
    TicketCategory,
    TicketEventKind,
    TicketStatus,
    utcnow,
)
from ..core.errors import WalletError
from ..core.models import Operator, Transaction, User
from ..core.notifications import Notice, notify
from ..core.text import is_ordinary, whole_number
from ..operations.audit import Actor
from ..operations.operator_actions import ActionResult, OperatorActions
from .errors import (
    FraudHoldDecided,
    FraudNotReportable,
    FraudReportNotFound,
    TicketNotFound,
    TicketTransactionNotFound,
)
from .models import FraudHold, Ticket, TicketEvent
from .reversals import reversal_key
from .tickets import Tickets, side_of

__all__ = ["FraudReport", "FraudReports", "FraudReview", "MAX_RESPONSE_CHARS",
           "RecipientView"]

MAX_RESPONSE_CHARS = 1000
#: A timeline line holds 500 characters: a longer response is several lines.
_LINE_CHARS = 500
#: Tries at the hold when the recipient spends between our read and the lock.
_HOLD_TRIES = 5


@dataclass(frozen=True)
class FraudReport:
    """What a report made: the ticket and what was frozen."""

    ticket: Ticket
    hold: FraudHold


@dataclass(frozen=True)
class RecipientView:
    """A fraud report as the recipient of the payment sees it: the amount on
    hold and the lines they (and the operators) wrote, not the sender's note."""

    ticket: Ticket
    transaction: Transaction
    hold: FraudHold
    lines: list[TicketEvent]

    @property
    def live(self) -> bool:
        return self.ticket.status in TicketStatus.LIVE


class FraudReports:
    def __init__(self, dbsession: Session, *, tickets: Tickets, ledger: Ledger,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.tickets = tickets
        self.ledger = ledger
        self.clock = clock

    # ------------------------------------------------------------ the sender

    def report(self, user: User, transaction_id: object, note: object = "") -> FraudReport:
        """Open the fraud ticket and hold what is left; nothing written on a refusal."""
        tx = self._locked_transfer(user, transaction_id)
        ticket = self.tickets.raise_ticket(user, tx.id, TicketCategory.FRAUD, note,
                                           fraud_report=True)
        assert tx.payee_user_id is not None and tx.payer_user_id is not None
        held, hold_id = self._hold(tx, ticket)
        now = self.clock()
        fraud_hold = FraudHold(ticket_id=ticket.id, transaction_id=tx.id,
                               recipient_user_id=tx.payee_user_id, hold_id=hold_id,
                               held_paise=held, created_at=now,
                               status=FraudHoldStatus.HELD if held else FraudHoldStatus.NONE)
        self.db.add(fraud_hold)
        amount = format_paise(tx.amount_paise)
        self.tickets.add_line(ticket, TicketEventKind.FINDING, (
            f"{format_paise(held)} of the {amount} was still in the recipient's wallet: "
            "it is on hold until we decide." if held else
            f"The recipient had already spent the {amount}: nothing could be held."),
            actor=TicketActor.SYSTEM)
        notify(self.db, tx.payee_user_id, Notice.FRAUD_HOLD, (
            f"The sender of {amount} (transaction #{tx.id}) reported it as fraud: "
            f"{format_paise(held)} of it is on hold pending review. You can respond "
            f"(fraud report {ticket.public_id})." if held else
            f"The sender of {amount} (transaction #{tx.id}) reported it as fraud. You can "
            f"respond (fraud report {ticket.public_id})."), tx, now=now)
        return FraudReport(ticket=ticket, hold=fraud_hold)

    def reportable(self, user: User, tx: Transaction) -> bool:
        """May ``user`` report fraud on ``tx`` (the page's button)?"""
        return (tx.kind == Kind.TRANSFER and tx.status == Status.COMPLETED
                and tx.payer_user_id == user.id and tx.payee_user_id is not None
                and tx.payee_user_id != user.id)

    def of_transaction(self, transaction_id: int) -> tuple[Ticket, FraudHold] | None:
        """The latest fraud report on a transaction, with its hold (its pages)."""
        row = self.db.execute(
            select(Ticket, FraudHold).join(FraudHold, FraudHold.ticket_id == Ticket.id)
            .where(FraudHold.transaction_id == transaction_id)
            .order_by(FraudHold.id.desc()).limit(1)).first()
        return None if row is None else (row[0], row[1])

    def _locked_transfer(self, user: User, transaction_id: object) -> Transaction:
        """The user's transaction, its row locked (level 4): reports of one
        transfer one after the other. Someone else's: 404; not an outgoing
        completed transfer to a person: 422."""
        number = transaction_id if isinstance(transaction_id, int) else whole_number(
            transaction_id)
        locked = None if number is None or isinstance(number, bool) else self.db.scalars(
            select(Transaction).where(Transaction.id == number)
            .with_for_update(of=Transaction, key_share=True)
            .execution_options(populate_existing=True)).first()
        if locked is None or side_of(user, locked) is None:
            raise TicketTransactionNotFound("No such transaction of yours.")
        if not self.reportable(user, locked):
            raise FraudNotReportable(
                "Fraud can be reported only on money you sent to a person.")
        if self._given_back(locked.id):
            raise FraudNotReportable("This payment was already given back to you.")
        return locked

    def _given_back(self, transaction_id: int) -> bool:
        """Was the transfer reversed, or its money returned after an earlier
        report? Then a new hold would pay the sender twice."""
        reversed_ = exists().where(Transaction.idempotency_key == reversal_key(transaction_id))
        returned = exists().where(FraudHold.transaction_id == transaction_id,
                                  FraudHold.status == FraudHoldStatus.RETURNED)
        return bool(self.db.scalar(select(or_(reversed_, returned))))  # (one statement)

    def _hold(self, tx: Transaction, ticket: Ticket) -> tuple[int, int | None]:
        """Hold min(amount, the recipient's available balance) of the recipient's
        wallet for the sender's. The ledger checks the funds under the accounts'
        locks: if the recipient spent meanwhile, try again with what it says is
        left (refused before it writes anything: no savepoint needed; the
        accounts stay locked, so the second try is the last)."""
        source = codes.user_wallet(tx.payee_user_id or 0)
        destination = codes.user_wallet(tx.payer_user_id or 0)
        available = self.ledger.balance(source).available_paise
        for _ in range(_HOLD_TRIES):
            amount = min(tx.amount_paise, max(available, 0))
            if amount <= 0:
                return 0, None
            try:  # (a shortfall is found under the lock, before anything is written)
                hold = self.ledger.hold(
                    source, destination, amount,
                    idempotency_key=codes.fraud_hold_key(ticket.id),
                    memo=f"Fraud reported: {ticket.public_id}",
                    metadata={"kind": "fraud_hold", "ticket_id": ticket.id,
                              "transaction_id": tx.id})
                return amount, hold.id
            except InsufficientFunds as exc:
                available = exc.available_paise
        raise WalletError("The recipient's wallet is busy: try again in a moment.")

    # --------------------------------------------------------- the recipient

    def for_recipient(self, user: User, public_id: object) -> RecipientView:
        """A fraud report on a payment ``user`` received, by its ticket's id."""
        try:
            ticket: Ticket | None = self.tickets.by_public_id(public_id)
        except TicketNotFound:
            ticket = None
        hold = None if ticket is None else self.db.scalars(
            select(FraudHold).where(FraudHold.ticket_id == ticket.id)).first()
        if ticket is None or hold is None or hold.recipient_user_id != user.id:
            raise FraudReportNotFound("No such fraud report about a payment you received.")
        tx = self.db.get(Transaction, ticket.transaction_id)
        assert tx is not None
        lines = [line for line in self.tickets.events(ticket)
                 if line.actor in (TicketActor.COUNTERPARTY, TicketActor.OPERATOR)]
        return RecipientView(ticket=ticket, transaction=tx, hold=hold, lines=lines)

    def respond(self, user: User, public_id: object, text: object) -> list[TicketEvent]:
        """The recipient's answer: ``message`` lines by the counterparty."""
        view = self.for_recipient(user, public_id)
        words = _response(text)
        ticket = self.tickets.locked(view.ticket.id)
        if ticket.status not in TicketStatus.LIVE:
            raise FraudHoldDecided("This report has been decided: it takes no more answers.")
        return [self.tickets.add_line(ticket, TicketEventKind.MESSAGE, part,
                                      actor=TicketActor.COUNTERPARTY)
                for part in _parts(words)]

    # ------------------------------------------------------------ the review

    def open_holds(self, limit: int = 100) -> list[tuple[FraudHold, Ticket, Transaction]]:
        """Reports still to decide, oldest first (the console's list)."""
        rows = self.db.execute(
            select(FraudHold, Ticket, Transaction)
            .join(Ticket, Ticket.id == FraudHold.ticket_id)
            .join(Transaction, Transaction.id == FraudHold.transaction_id)
            .where(or_(FraudHold.status == FraudHoldStatus.HELD,
                       FraudHold.decided_at.is_(None)))
            .order_by(FraudHold.id).limit(limit)).unique()
        return [(h, t, tx) for h, t, tx in rows]

    def return_to_sender(self, ticket_id: int, *, operator_id: int | None,
                         reason: str) -> str:
        """Commit the hold to the sender's wallet; the ticket resolved."""
        ticket, fraud_hold = self._locked(ticket_id)
        if fraud_hold.status != FraudHoldStatus.HELD or fraud_hold.hold_id is None:
            raise FraudHoldDecided(f"Nothing to return: the hold is {fraud_hold.status}.")
        tx = self.db.get(Transaction, fraud_hold.transaction_id)
        assert tx is not None
        entry = self.ledger.commit_hold(fraud_hold.hold_id)
        now, amount = self.clock(), format_paise(fraud_hold.held_paise)
        self.db.add(Transaction(
            kind=Kind.ADJUSTMENT, status=Status.COMPLETED, amount_paise=fraud_hold.held_paise,
            payer_user_id=tx.payee_user_id, payee_user_id=tx.payer_user_id,
            note=f"Returned: fraud reported on transaction #{tx.id}",
            idempotency_key=codes.fraud_return_key(ticket.id), ledger_entry_id=entry.id,
            settled_at=now, created_at=now, updated_at=now))
        self._decide(fraud_hold, FraudHoldStatus.RETURNED, operator_id, reason)
        self.tickets.move(ticket, TicketStatus.RESOLVED,
                          f"{amount} was returned to your wallet.",
                          actor=TicketActor.OPERATOR, actor_id=operator_id)
        notify(self.db, tx.payee_user_id, Notice.FRAUD_HOLD,
               f"{amount} of transaction #{tx.id} was returned to its sender after review.",
               tx, now=now)
        return f"{amount} returned to the sender"

    def release(self, ticket_id: int, *, operator_id: int | None, reason: str) -> str:
        """The recipient keeps the money: the hold released, the ticket rejected
        with ``reason`` (the sender reads it)."""
        ticket, fraud_hold = self._locked(ticket_id)
        if fraud_hold.decided_at is not None:
            raise FraudHoldDecided(f"Already decided: the hold is {fraud_hold.status}.")
        if fraud_hold.hold_id is not None:
            self.ledger.release_hold(fraud_hold.hold_id)
        held = fraud_hold.status == FraudHoldStatus.HELD
        self._decide(fraud_hold, FraudHoldStatus.RELEASED if held else FraudHoldStatus.NONE,
                     operator_id, reason)
        self.tickets.move(ticket, TicketStatus.REJECTED, reason,
                          actor=TicketActor.OPERATOR, actor_id=operator_id)
        if held:
            notify(self.db, fraud_hold.recipient_user_id, Notice.FRAUD_HOLD,
                   f"The hold of {format_paise(fraud_hold.held_paise)} on transaction "
                   f"#{fraud_hold.transaction_id} is lifted: the money is yours to spend.",
                   now=self.clock())
        return "hold released" if held else "closed (nothing was held)"

    def _locked(self, ticket_id: int) -> tuple[Ticket, FraudHold]:
        ticket = self.tickets.locked(ticket_id)  # level 4: covers its fraud hold
        fraud_hold = self.db.scalars(select(FraudHold).where(
            FraudHold.ticket_id == ticket.id).execution_options(populate_existing=True)).first()
        if fraud_hold is None:
            raise FraudReportNotFound(f"Ticket {ticket_id} is not a fraud report.")
        return ticket, fraud_hold

    def _decide(self, fraud_hold: FraudHold, status: FraudHoldStatus,
                operator_id: int | None, reason: str) -> None:
        fraud_hold.status, fraud_hold.decided_at = status, self.clock()
        fraud_hold.decided_by, fraud_hold.reason = operator_id, reason[:300]


class FraudReview:
    """The operators' two decisions, audited (one audit row each, through
    :class:`OperatorActions`: the role, a reason, the savepoint)."""

    def __init__(self, *, reports: FraudReports, actions: OperatorActions):
        self.reports = reports
        self.actions = actions

    def return_to_sender(self, ticket_id: int, reason: str) -> ActionResult:
        return self.actions.run(
            "fraud_return", "ticket", ticket_id, reason,
            lambda: self.reports.return_to_sender(
                ticket_id, operator_id=self._operator_id(), reason=_reason(reason)))

    def release(self, ticket_id: int, reason: str) -> ActionResult:
        return self.actions.run(
            "fraud_release", "ticket", ticket_id, reason,
            lambda: self.reports.release(
                ticket_id, operator_id=self._operator_id(), reason=_reason(reason)))

    def _operator_id(self) -> int | None:
        actor: Actor = self.actions.actor
        return self.actions.db.scalar(select(Operator.id).where(Operator.name == actor.name))


def _reason(reason: str) -> str:
    return " ".join(reason.split())


def _response(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise WalletError.of_fields({"text": "Write your answer."})
    words = " ".join(text.split())
    if len(words) > MAX_RESPONSE_CHARS:
        raise WalletError.of_fields(
            {"text": f"Keep your answer to {MAX_RESPONSE_CHARS} characters."})
    if not is_ordinary(words):
        raise WalletError.of_fields({"text": "Your answer has characters we cannot keep."})
    return words


def _parts(words: str) -> list[str]:
    """``words`` in lines of at most 500 characters, cut between words."""
    parts: list[str] = []
    while len(words) > _LINE_CHARS:
        cut = words.rfind(" ", 0, _LINE_CHARS + 1)
        cut = cut if cut > 0 else _LINE_CHARS
        parts.append(words[:cut])
        words = words[cut:].lstrip()
    return parts + [words] if words else parts
