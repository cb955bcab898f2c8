"""Automatic resolution: where the system knows the answer to a ticket, it
gives it before any person looks.

A new ticket is examined once, by a worker told after the report commits
(``TaskQueue.tickets_opened``), or by the sweep that finds open tickets never
examined (a task lost, no queue configured). An examination is three steps,
so no transaction is open while a bank is asked: read what to ask
(:func:`wallet.care.auto_paths.what_to_ask`), ask the bank (the deposit's or
the payout's status, through the bank's client and protocol), then, in a new
transaction, lock the ticket (level 4), check it is still open and
unexamined, and apply the verdict (:func:`wallet.care.auto_paths.decide`):
its findings as lines of the timeline (actor ``system``) and its status,
``resolved`` with the reason, or ``investigating`` with the time an agent
answers by. ``examined_at`` marks it done whatever was found, so a second
examination changes nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..banking.bank_client import BankRecord
from ..banking.banks import BankConfig
from ..banking.deposits import read_deposit_status
from ..banking.protocols import protocol_for
from ..core.codes import Kind, TicketActor, TicketEventKind, TicketStatus, utcnow
from ..core.models import Transaction
from ..core.tasks import TransactionRunner
from .auto_paths import Ask, BankAnswer, CareServices, Context, decide, what_to_ask
from .models import Ticket

__all__ = ["AutoResolvePolicy", "StatusSource", "TicketExaminer"]

log = logging.getLogger(__name__)
SWEEP_BATCH = 100
_SKIP = "skip"


@dataclass(frozen=True)
class AutoResolvePolicy:
    #: Two payments alike (payer, payee, amount) this close are twins for
    #: "paid twice" (``wallet.ticket_twin_window_s``).
    twin_window_s: float = 600.0
    #: The sweep examines open tickets never examined once they are this old
    #: (their task had its chance): ``wallet.ticket_examine_after_s``.
    sweep_after_s: float = 120.0


class StatusSource(Protocol):
    """A bank's status API (wallet.banking.bank_client.BankClient)."""

    def payment_status(self, reference: str, /) -> BankRecord | None: ...

    def payout_status(self, reference: str, /) -> BankRecord | None: ...


class TicketExaminer:
    def __init__(self, run_in_transaction: TransactionRunner, banks: Mapping[str, BankConfig],
                 client_for: Callable[[BankConfig], StatusSource], *,
                 policy: AutoResolvePolicy, deposit_expire_after_s: float,
                 services_for: Callable[[Session], CareServices],
                 clock: Callable[[], dt.datetime] = utcnow):
        self.run = run_in_transaction
        self.banks = dict(banks)
        self.client_for = client_for
        self.policy = policy
        self.deposit_expire_after = dt.timedelta(seconds=deposit_expire_after_s)
        #: The services on a transaction's session (wallet.services builds them).
        self.services_for = services_for
        self.clock = clock

    def examine(self, ticket_id: int) -> TicketStatus | None:
        """Examine the ticket if it is open and was never examined; the status
        it moved to (None: nothing changed, or nothing the checks can say)."""
        ask = self.run(lambda db: self._to_ask(db, ticket_id))
        if ask == _SKIP:
            return None
        assert not isinstance(ask, str)
        answer = None if ask is None else self._ask_bank(ask)
        return self.run(lambda db: self._apply(db, ticket_id, ask, answer))

    def due(self, limit: int = SWEEP_BATCH) -> list[int]:
        """Open tickets never examined, older than the policy's wait, oldest first."""
        cutoff = self.clock() - dt.timedelta(seconds=self.policy.sweep_after_s)

        def find(db: Session) -> list[int]:
            return list(db.scalars(select(Ticket.id).where(
                Ticket.status == TicketStatus.OPEN, Ticket.examined_at.is_(None),
                Ticket.created_at <= cutoff).order_by(Ticket.id).limit(limit)))
        return self.run(find)

    def sweep(self) -> list[int]:
        """Examine the tickets :meth:`due` finds, each on its own; their ids."""
        examined = []
        for ticket_id in self.due():
            try:
                self.examine(ticket_id)
                examined.append(ticket_id)
            except Exception:  # one ticket's fault must not hold up the others
                log.exception("ticket %s not examined; tried again next sweep", ticket_id)
        return examined

    # ------------------------------------------------------------------ inside

    def _to_ask(self, db: Session, ticket_id: int) -> Ask | str | None:
        ticket = db.get(Ticket, ticket_id)
        if ticket is None or ticket.status != TicketStatus.OPEN or ticket.examined_at:
            return _SKIP
        tx = db.get(Transaction, ticket.transaction_id)
        assert tx is not None  # (a foreign key)
        return what_to_ask(ticket, tx, self.banks)

    def _ask_bank(self, ask: Ask) -> BankAnswer:
        """The bank's word, with no transaction open; any failure: not reached."""
        bank = self.banks[ask.bank_code]
        try:
            client = self.client_for(bank)
            if ask.kind == Kind.DEPOSIT:
                return BankAnswer(True, deposit=read_deposit_status(
                    bank, client.payment_status(ask.reference)))
            record = client.payout_status(ask.reference)
            return BankAnswer(True, payout=None if record is None
                              else protocol_for(bank).payout_word(record))
        except Exception as exc:  # noqa: BLE001 - BankUnavailable, an unreadable answer...
            log.info("ticket check: %s could not answer about %s: %s", bank.code,
                     ask.reference, exc)
            return BankAnswer(False)

    def _apply(self, db: Session, ticket_id: int, ask: Ask | None,
               answer: BankAnswer | None) -> TicketStatus | None:
        services = self.services_for(db)
        tickets = services.tickets
        ticket = tickets.locked(ticket_id)  # first: level 4, before what the path locks
        if ticket.status != TicketStatus.OPEN or ticket.examined_at is not None:
            return None  # examined meanwhile, or a person took it
        now = self.clock()
        ticket.examined_at = now
        verdict = decide(Context(db, services, ticket, self.banks, now,
                                 dt.timedelta(seconds=self.policy.twin_window_s),
                                 self.deposit_expire_after), ask, answer)
        for finding in verdict.findings:
            tickets.add_line(ticket, TicketEventKind.FINDING, finding, actor=TicketActor.SYSTEM)
        if verdict.status is not None:
            tickets.move(ticket, verdict.status, verdict.reason, actor=TicketActor.SYSTEM)
        return verdict.status
