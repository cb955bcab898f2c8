"""Tickets answered automatically where the system knows (wallet.care.auto_resolve):
a payment made twice refunded once, a transfer made twice reversed once, a
transfer to a closed wallet put back, a completed one shown with its evidence;
examined once whatever happens next; a lost task found by the sweep; the
books verify. (The bank's paths: tests/apps/test_ticket_auto_resolve.py.)"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from wallet.care.models import Ticket, TicketEvent
from wallet.core.codes import Kind, utcnow
from wallet.core.models import Merchant, Transaction, User
from wallet.operations.bank_calls import verify_all
from wallet.services import Background

from ..mandate_helpers import make_shop
from ..wallet_helpers import PIN, balance, make_user, services_for_tests

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)


class RecordingQueue:
    def __init__(self) -> None:
        self.tickets: list[int] = []

    def payouts_due(self, owner_key: str) -> None:
        pass

    def webhooks_due(self, delivery_ids: list[int]) -> None:
        pass

    def tickets_opened(self, ticket_ids: list[int]) -> None:
        self.tickets += ticket_ids


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def people(db):
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    return asha, ravi


def services(session, clock, tasks=None):
    return services_for_tests(session, clock=clock, **({"tasks": tasks} if tasks else {}))


def examiner(runner, clock):
    settings = services_for_tests(None).settings
    return Background(runner, settings, clock=clock).ticket_examiner()


def send(db, clock, payer, phone, amount, key):
    with db() as session, session.begin():
        return services(session, clock).transfers.send_money(
            session.get(User, payer), phone, amount, key, pin=PIN).id


def pay(db, clock, payer, shop_id, amount, key):
    with db() as session, session.begin():
        return services(session, clock).shop_payments.pay_shop(
            session.get(User, payer), session.get(Merchant, shop_id), amount,
            f"payment:{payer}:{key}", pin=PIN).id


def raise_ticket(db, clock, user_id, tx_id, category, tasks=None) -> int:
    with db() as session, session.begin():
        return services(session, clock, tasks).tickets.raise_ticket(
            session.get(User, user_id), tx_id, category).id


def timeline(db, ticket_id):
    with db() as session:
        ticket = session.get(Ticket, ticket_id)
        lines = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                .order_by(TicketEvent.id))
        return ticket.status, [(e.kind, e.actor, e.text) for e in lines][1:]


def count_kind(db, kind):
    with db() as session:
        return session.scalar(select(func.count()).select_from(Transaction)
                              .where(Transaction.kind == kind))


def books_clean(db):
    with db() as session:
        assert verify_all(session).ok


def test_a_new_ticket_is_announced_after_commit(db, clock, people):
    asha, _ = people
    tx = send(db, clock, asha, RAVI, 100_00, "a" * 22)
    queue = RecordingQueue()
    ticket = raise_ticket(db, clock, asha, tx, "not_received", queue)
    assert queue.tickets == [ticket]


def test_a_shop_payment_made_twice_is_refunded_once(db, runner, clock, people):
    asha, _ = people
    shop = make_shop(db, "teastall", endpoint=False)
    first = pay(db, clock, asha, shop, 150_00, "p" * 22)
    clock.advance(minutes=2)
    second = pay(db, clock, asha, shop, 150_00, "q" * 22)
    ticket = raise_ticket(db, clock, asha, first, "paid_twice")
    assert examiner(runner, clock).examine(ticket) == "resolved"
    status, lines = timeline(db, ticket)
    assert status == "resolved"
    assert lines[0][:2] == ("finding", "system")
    assert f"#{first} at" in lines[0][2] and f"#{second} at" in lines[0][2]
    assert lines[1] == ("finding", "system",
                        f"Teastall refunded ₹150.00 of #{second} to your wallet.")
    assert lines[2] == ("status", "system", "₹150.00 paid twice is back in your wallet.")
    assert balance(db, asha)[0] == 1_000_00 - 150_00
    # Examined twice, or a second ticket about the other twin: refunded once.
    assert examiner(runner, clock).examine(ticket) is None
    other = raise_ticket(db, clock, asha, second, "paid_twice")
    assert examiner(runner, clock).examine(other) == "resolved"
    assert count_kind(db, Kind.REFUND) == 1 and balance(db, asha)[0] == 850_00
    assert timeline(db, ticket)[1] == lines
    books_clean(db)


def test_a_transfer_made_twice_is_reversed_once(db, runner, clock, people):
    asha, ravi = people
    first = send(db, clock, asha, RAVI, 200_00, "a" * 22)
    clock.advance(minutes=1)
    second = send(db, clock, asha, RAVI, 200_00, "b" * 22)
    ticket = raise_ticket(db, clock, asha, second, "paid_twice")
    assert examiner(runner, clock).examine(ticket) == "resolved"
    _, lines = timeline(db, ticket)
    assert [text for _, _, text in lines][1:] == [
        f"We put ₹200.00 of #{second} back in your wallet.",
        "₹200.00 paid twice is back in your wallet."]
    assert balance(db, asha)[0] == 800_00 and balance(db, ravi)[0] == 200_00
    other = raise_ticket(db, clock, asha, first, "paid_twice")
    examiner(runner, clock).examine(other)
    assert count_kind(db, Kind.ADJUSTMENT) == 1 and balance(db, asha)[0] == 800_00
    books_clean(db)


def test_a_twin_the_recipient_spent_is_left_to_an_agent(db, runner, clock, people):
    asha, ravi = people
    make_user(db, ZOYA, "Zoya Khan")
    send(db, clock, asha, RAVI, 200_00, "a" * 22)
    second = send(db, clock, asha, RAVI, 200_00, "b" * 22)
    send(db, clock, ravi, ZOYA, 300_00, "c" * 22)
    ticket = raise_ticket(db, clock, asha, second, "paid_twice")
    assert examiner(runner, clock).examine(ticket) == "investigating"
    _, lines = timeline(db, ticket)
    assert lines[1][2] == ("Ravi Kumar no longer has it all in their wallet, so we could not "
                           "put it back automatically.")
    assert lines[2][2].startswith("An agent will look at it by ")
    assert balance(db, asha)[0] == 600_00
    books_clean(db)


def test_one_payment_only_is_left_to_an_agent_with_what_was_found(db, runner, clock, people):
    asha, _ = people
    first = send(db, clock, asha, RAVI, 200_00, "a" * 22)
    clock.advance(minutes=11)  # outside the window: two payments, not twins
    send(db, clock, asha, RAVI, 200_00, "b" * 22)
    ticket = raise_ticket(db, clock, asha, first, "paid_twice")
    assert examiner(runner, clock).examine(ticket) == "investigating"
    _, lines = timeline(db, ticket)
    assert lines[0][2].startswith("We found one payment only: ₹200.00 to Ravi Kumar at ")
    assert "within 10 minutes of it" in lines[0][2]
    assert count_kind(db, Kind.ADJUSTMENT) == 0


def test_a_transfer_to_a_closed_wallet_is_put_back(db, runner, clock, people):
    asha, ravi = people
    tx = send(db, clock, asha, RAVI, 300_00, "a" * 22)
    with db() as session, session.begin():
        session.get(User, ravi).is_active = False
    ticket = raise_ticket(db, clock, asha, tx, "not_received")
    assert examiner(runner, clock).examine(ticket) == "resolved"
    status, lines = timeline(db, ticket)
    assert lines[0][2].startswith("Ravi Kumar's wallet is closed: nobody can use the ₹300.00")
    assert [text for _, _, text in lines][1:] == [
        "We put ₹300.00 back in your wallet.",
        "The recipient's wallet is closed: ₹300.00 is back in your wallet."]
    assert balance(db, asha)[0] == 1_000_00 and balance(db, ravi)[0] == 0
    assert examiner(runner, clock).examine(ticket) is None
    assert count_kind(db, Kind.ADJUSTMENT) == 1
    books_clean(db)


def test_a_completed_transfer_shows_where_the_money_is_and_an_agent_decides(
        db, runner, clock, people):
    asha, ravi = people
    tx = send(db, clock, asha, RAVI, 100_00, "a" * 22)
    ticket = raise_ticket(db, clock, asha, tx, "not_received")
    assert examiner(runner, clock).examine(ticket) == "investigating"
    _, lines = timeline(db, ticket)
    assert lines[0][2].startswith("Completed at ") and "₹100.00 is in Ravi Kumar's wallet" \
        in lines[0][2] and f"(transaction #{tx})" in lines[0][2]
    # The recipient's own report: the money is in their wallet, which they can see.
    theirs = raise_ticket(db, clock, ravi, tx, "not_received")
    assert examiner(runner, clock).examine(theirs) == "resolved"
    assert timeline(db, theirs)[1][-1][2] == "₹100.00 is in your wallet."


def test_a_ticket_the_checks_cannot_answer_is_marked_and_left_open(db, runner, clock, people):
    asha, _ = people
    tx = send(db, clock, asha, RAVI, 100_00, "a" * 22)
    ticket = raise_ticket(db, clock, asha, tx, "not_authorised")
    assert examiner(runner, clock).examine(ticket) is None
    assert timeline(db, ticket) == ("open", [])
    clock.advance(minutes=10)
    assert examiner(runner, clock).due() == []  # examined: not swept again


def test_the_sweep_finds_a_ticket_whose_task_was_lost(db, runner, clock, people):
    asha, ravi = people
    tx = send(db, clock, asha, RAVI, 300_00, "a" * 22)
    with db() as session, session.begin():
        session.get(User, ravi).is_active = False
    ticket = raise_ticket(db, clock, asha, tx, "wrong_person")  # no queue: its task is lost
    assert examiner(runner, clock).sweep() == []  # young: its task may still come
    clock.advance(minutes=3)
    assert examiner(runner, clock).sweep() == [ticket]
    assert timeline(db, ticket)[0] == "resolved"
    assert examiner(runner, clock).sweep() == []
    assert balance(db, asha)[0] == 1_000_00
    books_clean(db)


def test_a_ticket_a_person_took_first_is_left_to_them(db, runner, clock, people):
    asha, ravi = people
    tx = send(db, clock, asha, RAVI, 300_00, "a" * 22)
    with db() as session, session.begin():
        session.get(User, ravi).is_active = False
    ticket = raise_ticket(db, clock, asha, tx, "not_received")
    with db() as session, session.begin():
        tickets = services(session, clock).tickets
        tickets.move(tickets.locked(ticket), "investigating", "Looking", actor="operator",
                     actor_id=1)
    assert examiner(runner, clock).examine(ticket) is None
    assert count_kind(db, Kind.ADJUSTMENT) == 0
