"""Report fraud on a transfer sent (wallet.care.fraud): the ticket and, in the
same transaction, a hold on what is left in the recipient's wallet (never more
than they have: spent money is not clawed back); the recipient's answer on the
ticket; an operator's return (the sender credited, ledger and records clean)
or release (the recipient spends again), audited; refusals write nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from wallet.care.errors import (
    FraudHoldDecided,
    FraudNotReportable,
    TicketAlreadyOpen,
    TicketTransactionNotFound,
)
from wallet.care.models import FraudHold, Ticket, TicketEvent
from wallet.core.codes import FraudHoldStatus, Kind, TicketStatus, utcnow
from wallet.core.errors import WalletError
from wallet.core.models import Notification, Transaction, User
from wallet.money.errors import InsufficientBalance
from wallet.operations.audit import Actor
from wallet.operations.bank_calls import verify_all
from wallet.operations.models import AuditEntry

from ..wallet_helpers import PIN, balance, count, make_user, services_for_tests, state

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"
OPS = Actor.cli("test-ops")


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def send(db, clock, payer: int, phone: str, paise: int, key: str) -> int:
    with db() as session, session.begin():
        return services_for_tests(session, clock=clock).transfers.send_money(
            session.get(User, payer), phone, paise, key.ljust(22, "k"), pin=PIN).id


@pytest.fixture
def sent(db, clock):
    """Asha (₹1,000) sent Ravi ₹100: (asha, ravi, zoya, the transfer's id)."""
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    zoya = make_user(db, ZOYA, "Zoya Khan")
    return asha, ravi, zoya, send(db, clock, asha, RAVI, 100_00, "a1")


def run(db, clock, fn):
    with db() as session, session.begin():
        return fn(services_for_tests(session, clock=clock), session)


def report(db, clock, user_id, tx_id, note="A caller said he was from the bank"):
    return run(db, clock, lambda s, session: s.fraud_reports.report(
        session.get(User, user_id), str(tx_id), note))


def test_partly_spent_only_what_remains_is_held_and_cannot_be_spent(db, clock, sent):
    asha, ravi, zoya, tx_id = sent
    send(db, clock, ravi, ZOYA, 60_00, "r1")  # Ravi spent ₹60 of it
    made = report(db, clock, asha, tx_id)
    assert made.hold.held_paise == 40_00 and made.hold.status == FraudHoldStatus.HELD
    assert balance(db, ravi) == (0, 40_00)  # available 0, nothing negative
    assert made.ticket.category == "fraud" and made.ticket.status == TicketStatus.OPEN
    with pytest.raises(InsufficientBalance):  # the held part cannot be spent
        send(db, clock, ravi, ZOYA, 10_00, "r2")
    with db() as session:
        told = session.scalars(select(Notification).where(
            Notification.user_id == ravi, Notification.kind == "fraud_hold")).all()
        assert len(told) == 1 and "₹40.00" in told[0].text
        lines = session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == made.ticket.id).order_by(TicketEvent.id)).all()
        assert [line.kind for line in lines] == ["opened", "finding"]
        assert "₹40.00 of the ₹100.00" in lines[1].text
    assert verify_all_clean(db)


def test_fully_spent_nothing_held_but_the_ticket_is_opened(db, clock, sent):
    asha, ravi, _, tx_id = sent
    send(db, clock, ravi, ZOYA, 100_00, "r1")
    made = report(db, clock, asha, tx_id)
    assert made.hold.held_paise == 0 and made.hold.hold_id is None
    assert made.hold.status == FraudHoldStatus.NONE
    assert balance(db, ravi) == (0, 0)
    with db() as session:
        finding = session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == made.ticket.id, TicketEvent.kind == "finding")).one()
        assert "nothing could be held" in finding.text
    result = run(db, clock, lambda s, _: s.fraud_review(OPS).release(made.ticket.id, "spent"))
    assert result.ok, result.message
    with db() as session:
        assert session.get(Ticket, made.ticket.id).status == TicketStatus.REJECTED


def test_more_than_the_amount_is_never_held(db, clock, sent):
    asha, ravi, _, tx_id = sent
    run(db, clock, lambda s, session: s.deposits.record_completed(
        session.get(User, ravi), "hdfc", 500_00, "test-deposit-ravi-more"))
    made = report(db, clock, asha, tx_id)
    assert made.hold.held_paise == 100_00
    assert balance(db, ravi) == (500_00, 100_00)


def test_return_credits_the_sender_and_the_ledger_verifies(db, clock, sent):
    asha, ravi, _, tx_id = sent
    send(db, clock, ravi, ZOYA, 30_00, "r1")
    made = report(db, clock, asha, tx_id)
    result = run(db, clock, lambda s, _: s.fraud_review(OPS).return_to_sender(
        made.ticket.id, "Scam confirmed with the caller's number"))
    assert result.ok, result.message
    assert balance(db, asha) == (900_00 + 70_00, 0)
    assert balance(db, ravi) == (0, 0)
    with db() as session:
        back = session.scalars(select(Transaction).where(
            Transaction.kind == Kind.ADJUSTMENT)).one()
        assert (back.payer_user_id, back.payee_user_id, back.amount_paise) == (
            ravi, asha, 70_00)
        ticket = session.get(Ticket, made.ticket.id)
        assert ticket.status == TicketStatus.RESOLVED and "₹70.00" in ticket.resolution
        hold = session.scalars(select(FraudHold)).one()
        assert hold.status == FraudHoldStatus.RETURNED and hold.decided_at is not None
        audit = session.scalars(select(AuditEntry)).all()
        assert [(a.action, a.outcome) for a in audit] == [("fraud_return", "done")]
    assert verify_all_clean(db)
    again = run(db, clock, lambda s, _: s.fraud_review(OPS).return_to_sender(
        made.ticket.id, "twice"))
    assert not again.ok and balance(db, asha) == (970_00, 0)


def test_release_lets_the_recipient_spend_again(db, clock, sent):
    asha, ravi, _, tx_id = sent
    made = report(db, clock, asha, tx_id)
    assert balance(db, ravi) == (0, 100_00)
    result = run(db, clock, lambda s, _: s.fraud_review(OPS).release(
        made.ticket.id, "A real sale: the buyer got the phone"))
    assert result.ok, result.message
    assert balance(db, ravi) == (100_00, 0)
    send(db, clock, ravi, ZOYA, 100_00, "r1")
    with db() as session:
        ticket = session.get(Ticket, made.ticket.id)
        assert ticket.status == TicketStatus.REJECTED
        assert ticket.resolution == "A real sale: the buyer got the phone"
        assert session.scalars(select(FraudHold)).one().status == FraudHoldStatus.RELEASED
    assert verify_all_clean(db)


def test_a_viewer_or_no_reason_is_refused_and_audited(db, clock, sent):
    asha, ravi, _, tx_id = sent
    made = report(db, clock, asha, tx_id)
    viewer = Actor("vera", "viewer", "console")
    refused = run(db, clock, lambda s, _: s.fraud_review(viewer).release(made.ticket.id, "x"))
    assert not refused.ok and refused.forbidden
    blank = run(db, clock, lambda s, _: s.fraud_review(OPS).release(made.ticket.id, "  "))
    assert not blank.ok and blank.field == "reason"
    assert balance(db, ravi) == (0, 100_00)
    assert count(db, AuditEntry) == 2


@pytest.mark.parametrize("whose", ["someone_elses", "incoming", "deposit", "no_such"])
def test_not_a_transfer_sent_is_refused_and_nothing_written(db, clock, sent, whose):
    asha, ravi, zoya, tx_id = sent
    with db() as session:
        deposit = session.scalars(select(Transaction.id).where(
            Transaction.kind == Kind.DEPOSIT, Transaction.payee_user_id == asha)).one()
    who, which, error = {
        "someone_elses": (zoya, tx_id, TicketTransactionNotFound),
        "incoming": (ravi, tx_id, FraudNotReportable),
        "deposit": (asha, deposit, FraudNotReportable),
        "no_such": (asha, "99999", TicketTransactionNotFound),
    }[whose]
    before = state(db), count(db, Ticket), count(db, FraudHold)
    with pytest.raises(error):
        report(db, clock, who, which)
    assert (state(db), count(db, Ticket), count(db, FraudHold)) == before


def test_twice_is_refused_with_the_first_ticket(db, clock, sent):
    asha, ravi, _, tx_id = sent
    made = report(db, clock, asha, tx_id)
    with pytest.raises(TicketAlreadyOpen) as caught:
        report(db, clock, asha, tx_id)
    assert caught.value.public_id == made.ticket.public_id
    assert balance(db, ravi) == (0, 100_00) and count(db, FraudHold) == 1


def test_a_bad_note_writes_nothing(db, clock, sent):
    asha, _, _, tx_id = sent
    before = state(db)
    with pytest.raises(WalletError):
        report(db, clock, asha, tx_id, note="x" * 501)
    assert state(db) == before and count(db, Ticket) == 0


def test_the_recipients_response_lands_on_the_timeline(db, clock, sent):
    asha, ravi, zoya, tx_id = sent
    made = report(db, clock, asha, tx_id)
    answer = "I sold her a phone; " + "here is the chat. " * 40  # > 500: two lines
    run(db, clock, lambda s, session: s.fraud_reports.respond(
        session.get(User, ravi), made.ticket.public_id, answer))
    with db() as session:
        lines = session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == made.ticket.id, TicketEvent.kind == "message")
            .order_by(TicketEvent.id)).all()
        assert [line.actor for line in lines] == ["counterparty", "counterparty"]
        assert " ".join(line.text for line in lines) == " ".join(answer.split())
    view = run(db, clock, lambda s, session: s.fraud_reports.for_recipient(
        session.get(User, ravi), made.ticket.public_id))
    assert view.hold.held_paise == 100_00 and len(view.lines) == 2
    for who, text in ((zoya, "not mine"), (asha, "the sender"), (ravi, ""),
                      (ravi, "y" * 1001)):
        with pytest.raises(WalletError):
            run(db, clock, lambda s, session, who=who, text=text: s.fraud_reports.respond(
                session.get(User, who), made.ticket.public_id, text))
    run(db, clock, lambda s, _: s.fraud_review(OPS).release(made.ticket.id, "fine"))
    with pytest.raises(FraudHoldDecided):
        run(db, clock, lambda s, session: s.fraud_reports.respond(
            session.get(User, ravi), made.ticket.public_id, "late"))


def verify_all_clean(db) -> bool:
    with db() as session:
        result = verify_all(session)
        assert result.records == [], result.records
        return result.ok
