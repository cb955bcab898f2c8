"""Compensation for late reversals: deadlines that cost us, not the user.

Money stuck (a ticket whose category is in ``TicketCategory.STUCK``: not
received, pending too long, paid twice) must be put right by the regulator's
deadline, per transaction kind (:class:`CompensationPolicy`): the end of the
India day ``N`` days after the transaction's day -- T+1 for transfers,
deposits and withdrawals, T+5 for shop payments and refunds.

The rule, exactly: **objective lateness**. With ``D`` the deadline, **day
n** (n >= 1) past it is due at ``D + (n - 1) x 24 h`` (the first day late is
earned the moment the deadline passes, the second 24 hours later, ...), and
is earned only if, at that instant, all of these still held:

- the **transaction itself** was not put right: before its ``settled_at``
  when it has one (a completed transfer or shop payment has ``settled_at =
  created_at``, before any deadline, so it never earns anything, however it
  is reported; a deposit or withdrawal gets it when the bank's answer settles
  it, a held transfer when it lands or is undone); a transaction with no
  ``settled_at`` (still pending, queued, sending, in review) is late up to now;
- the **ticket** was live: up to now, or up to its ``closed_at`` once
  resolved or rejected ("stopped when resolved"; a day earned before the
  closing but not yet paid -- the sweep was down -- is still paid within
  ``CATCH_UP``, and only if the transaction was late then by the first rule);
- the day does not end before the report: days that ended before the ticket
  was raised are not paid (we did not know), so a ticket raised after its
  deadline earns from the day its report falls in.

So ``until = min(now, settled_at, closed_at)`` (those that exist), and the
days are :meth:`CompensationPolicy.days_earned`. Only tickets of the STUCK
categories earn.

**At most once per transaction and day**, whoever reports it (payer and
payee) and however many tickets (one closed, another raised): the day's
credit is keyed by the complained transaction (ledger and transaction key
``compensation:<transaction id>:<n>``, :func:`codes.compensation_key`; the
transactions' ``idempotency_key`` is unique), and the days already paid are
read across all the transaction's tickets under the ticket's lock. A day
goes to the reporter whose ticket the sweep pays first (the oldest ticket);
a later ticket earns only the days not paid yet. A sweep lists at most one
ticket per transaction (:meth:`Compensations.due`), so workers sweeping at
once contend for one ticket's lock; should two still pay twin tickets (two
tickets, one transaction) at once, the second's insert of the same key
fails, its ticket's transaction rolls back whole, and the next sweep sees
the day paid. (No shop payment or refund can be stuck in this wallet today:
they settle when made, so "paid twice" on one earns nothing; the T+5
deadline applies once one can stay unsettled.)

Each day earns ``wallet.compensation_paise_per_day`` (₹100), credited to the
user who raised the ticket from the company's expense account
(``company:compensation``), whatever the user's wallet limits (the regulator
requires the payment: like a payout the bank returned, it is not checked
against the maximum balance). Each day paid is one balanced ledger entry,
one ``adjustment`` transaction in the user's history and statement, one
``ticket_compensations`` row (unique per ticket and day), a ``compensation``
line on the ticket's timeline and a notification -- all in the ticket's
transaction, under its row lock: a sweep that dies, or two at once, pays no
day twice, and the next run pays what is missing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from ledgerlib import Ledger, format_paise

from ..core import codes
from ..core.codes import (
    IST,
    Kind,
    Status,
    TicketActor,
    TicketCategory,
    TicketEventKind,
    TicketStatus,
    utcnow,
)
from ..core.models import Transaction
from ..core.notifications import Notice
from ..core.observe import observer_of
from ..core.tasks import after_commit
from ..money.records import record
from .models import Ticket, TicketCompensation
from .tickets import Tickets

__all__ = ["CATCH_UP", "SHOP_KINDS", "Compensation", "CompensationPolicy", "Compensations"]

DAY = dt.timedelta(days=1)
#: Kinds whose deadline is the shop one (T+5); every other kind's is T+1.
SHOP_KINDS: tuple[str, ...] = (Kind.PAYMENT, Kind.REFUND)
#: How long after its resolution a ticket is still looked at for days it
#: earned but was not paid (the sweep down that long would still pay them).
CATCH_UP = dt.timedelta(days=7)
#: Candidate tickets read per page by :meth:`Compensations.due`.
PAGE = 500


@dataclass(frozen=True)
class _Candidate:
    """What :meth:`Compensations._earned` reads of a ticket and its transaction."""

    status: str
    closed_at: dt.datetime | None
    created_at: dt.datetime
    kind: str
    tx_created: dt.datetime
    settled_at: dt.datetime | None

    @classmethod
    def of(cls, row: Any, ticket: Any = None) -> _Candidate:
        """From a row with the transaction's columns (and the ticket's, or ``ticket``)."""
        t = row if ticket is None else ticket
        return cls(t.status, t.closed_at, t.created_at, row.kind, row.tx_created,
                   row.settled_at)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class CompensationPolicy:
    #: Days after the transaction's day: transfers, deposits, withdrawals (T+1) ...
    p2p_days: int = 1
    #: ... shop payments and refunds (T+5).
    shop_days: int = 5
    #: What each day late earns (₹100).
    paise_per_day: int = 100_00

    def deadline(self, kind: str, created_at: dt.datetime) -> dt.datetime:
        """The end of the India day ``N`` days after ``created_at``'s (UTC)."""
        days = self.shop_days if kind in SHOP_KINDS else self.p2p_days
        day = _aware(created_at).astimezone(IST).date() + dt.timedelta(days=days + 1)
        return dt.datetime.combine(day, dt.time(), IST).astimezone(dt.timezone.utc)

    @staticmethod
    def days_earned(deadline: dt.datetime, reported_at: dt.datetime,
                    until: dt.datetime) -> range:
        """The day numbers earned by ``until``: day n is due at deadline +
        (n-1) x 24 h, and counts if it ends after the report."""
        until, reported_at = _aware(until), _aware(reported_at)
        if until < deadline:
            return range(1, 1)
        last = (until - deadline) // DAY + 1
        first = max(1, (reported_at - deadline) // DAY + 1)
        return range(first, last + 1)


@dataclass(frozen=True)
class Compensation:
    """What a ticket has earned so far, for its page and the API."""

    #: The deadline the transaction should have been put right by (UTC).
    deadline: dt.datetime
    #: The days paid, in order, and their total.
    days: tuple[int, ...]
    total_paise: int

    @property
    def deadline_label(self) -> str:
        """The deadline's India day, as the timeline says it ("8 Dec")."""
        return deadline_label(self.deadline)


def deadline_label(deadline: dt.datetime) -> str:
    """The India day whose end ``deadline`` is: "8 Dec"."""
    day = (deadline.astimezone(IST) - dt.timedelta(microseconds=1)).date()
    return f"{day.day} {day:%b}"


class Compensations:
    def __init__(self, dbsession: Session, *, policy: CompensationPolicy, ledger: Ledger,
                 tickets: Tickets, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.ledger = ledger
        self.tickets = tickets
        self.clock = clock

    def compensation_of(self, ticket: Ticket) -> Compensation:
        """The days paid on ``ticket`` and their total (one query)."""
        tx = self.db.get_one(Transaction, ticket.transaction_id)
        rows = self.db.execute(
            select(TicketCompensation.day_number, TicketCompensation.amount_paise)
            .where(TicketCompensation.ticket_id == ticket.id)
            .order_by(TicketCompensation.day_number)).all()
        return Compensation(self.policy.deadline(tx.kind, tx.created_at),
                            tuple(r.day_number for r in rows),
                            sum(r.amount_paise for r in rows))

    def due(self, limit: int = 1000) -> list[int]:
        """Tickets with days earned but not paid, oldest first (the sweep's
        list; each is then paid in a transaction of its own), at most one
        per transaction (the oldest: workers listing at once then contend
        for the same ticket, SKIP LOCKED, rather than pay twins at once and
        have one roll back; a twin with other days due is listed by the next
        sweep). Reads the
        candidates a page at a time by id (keyset) until ``limit`` are due or
        none is left, so old tickets that earn nothing never hide newer ones.
        Opens the expense account if it is new."""
        self.ledger.open_account(codes.COMPANY_COMPENSATION, "expense", allow_negative=True)
        now = self.clock()
        found: list[int] = []
        listed: set[int] = set()  # one ticket per transaction: its twins wait a sweep
        after = 0
        while len(found) < limit:
            rows = self.db.execute(self._candidates(now, after)).all()
            paid = self._paid_days({row.transaction_id for row in rows})
            for row in rows:
                unpaid = set(self._earned(_Candidate.of(row), now)) - paid.get(
                    row.transaction_id, set())
                if unpaid and row.transaction_id not in listed:
                    found.append(row.id)
                    listed.add(row.transaction_id)
            if len(rows) < PAGE:
                break
            after = rows[-1].id
        return found[:limit]

    def pay_due(self, ticket_id: int) -> list[TicketCompensation] | None:
        """Pay the days ``ticket_id`` earned and nobody was paid for its
        transaction, under the ticket's row lock; None if another worker (or
        a resolution) holds the ticket: it is skipped, never waited for, and
        the next sweep looks again."""
        claimed = self.db.execute(
            select(Ticket, Transaction.kind, Transaction.created_at.label("tx_created"),
                   Transaction.settled_at)
            .join(Transaction, Transaction.id == Ticket.transaction_id)
            .where(Ticket.id == ticket_id, Ticket.category.in_(TicketCategory.STUCK))
            .with_for_update(of=Ticket, key_share=True, skip_locked=True)
            .execution_options(populate_existing=True)).first()
        if claimed is None:
            return None
        ticket = claimed.Ticket
        now = self.clock()
        deadline = self.policy.deadline(claimed.kind, claimed.tx_created)
        earned = self._earned(_Candidate.of(claimed, ticket), now)
        paid = self._paid_days({ticket.transaction_id}).get(ticket.transaction_id, set())
        made = [self._pay(ticket, day, deadline, now) for day in earned if day not in paid]
        if made:
            seen, total = observer_of(self.db), sum(c.amount_paise for c in made)
            after_commit(self.db, lambda: seen.compensation_paid(len(made), total))
        return made

    # ---------------------------------------------------------------- inside

    def _candidates(self, now: dt.datetime, after: int) -> Select[
            int, int, str, dt.datetime | None, dt.datetime, str, dt.datetime, dt.datetime | None]:
        """A page of tickets that may have earned (by id, after ``after``):
        stuck categories, live or closed within CATCH_UP, on a transaction
        past the shortest deadline and not settled at its creation (a
        completed transfer or payment never earns)."""
        first_deadline = min(self.policy.p2p_days, self.policy.shop_days)
        return (
            select(Ticket.id, Ticket.transaction_id, Ticket.status, Ticket.closed_at,
                   Ticket.created_at, Transaction.kind,
                   Transaction.created_at.label("tx_created"), Transaction.settled_at)
            .join(Transaction, Transaction.id == Ticket.transaction_id)
            .where(Ticket.id > after, Ticket.category.in_(TicketCategory.STUCK),
                   or_(Ticket.status.in_(TicketStatus.LIVE), Ticket.closed_at >= now - CATCH_UP),
                   Transaction.created_at < now - first_deadline * DAY,
                   or_(Transaction.settled_at.is_(None),
                       Transaction.settled_at > Transaction.created_at))
            .order_by(Ticket.id).limit(PAGE))

    def _paid_days(self, transaction_ids: set[int]) -> dict[int, set[int]]:
        """The days paid per complained transaction, across all its tickets."""
        paid: dict[int, set[int]] = {}
        if not transaction_ids:
            return paid
        rows = self.db.execute(
            select(Ticket.transaction_id, TicketCompensation.day_number)
            .join(Ticket, Ticket.id == TicketCompensation.ticket_id)
            .where(Ticket.transaction_id.in_(transaction_ids)))
        for row in rows:
            paid.setdefault(row.transaction_id, set()).add(row.day_number)
        return paid

    def _earned(self, seen: _Candidate, now: dt.datetime) -> range:
        """The days earned by now: up to min(now, the transaction's
        settled_at, the ticket's closed_at), from the report's day on."""
        until = now
        if seen.settled_at is not None:
            until = min(until, _aware(seen.settled_at))
        if seen.status not in TicketStatus.LIVE and seen.closed_at is not None:
            until = min(until, _aware(seen.closed_at))
        return self.policy.days_earned(self.policy.deadline(seen.kind, seen.tx_created),
                                       seen.created_at, until)

    def _pay(self, ticket: Ticket, day: int, deadline: dt.datetime,
             now: dt.datetime) -> TicketCompensation:
        amount = self.policy.paise_per_day
        key = codes.compensation_key(ticket.transaction_id, day)
        rupees = format_paise(amount)  # (Indian grouping, as every other amount)
        label = deadline_label(deadline)
        note = f"Compensation: ticket {ticket.public_id}, day {day} late"
        entry = self.ledger.transfer(codes.COMPANY_COMPENSATION, codes.user_wallet(ticket.user_id),
                                     amount, idempotency_key=key, memo=note)
        tx = record(self.db, now, {}, (
            ticket.user_id, Notice.COMPENSATION_CREDITED,
            f"{rupees} credited: your transaction #{ticket.transaction_id} was not put "
            f"right by {label} (day {day} late)."),
            kind=Kind.ADJUSTMENT, status=Status.COMPLETED, amount_paise=amount,
            payee_user_id=ticket.user_id, note=note, idempotency_key=key,
            ledger_entry_id=entry.id)
        made = TicketCompensation(ticket_id=ticket.id, day_number=day, amount_paise=amount,
                                  transaction_id=tx.id, created_at=now)
        self.db.add(made)
        self.tickets.add_line(ticket, TicketEventKind.COMPENSATION,
                              f"{rupees} credited: day {day} past the deadline of {label}.",
                              actor=TicketActor.SYSTEM)
        return made
