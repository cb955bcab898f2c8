"""A ticket on a shop payment that a dispute answers (wallet.care.disputed):
"not delivered" / "not authorised" opens the dispute with the ticket, whose
timeline then follows the shop's answer and the decision; a dispute that
cannot be opened says why on the ticket; the books verify throughout."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from wallet.care.models import Ticket, TicketEvent
from wallet.core.models import Merchant, User
from wallet.merchants.models import Dispute

from ..mandate_helpers import Clock, make_shop, services
from .test_disputes import books_clean, decide, pay, shop_balance, shop_does


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def shop(db):
    return make_shop(db, "dosa-corner")


@pytest.fixture
def asha(db):
    from ..wallet_helpers import make_user

    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def report(db, clock, user_id, payment_id, category="not_delivered"):
    with db() as session, session.begin():
        ticket = services(session, clock).tickets.raise_ticket(
            session.get_one(User, user_id), payment_id, category, "never came")
        return ticket.id, ticket.public_id


def ticket_of(db, ticket_id):
    with db() as session:
        ticket = session.get_one(Ticket, ticket_id)
        lines = [(e.kind, e.actor, e.text) for e in session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.id))]
        return ticket.status, ticket.resolution, lines


def dispute_of(db, ticket_id):
    with db() as session:
        d = session.scalars(select(Dispute).where(Dispute.ticket_id == ticket_id)).one()
        return d.id, d.public_id, d.status, d.held_paise


def test_not_delivered_opens_the_dispute_and_the_shops_acceptance_resolves_it(
        db, clock, shop, asha):
    payment = pay(db, clock, asha, shop, 300_00)
    ticket_id, _ = report(db, clock, asha, payment)
    _, public_id, status, held = dispute_of(db, ticket_id)
    assert (status, held) == ("open", 300_00) and shop_balance(db, shop) == (300_00, 300_00)
    _, _, lines = ticket_of(db, ticket_id)
    assert lines[-1][:2] == ("finding", "system")
    assert "We opened a dispute with Dosa-Corner: ₹300.00 is held" in lines[-1][2]
    assert "IST to accept or contest it" in lines[-1][2]
    assert shop_does(db, clock, shop, "accept", public_id) == "accepted"
    status, resolution, _ = ticket_of(db, ticket_id)
    assert status == "resolved"
    assert resolution == "The shop accepted your dispute: ₹300.00 refunded to your wallet."
    books_clean(db)


@pytest.mark.parametrize("for_customer", [True, False])
def test_a_contest_puts_the_ticket_under_investigation_and_the_decision_closes_it(
        db, clock, shop, asha, for_customer):
    payment = pay(db, clock, asha, shop, 200_00)
    ticket_id, _ = report(db, clock, asha, payment, "not_authorised")
    dispute_id, public_id, *_ = dispute_of(db, ticket_id)
    shop_does(db, clock, shop, "contest", public_id, "Signed for on 3 Dec.")
    status, _, lines = ticket_of(db, ticket_id)
    assert status == "investigating"
    assert ("message", "shop") == lines[-2][:2] and "Signed for on 3 Dec." in lines[-2][2]
    result = decide(db, clock, dispute_id, for_customer)
    assert result.ok, result.message
    status, resolution, _ = ticket_of(db, ticket_id)
    if for_customer:
        assert (status, resolution) == ("resolved",
                                        "Decided for you: ₹200.00 refunded to your wallet.")
    else:
        assert status == "rejected" and resolution.startswith("Decided for the shop")
    books_clean(db)


def test_no_answer_by_the_deadline_resolves_the_ticket_for_the_customer(db, clock, shop, asha):
    payment = pay(db, clock, asha, shop, 150_00)
    ticket_id, _ = report(db, clock, asha, payment)
    clock.now += dt.timedelta(days=8)
    with db() as session, session.begin():
        assert services(session, clock).disputes.expire_due_one() is not None
    status, resolution, _ = ticket_of(db, ticket_id)
    assert (status, resolution) == ("resolved",
                                    "Decided for you: ₹150.00 refunded to your wallet.")
    books_clean(db)


def test_a_payment_already_refunded_in_full_opens_no_dispute_and_says_so(db, clock, shop,
                                                                          asha):
    payment = pay(db, clock, asha, shop, 100_00)
    with db() as session, session.begin():
        services(session, clock).refunds.refund(
            session.get_one(Merchant, shop), payment, 100_00, "refund-key-0000000001",
            reason="out of stock")
    ticket_id, _ = report(db, clock, asha, payment)
    status, _, lines = ticket_of(db, ticket_id)
    assert status == "open"
    assert lines[-1][2] == ("No dispute was opened: This payment was refunded in full: "
                            "nothing is left to dispute.")
    with db() as session:
        assert session.scalars(select(Dispute)).first() is None
    books_clean(db)
