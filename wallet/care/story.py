"""What the operators' console reads about tickets: the live queue by due
time with its SLA clock and counts, and one ticket with the whole story of
its transaction -- the record, its ledger entry and postings, holds, the
bank's attempts and webhook calls, a shop payment's refunds and the shop's
webhook deliveries, the user's other tickets. Read-only: operators act
through :mod:`wallet.care.ticket_actions`."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ledgerlib.tables import accounts, entries, holds, postings

from ..banking.models import PayoutAttempt, WebhookAttempt, WebhookEvent, Withdrawal
from ..core.codes import Kind, Status, TicketCategory, TicketStatus, utcnow
from ..core.models import Transaction, User
from ..merchants.models import MerchantDelivery, MerchantEvent, PaymentRequest, Refund
from .models import Ticket, TicketEvent
from .tickets import CATEGORY_LABELS

__all__ = ["QueueCounts", "QueueFilter", "QueueItem", "Stories", "TicketStory", "queue_counts",
           "sla_words"]

QUEUE_LIMIT = 200


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC times."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return f"{days} d {hours} h" if hours else f"{days} d"
    hours += days * 24
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


def sla_words(due_at: dt.datetime, now: dt.datetime) -> tuple[str, bool]:
    """("due in 3 h 20 min", False) or ("overdue by 5 h", True)."""
    left = (_aware(due_at) - now).total_seconds()
    if left > 0:
        return f"due in {_span(left)}", False
    return f"overdue by {_span(-left)}", True


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters, each already checked (unknown values: none)."""

    category: str = ""
    status: str = ""
    escalated: bool = False
    overdue: bool = False

    @classmethod
    def parse(cls, params: Any) -> QueueFilter:
        """From query parameters; a value that is not one of ours is ignored."""
        category = params.get("category", "")
        status = params.get("status", "")
        return cls(category=category if category in TicketCategory.ALL else "",
                   status=status if status in TicketStatus.LIVE else "",
                   escalated=params.get("escalated", "") == "yes",
                   overdue=params.get("overdue", "") == "yes")


@dataclass(frozen=True)
class QueueItem:
    ticket: Ticket
    transaction: Transaction
    user: User
    sla: str
    overdue: bool

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.ticket.category]


@dataclass(frozen=True)
class QueueCounts:
    live: int
    by_status: dict[str, int]
    overdue: int
    escalated: int


@dataclass(frozen=True)
class Line:
    """A posting or a hold, as the story shows it."""

    account: str
    amount_paise: int
    note: str = ""


@dataclass
class TicketStory:
    ticket: Ticket
    user: User
    transaction: Transaction
    events: list[TicketEvent]
    sla: str
    overdue: bool
    entry: dict[str, Any] | None = None
    postings: list[Line] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    withdrawal: Withdrawal | None = None
    payout_attempts: list[PayoutAttempt] = field(default_factory=list)
    bank_events: list[WebhookEvent] = field(default_factory=list)
    bank_calls: list[WebhookAttempt] = field(default_factory=list)
    payment_request: PaymentRequest | None = None
    refunds: list[Refund] = field(default_factory=list)
    shop_deliveries: list[tuple[MerchantEvent, MerchantDelivery]] = field(default_factory=list)
    other_tickets: list[Ticket] = field(default_factory=list)
    #: A reversal or a refund an operator may make from here.
    may_reverse: bool = False
    may_refund: bool = False
    refunded_paise: int = 0

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.ticket.category]

    @property
    def refundable_paise(self) -> int:
        return self.transaction.amount_paise - self.refunded_paise


class Stories:
    def __init__(self, db: Session, *, clock: Callable[[], dt.datetime] = utcnow):
        self.db = db
        self.clock = clock

    # -- the queue

    def queue(self, chosen: QueueFilter, limit: int = QUEUE_LIMIT) -> list[QueueItem]:
        """Live tickets, the one due first first; escalated ones first among
        tickets due at the same time."""
        now = self.clock()
        query = (select(Ticket, Transaction, User)
                 .join(Transaction, Transaction.id == Ticket.transaction_id)
                 .join(User, User.id == Ticket.user_id)
                 .where(*self._where(chosen, now))
                 .order_by(Ticket.due_at, Ticket.escalated_at.is_(None), Ticket.id)
                 .limit(limit))
        items = []
        for ticket, tx, user in self.db.execute(query).unique():
            words, late = sla_words(ticket.due_at, now)
            items.append(QueueItem(ticket, tx, user, words, late))
        return items

    @staticmethod
    def _where(chosen: QueueFilter, now: dt.datetime) -> list[ColumnElement[bool]]:
        statuses = (chosen.status,) if chosen.status else TicketStatus.LIVE
        where: list[ColumnElement[bool]] = [Ticket.status.in_(statuses)]
        if chosen.category:
            where.append(Ticket.category == chosen.category)
        if chosen.escalated:
            where.append(Ticket.escalated_at.is_not(None))
        if chosen.overdue:
            where.append(Ticket.due_at <= now)
        return where

    def counts(self) -> QueueCounts:
        return queue_counts(self.db, self.clock())

    # -- one ticket's story

    def story(self, public_id: object) -> TicketStory | None:
        if not isinstance(public_id, str) or len(public_id) > 40:
            return None
        ticket = self.db.scalars(select(Ticket).where(Ticket.public_id == public_id)).first()
        if ticket is None:
            return None
        tx = self.db.get(Transaction, ticket.transaction_id)
        user = self.db.get(User, ticket.user_id)
        assert tx is not None and user is not None  # (foreign keys)
        words, late = sla_words(ticket.due_at, self.clock())
        events = list(self.db.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)))
        story = TicketStory(ticket, user, tx, events, words, late)
        self._ledger(story)
        self._bank(story)
        self._shop(story)
        story.other_tickets = list(self.db.scalars(
            select(Ticket).where(Ticket.user_id == user.id, Ticket.id != ticket.id)
            .order_by(Ticket.id.desc()).limit(20)))
        live = ticket.status in TicketStatus.LIVE
        story.may_reverse = (live and tx.kind == Kind.TRANSFER and tx.status == Status.COMPLETED
                             and ticket.category != TicketCategory.FRAUD
                             and tx.payer_user_id == ticket.user_id)
        story.may_refund = (live and tx.kind == Kind.PAYMENT
                            and ticket.category != TicketCategory.FRAUD
                            and tx.payee_merchant_id is not None
                            and tx.payer_user_id == ticket.user_id
                            and story.refundable_paise > 0)
        return story

    def _ledger(self, story: TicketStory) -> None:
        tx = story.transaction
        if tx.ledger_entry_id is not None:
            row = self.db.execute(select(entries).where(
                entries.c.id == tx.ledger_entry_id)).mappings().first()
            story.entry = dict(row) if row is not None else None
            story.postings = [Line(code, amount) for code, amount in self.db.execute(
                select(accounts.c.code, postings.c.amount_paise)
                .join(accounts, accounts.c.id == postings.c.account_id)
                .where(postings.c.entry_id == tx.ledger_entry_id).order_by(postings.c.id))]
        story.withdrawal = (self.db.get(Withdrawal, tx.id) if tx.kind == Kind.WITHDRAWAL
                            else None)
        which = [holds.c.idempotency_key == tx.idempotency_key]
        if story.withdrawal is not None:
            which.append(holds.c.id == story.withdrawal.hold_id)
        source = accounts.alias("source")
        story.holds = [dict(row) for row in self.db.execute(
            select(holds.c.id, source.c.code.label("account"), holds.c.amount_paise,
                   holds.c.status, holds.c.created_at, holds.c.resolved_at)
            .join(source, source.c.id == holds.c.source_account_id)
            .where(or_(*which)).order_by(holds.c.id)).mappings()]

    def _bank(self, story: TicketStory) -> None:
        tx_id = story.transaction.id
        story.payout_attempts = list(self.db.scalars(select(PayoutAttempt).where(
            PayoutAttempt.transaction_id == tx_id).order_by(PayoutAttempt.id)))
        story.bank_events = list(self.db.scalars(select(WebhookEvent).where(
            WebhookEvent.transaction_id == tx_id).order_by(WebhookEvent.id)))
        story.bank_calls = list(self.db.scalars(select(WebhookAttempt).where(
            WebhookAttempt.transaction_id == tx_id).order_by(WebhookAttempt.id).limit(50)))

    def _shop(self, story: TicketStory) -> None:
        tx = story.transaction
        if tx.kind != Kind.PAYMENT or tx.payee_merchant_id is None:
            return
        story.payment_request = self.db.scalars(select(PaymentRequest).where(
            PaymentRequest.transaction_id == tx.id)).first()
        story.refunds = list(self.db.scalars(select(Refund).where(
            Refund.payment_transaction_id == tx.id).order_by(Refund.id)))
        story.refunded_paise = sum(r.amount_paise for r in story.refunds)
        # A shop's events name the payment request and refunds by their public
        # ids (unguessable, so a match is theirs): its payload is searched.
        names = [r.public_id for r in story.refunds]
        if story.payment_request is not None:
            names.append(story.payment_request.public_id)
        story.shop_deliveries = self._deliveries(tx.payee_merchant_id, names)

    def _deliveries(self, merchant_id: int, names: Iterable[str]
                    ) -> list[tuple[MerchantEvent, MerchantDelivery]]:
        mentions = [MerchantEvent.payload.contains(name, autoescape=True) for name in names]
        if not mentions:
            return []
        rows = self.db.execute(
            select(MerchantEvent, MerchantDelivery)
            .join(MerchantDelivery, MerchantDelivery.event_id == MerchantEvent.id)
            .where(MerchantEvent.merchant_id == merchant_id, or_(*mentions))
            .order_by(MerchantDelivery.id).limit(50))
        return [(event, delivery) for event, delivery in rows]


def queue_counts(db: Session, now: dt.datetime) -> QueueCounts:
    """The whole live queue in one grouped query: by status (zeros included),
    past their deadline, escalated. The console's counts and the metrics'
    gauges (read at scrape time)."""
    rows = db.execute(
        select(Ticket.status, func.count(),
               func.count().filter(Ticket.due_at <= now),
               func.count().filter(Ticket.escalated_at.is_not(None)))
        .where(Ticket.status.in_(TicketStatus.LIVE)).group_by(Ticket.status)).all()
    by_status = {status: 0 for status in TicketStatus.LIVE}
    by_status.update({str(s): int(n) for s, n, _, _ in rows})
    return QueueCounts(live=sum(by_status.values()), by_status=by_status,
                       overdue=sum(int(o) for _, _, o, _ in rows),
                       escalated=sum(int(e) for _, _, _, e in rows))
