"""Users' tickets in the domain: who may report what about which transaction,
the category's deadline, one live ticket per transaction, the status machine
with its timeline and notifications, every bad input refused with nothing
written."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from wallet.care.errors import (
    TicketAlreadyOpen,
    TicketCategoryRefused,
    TicketClosed,
    TicketNotFound,
    TicketTransactionNotFound,
)
from wallet.care.models import Ticket, TicketEvent
from wallet.care.tickets import TicketPolicy, Tickets, parse_due_hours
from wallet.core.codes import (
    TicketActor,
    TicketCategory,
    TicketEventKind,
    TicketStatus,
    utcnow,
)
from wallet.core.errors import WalletError
from wallet.core.models import Notification, User
from wallet.core.tasks import NoTaskQueue

from ..wallet_helpers import PIN, make_user, services_for_tests

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sent(db, clock):
    """Asha (₹1,000) sent Ravi ₹100: (asha id, ravi id, zoya id, transfer id)."""
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    zoya = make_user(db, ZOYA, "Zoya Khan")
    with db() as session, session.begin():
        tx = services_for_tests(session, clock=clock).transfers.send_money(
            session.get(User, asha), RAVI, 100_00, "k" * 22, pin=PIN)
        return asha, ravi, zoya, tx.id


def run(db, clock, fn):
    with db() as session, session.begin():
        services = services_for_tests(session, clock=clock)
        return fn(services.tickets, session)


def _count(db, model) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_a_ticket_is_due_by_its_categorys_deadline_with_its_first_line(db, clock, sent):
    asha, _, _, tx_id = sent
    ticket = run(db, clock, lambda t, s: t.raise_ticket(
        s.get(User, asha), str(tx_id), "not_received", "  It never   arrived "))
    assert ticket.public_id.startswith("tk_")
    assert ticket.status == TicketStatus.OPEN and ticket.note == "It never arrived"
    assert ticket.due_at == clock.now + dt.timedelta(hours=24)
    view = run(db, clock, lambda t, s: t.view(s.get(User, asha), ticket.public_id))
    assert [(e.kind, e.actor) for e in view.events] == [("opened", "user")]
    assert "Money debited but not received" in view.events[0].text
    assert view.transaction.id == tx_id


def test_each_category_has_its_own_deadline_from_the_settings(db, clock, sent):
    asha, *_ = sent
    policy = TicketPolicy(due_hours=parse_due_hours("wrong_person:6"))
    with db() as session, session.begin():
        tickets = Tickets(session, policy=policy, tasks=NoTaskQueue(),
                          disputes=services_for_tests(session, clock=clock).disputes, clock=clock)
        ticket = tickets.raise_ticket(session.get(User, asha), sent[3], "wrong_person")
        assert ticket.due_at == clock.now + dt.timedelta(hours=6)
    assert TicketPolicy().due_at("not_delivered", clock.now) == clock.now + dt.timedelta(days=7)


@pytest.mark.parametrize("text", ["bogus:5", "wrong_person:0", "wrong_person:x",
                                  "wrong_person:1 wrong_person:2", "wrong_person:inf"])
def test_bad_deadline_settings_are_refused(text):
    with pytest.raises(ValueError):
        parse_due_hours(text)


def test_what_each_side_may_report(db, clock, sent):
    asha, ravi, _, tx_id = sent
    with pytest.raises(TicketCategoryRefused):  # the recipient: not "wrong person"
        run(db, clock, lambda t, s: t.raise_ticket(s.get(User, ravi), tx_id, "wrong_person"))
    with pytest.raises(TicketCategoryRefused):  # a transfer is no shop payment
        run(db, clock, lambda t, s: t.raise_ticket(s.get(User, asha), tx_id, "not_delivered"))
    ticket = run(db, clock, lambda t, s: t.raise_ticket(s.get(User, ravi), tx_id,
                                                        "not_received"))
    assert ticket.user_id == ravi


@pytest.mark.parametrize("tx, category, note, error", [
    ("other", "not_received", "", TicketTransactionNotFound),  # Zoya's? not hers
    ("missing", "not_received", "", TicketTransactionNotFound),
    ("²", "not_received", "", TicketTransactionNotFound),
    ("mine", "bogus", "", TicketCategoryRefused),
    ("mine", None, "", TicketCategoryRefused),
    ("mine", "not_received", "x" * 501, WalletError),
    ("mine", "not_received", "bell\x07", WalletError),
    ("mine", "bogus", "x" * 501, WalletError),
])
def test_bad_input_is_refused_and_nothing_is_written(db, clock, sent, tx, category, note,
                                                     error):
    asha, _, zoya, tx_id = sent
    who = zoya if tx == "other" else asha
    number = {"other": tx_id, "missing": tx_id + 1000, "²": "²", "mine": tx_id}[tx]
    before = (_count(db, Ticket), _count(db, TicketEvent), _count(db, Notification))
    with pytest.raises(error) as refused:
        run(db, clock, lambda t, s: t.raise_ticket(s.get(User, who), number, category, note))
    assert refused.value.errors  # (a field to show it next to)
    assert (_count(db, Ticket), _count(db, TicketEvent), _count(db, Notification)) == before


def test_one_live_ticket_per_transaction_then_another_once_it_is_closed(db, clock, sent):
    asha, _, _, tx_id = sent
    first = run(db, clock, lambda t, s: t.raise_ticket(s.get(User, asha), tx_id, "paid_twice"))
    with pytest.raises(TicketAlreadyOpen) as twice:
        run(db, clock, lambda t, s: t.raise_ticket(s.get(User, asha), tx_id, "wrong_person"))
    assert twice.value.public_id == first.public_id
    run(db, clock, lambda t, s: t.move(t.locked(first.id), TicketStatus.REJECTED,
                                       "We found one payment only.", actor=TicketActor.SYSTEM))
    again = run(db, clock, lambda t, s: t.raise_ticket(s.get(User, asha), tx_id,
                                                       "wrong_person"))
    assert again.id != first.id


def test_the_status_machine_its_timeline_and_the_users_notifications(db, clock, sent):
    asha, _, _, tx_id = sent
    ticket = run(db, clock, lambda t, s: t.raise_ticket(s.get(User, asha), tx_id,
                                                        "pending_too_long"))
    run(db, clock, lambda t, s: t.move(t.locked(ticket.id), TicketStatus.INVESTIGATING,
                                       "An agent is on it.", actor=TicketActor.OPERATOR,
                                       actor_id=7))
    run(db, clock, lambda t, s: t.add_line(t.locked(ticket.id), TicketEventKind.FINDING,
                                           "The transfer completed at once.",
                                           actor=TicketActor.SYSTEM))
    clock.now += dt.timedelta(hours=2)
    run(db, clock, lambda t, s: t.move(t.locked(ticket.id), TicketStatus.RESOLVED,
                                       "Ravi has the money.", actor=TicketActor.OPERATOR,
                                       actor_id=7))
    with pytest.raises(TicketClosed):
        run(db, clock, lambda t, s: t.move(t.locked(ticket.id), TicketStatus.INVESTIGATING,
                                           "again", actor=TicketActor.OPERATOR))
    view = run(db, clock, lambda t, s: t.view(s.get(User, asha), ticket.public_id))
    assert view.ticket.status == "resolved" and view.ticket.resolution == "Ravi has the money."
    assert view.ticket.closed_at == clock.now
    assert [(e.kind, e.status) for e in view.events] == [
        ("opened", None), ("status", "investigating"), ("finding", None),
        ("status", "resolved")]
    with db() as session:
        texts = [n.text for n in session.scalars(select(Notification).where(
            Notification.user_id == asha, Notification.kind == "ticket_updated"))]
    assert len(texts) == 2 and "Resolved. Ravi has the money." in texts[-1]


def test_someone_elses_ticket_is_not_found(db, clock, sent):
    asha, ravi, _, tx_id = sent
    ticket = run(db, clock, lambda t, s: t.raise_ticket(s.get(User, asha), tx_id, "paid_twice"))
    for public_id in (ticket.public_id, "tk_nope", 5, None, "x" * 100):
        with pytest.raises(TicketNotFound):
            run(db, clock, lambda t, s, p=public_id: t.view(s.get(User, ravi), p))


def test_the_queue_is_by_due_time_and_counts_the_overdue(db, clock, sent):
    asha, ravi, _, tx_id = sent
    late = run(db, clock, lambda t, s: t.raise_ticket(s.get(User, asha), tx_id, "not_authorised"))
    soon = run(db, clock, lambda t, s: t.raise_ticket(s.get(User, ravi), tx_id, "not_received"))
    assert [t.id for t in run(db, clock, lambda t, s: t.live_by_due())] == [soon.id, late.id]
    assert run(db, clock, lambda t, s: t.overdue_count()) == 0
    clock.now += dt.timedelta(hours=25)
    assert run(db, clock, lambda t, s: t.overdue_count()) == 1
    assert {c.value for c in TicketCategory} == set(TicketCategory.ALL)
