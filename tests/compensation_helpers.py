"""Compensation for late reversals in tests: a clock the test moves, a world
of users and transactions made on it, tickets, the workers' sweep."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

import ledgerlib
from wallet.care.models import Ticket, TicketCompensation
from wallet.core.codes import IST, Status, TicketActor, TicketStatus, utcnow
from wallet.core.models import Merchant, Transaction, User
from wallet.identity.accounts import AccountService
from wallet.services import Background

from .schedule_helpers import Clock, services, settings
from .wallet_helpers import PASSWORD, PIN, make_user

__all__ = ["ASHA", "KIRAN", "RAVI", "Clock", "World", "days_paid", "land", "raise_ticket",
           "resolve", "settle_deposit", "start", "stuck_withdrawal", "sweep", "world"]

ASHA, RAVI, KIRAN = "+919876543210", "+919812345678", "+919822233344"


def start() -> Clock:
    """A clock at 10:00 India time tomorrow (after anything the real clock
    posted while the test set up)."""
    day = utcnow().astimezone(IST).date() + dt.timedelta(days=1)
    return Clock(dt.datetime.combine(day, dt.time(10), IST).astimezone(dt.timezone.utc))


class World:
    """At the clock's time, Asha (₹5,000) sent Ravi ₹100 and paid a shop ₹50
    (both completed: settled at once, never late), and left three transactions
    really stuck: a withdrawal of ₹100 queued (no worker sends it), a deposit
    of ₹200 pending (the bank never answers) and a first payment of ₹2,500 to
    Kiran held (the sweep that lands it never runs)."""

    def __init__(self, db, clock: Clock) -> None:
        self.asha = make_user(db, ASHA, "Asha Verma", deposit_paise=5_000_00)
        self.ravi = make_user(db, RAVI, "Ravi Kumar")
        self.kiran = make_user(db, KIRAN, "Kiran Rao")
        with db() as session, session.begin():
            AccountService(session, bcrypt_rounds=4).signup_merchant(
                "chai-point", "Chai Point", "chai@example.com", PASSWORD)
        with db() as session, session.begin():
            s = services(session, clock)
            asha = session.get_one(User, self.asha)
            self.transfer = s.transfers.send_money(asha, RAVI, 100_00, "t" * 22, pin=PIN).id
            self.payment = s.shop_payments.pay_merchant(asha, "chai-point", 50_00, "p" * 22,
                                                        pin=PIN).id
            self.shop = session.scalars(select(Merchant.id)).one()
            self.withdrawal = stuck_withdrawal(session, clock, asha)
            self.deposit_token = s.deposits.start(asha, "hdfc", 200_00, "d" * 22).token
            self.deposit = session.scalars(select(Transaction.id).where(
                Transaction.token == self.deposit_token)).one()
            self.held = s.transfers.send(asha, KIRAN, 2_500_00, "h" * 22, pin=PIN).transaction.id
            assert session.get_one(Transaction, self.held).status == Status.PENDING


def stuck_withdrawal(session, clock: Clock, user: User, amount_paise: int = 100_00,
                     key: str = "w" * 22) -> int:
    """A withdrawal requested and left queued: no worker ever sends it."""
    return services(session, clock).withdrawals.request(
        user, "hdfc", "50100012345678", "HDFC0001234", amount_paise, key, pin=PIN).id


def settle_deposit(db, clock: Clock, w: World) -> None:
    """The bank's answer at last: the deposit is credited (its settled_at: now)."""
    with db() as session, session.begin():
        services(session, clock).deposits.settle(
            w.deposit_token, "success", bank_code="hdfc", amount_paise=200_00, currency="INR",
            source="test")


def land(db, clock: Clock, transaction_id: int) -> None:
    """The held transfer lands (its settled_at: now)."""
    with db() as session, session.begin():
        assert services(session, clock).transfer_holds.land(transaction_id) is not None


def world(db, clock: Clock) -> World:
    return World(db, clock)


def raise_ticket(db, clock: Clock, user_id: int, tx_id: int, category: str) -> int:
    with db() as session, session.begin():
        return services(session, clock).tickets.raise_ticket(
            session.get_one(User, user_id), tx_id, category).id


def resolve(db, clock: Clock, ticket_id: int) -> None:
    with db() as session, session.begin():
        tickets = services(session, clock).tickets
        tickets.move(tickets.locked(ticket_id), TicketStatus.RESOLVED,
                     "The money was returned to your wallet.", actor=TicketActor.SYSTEM)


def sweep(runner, clock: Clock, **changed) -> tuple[int, int]:
    return Background(runner, settings(**changed), clock=clock).pay_compensation()


def days_paid(db, ticket_id: int) -> list[int]:
    with db() as session:
        return list(session.scalars(
            select(TicketCompensation.day_number).where(TicketCompensation.ticket_id
                                                        == ticket_id)
            .order_by(TicketCompensation.day_number)))


def expense(db) -> int:
    """What the company's compensation account has paid out (its balance)."""
    with db() as session:
        try:
            return ledgerlib.Ledger(session).balance("company:compensation").posted_paise
        except ledgerlib.AccountNotFound:
            return 0


def ticket(db, ticket_id: int) -> Ticket:
    with db() as session:
        return session.get_one(Ticket, ticket_id)
