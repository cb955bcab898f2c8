"""The care flows kept from paying twice or trapping money where they meet
(a review of issue #28): fraud is reported only with its hold; a transfer
reversed is never also returned after a fraud report, nor the other way;
a fraud ticket is decided only with its hold; a ticket on a first payment
still in its undo window is answered with when it lands; a ticket's note
must be one its dispute can take."""
from __future__ import annotations

import pytest

from wallet.care.errors import (
    FraudNotReportable,
    ReversalRefused,
    TicketCategoryRefused,
)
from wallet.care.models import Ticket
from wallet.core.codes import TicketCategory, TicketStatus
from wallet.core.errors import WalletError
from wallet.core.models import Transaction, User
from wallet.operations.audit import Actor

from ..wallet_helpers import PIN, balance, make_user
from .test_auto_resolve import examiner
from .test_fraud_reports import ASHA, RAVI, ZOYA, Clock, report, run, send

OPS = Actor("meera", "operator", "console")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sent(db, clock):
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=10_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    make_user(db, ZOYA, "Zoya Khan")
    return asha, ravi, send(db, clock, asha, RAVI, 100_00, "a1")


def test_fraud_is_not_a_category_of_the_plain_report(db, clock, sent):
    asha, _, tx_id = sent
    categories = run(db, clock, lambda s, session: s.tickets.categories_for(
        session.get(User, asha), session.get_one(Transaction, tx_id)))
    assert TicketCategory.FRAUD not in categories
    with pytest.raises(TicketCategoryRefused):
        run(db, clock, lambda s, session: s.tickets.raise_ticket(
            session.get(User, asha), tx_id, "fraud", "scam"))
    assert report(db, clock, asha, tx_id).hold.held_paise == 100_00  # ("Report fraud": held)


def test_a_reversed_transfer_cannot_also_be_reported_as_fraud(db, clock, sent):
    asha, ravi, tx_id = sent
    run(db, clock, lambda s, _: s.reversals.reverse_transfer(tx_id, "wrong number"))
    with pytest.raises(FraudNotReportable, match="already given back"):
        report(db, clock, asha, tx_id)
    assert balance(db, asha)[0] == 10_000_00 and balance(db, ravi) == (0, 0)


def test_a_transfer_held_or_returned_after_fraud_is_not_reversed(db, clock, sent):
    asha, ravi, tx_id = sent
    made = report(db, clock, asha, tx_id)
    with pytest.raises(ReversalRefused, match="reported as fraud"):
        run(db, clock, lambda s, _: s.reversals.reverse_transfer(tx_id, "wrong number"))
    result = run(db, clock, lambda s, _: s.fraud_review(OPS).return_to_sender(
        made.ticket.id, "Scam confirmed"))
    assert result.ok, result.message
    with pytest.raises(ReversalRefused):
        run(db, clock, lambda s, _: s.reversals.reverse_transfer(tx_id, "wrong number"))
    with pytest.raises(FraudNotReportable):  # (returned once: never a second hold)
        report(db, clock, asha, tx_id)
    assert balance(db, asha)[0] == 10_000_00 and balance(db, ravi) == (0, 0)


@pytest.mark.parametrize("action", ["resolve", "reject", "reverse"])
def test_a_fraud_ticket_is_decided_only_with_its_hold(db, clock, sent, action):
    asha, ravi, tx_id = sent
    made = report(db, clock, asha, tx_id)
    result = run(db, clock, lambda s, _: getattr(s.ticket_actions(OPS, 1), action)(
        made.ticket.public_id, "closing it"))
    assert not result.ok and "Fraud holds page" in result.message
    with db() as session:
        assert session.get_one(Ticket, made.ticket.id).status == TicketStatus.OPEN
    assert balance(db, ravi) == (0, 100_00)  # (available, held: still decidable)
    assert run(db, clock, lambda s, _: s.fraud_review(OPS).release(
        made.ticket.id, "A real sale")).ok


def test_a_ticket_on_a_first_payment_in_its_window_says_when_it_lands(db, clock, sent,
                                                                       runner):
    asha, _, _ = sent
    held = run(db, clock, lambda s, session: s.transfers.send(  # (the send page's way)
        session.get(User, asha), ZOYA, 5_000_00, "big1".ljust(22, "k"), pin=PIN).transaction.id)
    ticket = run(db, clock, lambda s, session: s.tickets.raise_ticket(
        session.get(User, asha), held, "pending_too_long").id)
    assert examiner(runner, clock).examine(ticket) == "resolved"
    lines = run(db, clock, lambda s, session: [
        session.get_one(Ticket, ticket).resolution,
        *(e.text for e in s.tickets.events(session.get_one(Ticket, ticket)))])
    assert lines[0].startswith("It lands at ")
    assert any("until then you can undo it" in line for line in lines)


@pytest.mark.parametrize("note", ["fine\u200d", "right-to-left \u202e"])
def test_a_note_its_dispute_could_not_take_is_refused(db, clock, sent, note):
    asha, _, tx_id = sent
    with pytest.raises(WalletError) as refused:
        run(db, clock, lambda s, session: s.tickets.raise_ticket(
            session.get(User, asha), tx_id, "wrong_person", note))
    assert "note" in refused.value.errors
