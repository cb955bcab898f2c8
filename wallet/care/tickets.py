"""Tickets: a user reports a problem with one of their transactions.

    open --someone looks (the checks, an operator)--> investigating
    open | investigating --the answer-----------------> resolved | rejected

Each ticket is due by its category's deadline (:class:`TicketPolicy`, from
``created_at``); every step is a line of its timeline (``ticket_events``) in
words the user reads, and the user is notified of each status change. A user
has at most one live ticket per transaction (a partial unique index: a second
report points at the first). Who may report what: :data:`ALLOWED`, by the
transaction's kind and the user's side of it.

The ticket's row is the business object of its changes (level 4 of the lock
order, docs/architecture.md): :meth:`Tickets.locked` before anything else a
resolution does.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..core import codes
from ..core.codes import (
    IST,
    Kind,
    TicketActor,
    TicketCategory,
    TicketEventKind,
    TicketStatus,
    utcnow,
)
from ..core.errors import WalletError
from ..core.models import Transaction, User
from ..core.notifications import Notice, notify
from ..core.tasks import TaskQueue, after_commit
from ..core.text import is_ordinary, whole_number
from ..merchants.disputes import Disputes
from .errors import (
    TicketAlreadyOpen,
    TicketCategoryRefused,
    TicketClosed,
    TicketNotFound,
    TicketTransactionNotFound,
)
from .models import Ticket, TicketEvent

__all__ = ["ALLOWED", "CATEGORY_LABELS", "MAX_NOTE_CHARS", "TicketPolicy", "TicketView",
           "Tickets"]

MAX_NOTE_CHARS = 500
C = TicketCategory
#: What the user reads for each category.
CATEGORY_LABELS: Mapping[str, str] = MappingProxyType({
    C.NOT_RECEIVED: "Money debited but not received",
    C.PENDING_TOO_LONG: "Pending for too long",
    C.WRONG_PERSON: "Paid the wrong person",
    C.PAID_TWICE: "Paid twice",
    C.NOT_AUTHORISED: "Not authorised by me",
    C.NOT_DELIVERED: "The shop did not deliver",
    C.FRAUD: "Fraud: I was tricked into paying",
})
#: (transaction kind, the user's side: "payer" | "payee") -> what they may report.
ALLOWED: Mapping[tuple[str, str], tuple[TicketCategory, ...]] = MappingProxyType({
    # (Fraud is reported with "Report fraud", which holds the money: wallet.care.fraud.)
    (Kind.TRANSFER, "payer"): (C.NOT_RECEIVED, C.PENDING_TOO_LONG, C.WRONG_PERSON,
                               C.PAID_TWICE, C.NOT_AUTHORISED),
    (Kind.TRANSFER, "payee"): (C.NOT_RECEIVED, C.PENDING_TOO_LONG),
    (Kind.PAYMENT, "payer"): (C.NOT_RECEIVED, C.PENDING_TOO_LONG, C.WRONG_PERSON,
                              C.PAID_TWICE, C.NOT_AUTHORISED, C.NOT_DELIVERED),
    (Kind.DEPOSIT, "payee"): (C.NOT_RECEIVED, C.PENDING_TOO_LONG, C.PAID_TWICE),
    (Kind.WITHDRAWAL, "payer"): (C.NOT_RECEIVED, C.PENDING_TOO_LONG, C.PAID_TWICE),
    (Kind.REFUND, "payee"): (C.NOT_RECEIVED, C.PENDING_TOO_LONG),
})
#: Hours from the report to the answer, by category (settings: wallet.ticket_due_hours).
DEFAULT_DUE_HOURS: Mapping[str, float] = MappingProxyType({
    C.NOT_RECEIVED: 24.0, C.PENDING_TOO_LONG: 24.0, C.WRONG_PERSON: 72.0,
    C.PAID_TWICE: 48.0, C.NOT_AUTHORISED: 72.0, C.NOT_DELIVERED: 168.0, C.FRAUD: 72.0,
})
#: Which statuses may follow which.
_NEXT: Mapping[str, tuple[str, ...]] = MappingProxyType({
    TicketStatus.OPEN: (TicketStatus.INVESTIGATING, TicketStatus.RESOLVED,
                        TicketStatus.REJECTED),
    TicketStatus.INVESTIGATING: (TicketStatus.RESOLVED, TicketStatus.REJECTED),
})
_STATUS_WORDS: Mapping[str, str] = MappingProxyType({
    TicketStatus.INVESTIGATING: "We are looking into it",
    TicketStatus.RESOLVED: "Resolved",
    TicketStatus.REJECTED: "Closed without a change",
})


@dataclass(frozen=True)
class TicketPolicy:
    #: (category, hours from the report to the answer); a category not
    #: listed takes :data:`DEFAULT_DUE_HOURS`'s.
    due_hours: tuple[tuple[str, float], ...] = tuple(DEFAULT_DUE_HOURS.items())

    def due_at(self, category: str, now: dt.datetime) -> dt.datetime:
        hours = dict(self.due_hours).get(category, DEFAULT_DUE_HOURS[category])
        return now + dt.timedelta(hours=hours)


def parse_due_hours(text: str) -> tuple[tuple[str, float], ...]:
    """``wallet.ticket_due_hours``: "not_received:24 not_delivered:168", each
    category at most once, hours > 0; the categories not named keep their
    default."""
    hours = dict(DEFAULT_DUE_HOURS)
    seen: set[str] = set()
    for item in text.split():
        category, _, value = item.partition(":")
        if category not in TicketCategory.ALL or category in seen:
            raise ValueError(f"{category!r} is not a ticket category (or is named twice)")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{item!r}: hours must be a number") from None
        if not number > 0 or number == float("inf"):
            raise ValueError(f"{item!r}: hours must be positive")
        hours[category] = number
        seen.add(category)
    return tuple(hours.items())


@dataclass(frozen=True)
class TicketView:
    """A ticket as pages and the API show it: its transaction and timeline."""

    ticket: Ticket
    transaction: Transaction
    events: list[TicketEvent]

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.ticket.category]


def side_of(user: User, tx: Transaction) -> str | None:
    """The user's side of ``tx``: "payer", "payee", or None if it is not theirs."""
    if tx.payer_user_id == user.id:
        return "payer"
    if tx.payee_user_id == user.id:
        return "payee"
    return None


class Tickets:
    def __init__(self, dbsession: Session, *, policy: TicketPolicy, tasks: TaskQueue,
                 disputes: Disputes, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        #: A shop payment's "not delivered" / "not authorised" opens a dispute.
        self.disputes = disputes
        #: Told of each new ticket after commit: the automatic checks examine it.
        self.tasks = tasks
        self.clock = clock

    # ------------------------------------------------------------ the user's side

    def transaction_of(self, user: User, transaction_id: object) -> Transaction:
        """The user's transaction ``transaction_id`` (their payment or receipt)."""
        number = transaction_id if isinstance(transaction_id, int) else whole_number(
            transaction_id)
        tx = None if number is None or isinstance(number, bool) else self.db.get(
            Transaction, number)
        if tx is None or side_of(user, tx) is None:
            raise TicketTransactionNotFound("No such transaction of yours.")
        return tx

    def categories_for(self, user: User, tx: Transaction) -> tuple[TicketCategory, ...]:
        """What ``user`` may report about ``tx`` (nothing: not theirs)."""
        side = side_of(user, tx)
        return () if side is None else ALLOWED.get((tx.kind, side), ())

    def raise_ticket(self, user: User, transaction_id: object, category: object,
                     note: object = "", *, fraud_report: bool = False) -> Ticket:
        """A new ticket; every field's problem at once, nothing written on any
        refusal. A live ticket on the same transaction: :class:`TicketAlreadyOpen`."""
        tx = self.transaction_of(user, transaction_id)  # (not theirs: a 404 alone)
        problems: dict[str, str] = {}
        chosen = self._category(user, tx, category, problems, fraud_report)
        text = self._note(note, problems)
        if problems:
            raise (TicketCategoryRefused(problems["category"]) if list(problems) == ["category"]
                   else WalletError.of_fields(problems))
        assert chosen is not None
        self._refuse_if_live(user, tx)
        ticket = self._open(user, tx, chosen, text)
        if chosen in TicketCategory.DISPUTABLE and tx.kind == Kind.PAYMENT:
            self._dispute(ticket, tx, chosen, text)
        ticket_id = ticket.id
        after_commit(self.db, lambda: self.tasks.tickets_opened([ticket_id]))
        return ticket

    def _dispute(self, ticket: Ticket, tx: Transaction, category: TicketCategory,
                 note: str) -> None:
        """A dispute with the shop, opened with the ticket (which then follows
        it: wallet.care.disputed); a dispute refused says why on the ticket."""
        try:
            with self.db.begin_nested():
                dispute = self.disputes.open(ticket.user_id, tx.id, category, note,
                                             ticket_id=ticket.id)
        except WalletError as exc:
            self._line(ticket, TicketEventKind.FINDING, f"No dispute was opened: {exc}",
                       actor=TicketActor.SYSTEM)
            return
        shop = tx.payee_merchant.name if tx.payee_merchant is not None else "the shop"
        held = ("" if dispute.held_paise == dispute.disputed_paise else
                f" ({format_paise(dispute.held_paise)} of it could be held)")
        self._line(ticket, TicketEventKind.FINDING,
                   f"We opened a dispute with {shop}: {format_paise(dispute.disputed_paise)} "
                   f"is held in the shop's wallet{held}; the shop has until "
                   f"{dispute.respond_by.astimezone(IST):%d %b %Y, %H:%M} IST to accept or "
                   "contest it.", actor=TicketActor.SYSTEM)

    def list_for(self, user: User, limit: int = 50) -> list[Ticket]:
        """The user's tickets, newest first."""
        query = (select(Ticket).where(Ticket.user_id == user.id)
                 .order_by(Ticket.id.desc()).limit(limit))
        return list(self.db.scalars(query))

    def view(self, user: User, public_id: object) -> TicketView:
        """The user's ticket by its "tk_…" id, with its transaction and timeline."""
        ticket = self._by_public_id(public_id)
        if ticket is None or ticket.user_id != user.id:
            raise TicketNotFound("No such ticket.")
        return self.view_of(ticket)

    def view_of(self, ticket: Ticket) -> TicketView:
        tx = self.db.get(Transaction, ticket.transaction_id)
        assert tx is not None  # (a foreign key)
        return TicketView(ticket=ticket, transaction=tx, events=self.events(ticket))

    def live_for_transaction(self, user_id: int, transaction_id: int) -> Ticket | None:
        query = select(Ticket).where(Ticket.user_id == user_id,
                                     Ticket.transaction_id == transaction_id,
                                     Ticket.status.in_(TicketStatus.LIVE))
        return self.db.scalars(query).first()

    # ------------------------------------------- the checks', sweeps' and staff's side

    def locked(self, ticket_id: int) -> Ticket:
        """The ticket, its row locked (level 4) and read afresh."""
        query = (select(Ticket).where(Ticket.id == ticket_id)
                 .with_for_update(key_share=True).execution_options(populate_existing=True))
        ticket = self.db.scalars(query).first()
        if ticket is None:
            raise TicketNotFound("No such ticket.")
        return ticket

    def by_public_id(self, public_id: object) -> Ticket:
        ticket = self._by_public_id(public_id)
        if ticket is None:
            raise TicketNotFound("No such ticket.")
        return ticket

    def move(self, ticket: Ticket, status: TicketStatus, text: str, *,
             actor: TicketActor, actor_id: int | None = None) -> TicketEvent:
        """Move the (locked) ticket to ``status``, with the line the user reads
        (for a final status, the reason: ``resolution``); the user is notified."""
        if status not in _NEXT.get(ticket.status, ()):
            raise TicketClosed(f"This ticket is {ticket.status}: it cannot become {status}.")
        now = self.clock()
        ticket.status, ticket.updated_at = status, now
        if status in TicketStatus.FINAL:
            ticket.resolution, ticket.closed_at = text[:300], now
        line = self._line(ticket, TicketEventKind.STATUS, text, actor=actor,
                          actor_id=actor_id, status=status)
        notify(self.db, ticket.user_id, Notice.TICKET_UPDATED,
               f"Your ticket about transaction #{ticket.transaction_id}: "
               f"{_STATUS_WORDS[status]}. {text}", now=now)
        return line

    def add_line(self, ticket: Ticket, kind: TicketEventKind, text: str, *,
                 actor: TicketActor, actor_id: int | None = None) -> TicketEvent:
        """A line on the ticket's timeline that changes no status."""
        ticket.updated_at = self.clock()
        return self._line(ticket, kind, text, actor=actor, actor_id=actor_id)

    def events(self, ticket: Ticket) -> list[TicketEvent]:
        query = (select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                 .order_by(TicketEvent.id))
        return list(self.db.scalars(query))

    def live_by_due(self, limit: int = 100) -> list[Ticket]:
        """Live tickets, the one due first first (the operators' queue)."""
        query = (select(Ticket).where(Ticket.status.in_(TicketStatus.LIVE))
                 .order_by(Ticket.due_at, Ticket.id).limit(limit))
        return list(self.db.scalars(query))

    def overdue_count(self) -> int:
        """Live tickets past their deadline (metrics and the console's alert)."""
        query = select(func.count()).select_from(Ticket).where(
            Ticket.status.in_(TicketStatus.LIVE), Ticket.due_at <= self.clock())
        return int(self.db.scalar(query) or 0)

    # ---------------------------------------------------------------- inside

    def _category(self, user: User, tx: Transaction, category: object,
                  problems: dict[str, str], fraud_report: bool) -> TicketCategory | None:
        if not isinstance(category, str) or category not in TicketCategory.ALL:
            problems["category"] = "Choose what went wrong."
            return None
        chosen = TicketCategory(category)
        # A fraud ticket only with its hold (FraudReports.report says fraud_report).
        allowed = (TicketCategory.FRAUD,) if fraud_report else self.categories_for(user, tx)
        if chosen not in allowed:
            problems["category"] = (f"“{CATEGORY_LABELS[chosen]}” cannot be reported "
                                    f"about this transaction.")
            return None
        return chosen

    @staticmethod
    def _note(note: object, problems: dict[str, str]) -> str:
        if note is None:
            return ""
        if not isinstance(note, str):
            problems["note"] = "The note must be text."
            return ""
        text = " ".join(note.split())
        if len(text) > MAX_NOTE_CHARS:
            problems["note"] = f"Keep the note to {MAX_NOTE_CHARS} characters."
        elif not is_ordinary(text):  # (as a dispute's note: one it opens must take it)
            problems["note"] = "The note has characters we cannot keep."
        return text

    def _refuse_if_live(self, user: User, tx: Transaction) -> None:
        live = self.live_for_transaction(user.id, tx.id)
        if live is not None:
            raise TicketAlreadyOpen("You already reported a problem with this transaction: "
                                    f"see ticket {live.public_id}.", live.public_id)

    def _open(self, user: User, tx: Transaction, category: TicketCategory,
              note: str) -> Ticket:
        now = self.clock()
        ticket = Ticket(public_id=codes.public_id("tk"), user_id=user.id, transaction_id=tx.id,
                        category=category, note=note, status=TicketStatus.OPEN,
                        due_at=self.policy.due_at(category, now), created_at=now,
                        updated_at=now)
        try:
            with self.db.begin_nested():
                self.db.add(ticket)
                self.db.flush()
        except IntegrityError:  # a twin report won the race: point at it
            self._refuse_if_live(user, tx)
            raise
        self._line(ticket, TicketEventKind.OPENED,
                   f"You reported: {CATEGORY_LABELS[category]}.", actor=TicketActor.USER)
        return ticket

    def _line(self, ticket: Ticket, kind: TicketEventKind, text: str, *,
              actor: TicketActor, actor_id: int | None = None,
              status: TicketStatus | None = None) -> TicketEvent:
        line = TicketEvent(ticket_id=ticket.id, kind=kind, status=status, actor=actor,
                           actor_id=actor_id, text=text[:500], created_at=self.clock())
        self.db.add(line)
        return line

    def _by_public_id(self, public_id: object) -> Ticket | None:
        if not isinstance(public_id, str) or not public_id.startswith("tk_") \
                or len(public_id) > 40:
            return None
        return self.db.scalars(select(Ticket).where(Ticket.public_id == public_id)).first()

