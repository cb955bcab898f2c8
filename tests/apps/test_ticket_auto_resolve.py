"""Tickets answered automatically by asking the bank, end to end against the
fake bank served over HTTP and its misbehaviour knobs (its webhooks lost, so
only the checks can tell): a deposit credited, failed, or the bank down; a
withdrawal paid, refused, or unknown; the huey task and the sweep; the books
verify after each."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

import fake_bank
import huey_tasks
from fake_bank.models import Customer
from wallet.banking.payouts import PayoutPolicy
from wallet.care.models import Ticket, TicketEvent
from wallet.core.codes import utcnow
from wallet.core.models import Transaction, User
from wallet.operations.bank_calls import verify_all
from wallet.services import Background, Services
from wallet.settings import WalletSettings

from ..conftest import BANK_SETTINGS
from ..live_servers import banks_served_by, fake_bank_settings, free_ports, http, serving
from ..wallet_helpers import (
    PIN,
    TEST_PIN_POLICY,
    balance,
    bank_client,
    make_user,
    payout_processor,
)

ASHA = "+919876543210"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now


class Bank:
    def __init__(self, url: str, wsgi) -> None:
        self.url, self.db = url, wsgi.registry["fb.session_factory"]

    def knobs(self, **changes) -> None:
        reply = http("POST", f"{self.url}/_control/knobs", body=json.dumps(changes))
        assert reply.status == 200

    def pay_deposit(self, token: str, amount_paise: int, action: str) -> None:
        """The customer opens the bank's page and presses a button; the
        webhook that would tell us is lost."""
        query = urlencode({"reference": token, "amount_paise": amount_paise,
                           "currency": "INR", "return_url": "http://127.0.0.1/x"})
        assert http("GET", f"{self.url}/hdfc/netbanking?{query}").status == 200
        with self.db() as session:
            customer = session.scalars(select(Customer).where(Customer.bank_code == "hdfc")
                                       .order_by(Customer.id)).first()
        reply = http("POST", f"{self.url}/hdfc/netbanking/{token}",
                     form={"action": action, "customer_id": customer.id})
        assert reply.status == 302


@pytest.fixture
def bank(web_settings, tmp_path):
    bank_port, nobody = free_ports(2)  # (the webhooks are lost anyway)
    settings = fake_bank_settings(BANK_SETTINGS, tmp_path, nobody, seed=11,
                                  **{"fake_bank.webhook_mode": "lost"})
    wsgi = fake_bank.main({}, **settings)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(wsgi.registry["fb.session_factory"].kw["bind"].dispose)
        cleanup.callback(wsgi.registry["fb.sender"].stop)
        yield Bank(cleanup.enter_context(serving(wsgi, bank_port)), wsgi)


@pytest.fixture
def wallet_settings(web_settings, bank):
    raw = dict(web_settings)
    banks_served_by(raw, bank.url, ("hdfc", "axis"))
    return raw


@pytest.fixture
def world(db, runner, wallet_settings):
    clock = Clock()
    settings = WalletSettings.from_dict(wallet_settings)
    settings = WalletSettings(**{**vars(settings), "pin_keys": TEST_PIN_POLICY.keys})
    background = Background(runner, settings, clock=clock)
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    return clock, background, asha


def services(db, background: Background) -> tuple:
    session = db()
    return session, Services(session, background.settings, clock=background.clock)


def raise_ticket(db, background, user_id, tx_id, category) -> int:
    session, s = services(db, background)
    with session, session.begin():
        return s.tickets.raise_ticket(session.get(User, user_id), tx_id, category).id


def timeline(db, ticket_id):
    with db() as session:
        status = session.get(Ticket, ticket_id).status
        lines = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                .order_by(TicketEvent.id))
        return status, [(e.kind, e.actor, e.text) for e in lines][1:]


def tx_status(db, tx_id) -> str:
    with db() as session:
        return session.get(Transaction, tx_id).status


def books_clean(db):
    with db() as session:
        assert verify_all(session).ok


# ------------------------------------------------------------------- deposits


def start_deposit(db, background, user_id, amount_paise, key) -> tuple[int, str]:
    session, s = services(db, background)
    with session, session.begin():
        tx = s.deposits.start(session.get(User, user_id), "hdfc", amount_paise, key)
        return tx.id, tx.token


def test_a_deposit_the_bank_approved_is_credited_when_asked(db, bank, world):
    clock, background, asha = world
    tx, token = start_deposit(db, background, asha, 500_00, "deposit-key-000000001")
    bank.pay_deposit(token, 500_00, "approve")
    ticket = raise_ticket(db, background, asha, tx, "pending_too_long")
    assert background.ticket_examiner().examine(ticket) == "resolved"
    status, lines = timeline(db, ticket)
    assert lines[0][:2] == ("finding", "system")
    assert lines[0][2].startswith("We asked HDFC Bank: your deposit went through, and ₹500.00 "
                                  "was added to your wallet at ")
    assert lines[1] == ("status", "system", "₹500.00 was added to your wallet.")
    assert balance(db, asha)[0] == 1_500_00 and tx_status(db, tx) == "success"
    assert background.ticket_examiner().examine(ticket) is None  # once
    assert balance(db, asha)[0] == 1_500_00 and timeline(db, ticket) == (status, lines)
    books_clean(db)


def test_a_deposit_the_bank_declined_is_closed_and_the_bank_returns_the_money(db, bank, world):
    clock, background, asha = world
    tx, token = start_deposit(db, background, asha, 500_00, "deposit-key-000000002")
    bank.pay_deposit(token, 500_00, "decline")
    ticket = raise_ticket(db, background, asha, tx, "not_received")
    assert background.ticket_examiner().examine(ticket) == "resolved"
    _, lines = timeline(db, ticket)
    assert lines[0][2] == ("We asked HDFC Bank: the deposit of ₹500.00 failed (declined by "
                           "customer); nothing was added to your wallet. If the money left "
                           "your bank account, HDFC Bank returns it to you.")
    assert tx_status(db, tx) == "failed" and balance(db, asha)[0] == 1_000_00
    books_clean(db)


def test_a_bank_that_does_not_answer_leaves_the_deposit_to_an_agent(db, bank, world):
    clock, background, asha = world
    tx, token = start_deposit(db, background, asha, 500_00, "deposit-key-000000003")
    bank.pay_deposit(token, 500_00, "approve")
    bank.knobs(failure_rate=1)
    ticket = raise_ticket(db, background, asha, tx, "pending_too_long")
    assert background.ticket_examiner().examine(ticket) == "investigating"
    _, lines = timeline(db, ticket)
    assert lines[0][2] == ("We could not reach HDFC Bank just now to ask about your deposit "
                           "of ₹500.00.")
    with db() as session:
        due = session.get(Ticket, ticket).due_at
    assert lines[1][2].startswith("An agent will look at it by ") and lines[1][2].endswith(
        " IST.")
    assert due == clock.now + dt.timedelta(hours=24)
    assert tx_status(db, tx) == "pending" and balance(db, asha)[0] == 1_000_00


# ---------------------------------------------------------------- withdrawals


def withdraw_reply_lost(db, runner, background, bank, user_id, account, key) -> int:
    """A withdrawal sent to the bank, which makes (or refuses) it, but whose
    reply is lost: the wallet does not know."""
    session, s = services(db, background)
    with session, session.begin():
        tx_id = s.withdrawals.request(session.get(User, user_id), "hdfc", account,
                                      "HDFC0001234", 200_00, key, pin=PIN).id
    bank.knobs(reply_lost_rate=1)
    banks = dict(background.settings.banks)
    step = payout_processor(runner, banks, bank_client, PayoutPolicy()).run_one(
        user_id, "test-holder")
    assert step.kind == "progress"
    bank.knobs(reply_lost_rate=0)
    assert tx_status(db, tx_id) == "sending"
    return tx_id


def test_a_withdrawal_the_bank_paid_is_resolved_with_its_reference(db, runner, bank, world):
    clock, background, asha = world
    tx = withdraw_reply_lost(db, runner, background, bank, asha, "50100012345678",
                             "withdraw-key-00000001")
    ticket = raise_ticket(db, background, asha, tx, "not_received")
    assert background.ticket_examiner().examine(ticket) == "resolved"
    _, lines = timeline(db, ticket)
    assert lines[0][2].startswith("We asked HDFC Bank: it paid ₹200.00 to your account ••5678 "
                                  "at ")
    assert f"reference wd_{tx}." in lines[0][2]
    assert lines[1][2] == f"Paid to your bank account (reference wd_{tx})."
    assert tx_status(db, tx) == "completed" and balance(db, asha) == (800_00, 0)
    books_clean(db)


def test_a_withdrawal_the_bank_refused_is_back_in_the_wallet(db, runner, bank, world):
    clock, background, asha = world
    tx = withdraw_reply_lost(db, runner, background, bank, asha, "000012345678",
                             "withdraw-key-00000002")
    ticket = raise_ticket(db, background, asha, tx, "pending_too_long")
    assert background.ticket_examiner().examine(ticket) == "resolved"
    _, lines = timeline(db, ticket)
    assert lines[0][2] == ("We asked HDFC Bank: it refused it (beneficiary account does not "
                           "exist): ₹200.00 is back in your wallet.")
    assert tx_status(db, tx) == "failed" and balance(db, asha) == (1_000_00, 0)
    books_clean(db)


def test_a_withdrawal_the_bank_cannot_speak_of_goes_to_an_agent(db, runner, bank, world):
    clock, background, asha = world
    tx = withdraw_reply_lost(db, runner, background, bank, asha, "50100012345678",
                             "withdraw-key-00000003")
    bank.knobs(failure_rate=1)
    ticket = raise_ticket(db, background, asha, tx, "not_received")
    assert background.ticket_examiner().examine(ticket) == "investigating"
    _, lines = timeline(db, ticket)
    assert lines[0][2] == ("We could not reach HDFC Bank just now to ask about your "
                           "withdrawal of ₹200.00.")
    assert tx_status(db, tx) == "sending" and balance(db, asha)[1] == 200_00  # still held
    books_clean(db)


# ------------------------------------------------------------ the workers' side


def test_the_huey_task_and_the_sweep_examine_tickets(db, bank, world, wallet_settings):
    clock, background, asha = world
    first, token1 = start_deposit(db, background, asha, 300_00, "deposit-key-000000004")
    second, token2 = start_deposit(db, background, asha, 400_00, "deposit-key-000000005")
    bank.pay_deposit(token1, 300_00, "approve")
    bank.pay_deposit(token2, 400_00, "approve")
    told = raise_ticket(db, background, asha, first, "pending_too_long")
    lost = raise_ticket(db, background, asha, second, "pending_too_long")  # its task lost
    huey_tasks.worker.configure({**wallet_settings, "wallet.ticket_examine_after_s": "0"})
    try:
        assert huey_tasks.tickets.examine_ticket.call_local(told) == "resolved"
        assert huey_tasks.tickets.sweep_tickets.call_local() == [lost]
        assert huey_tasks.tickets.sweep_tickets.call_local() == []
    finally:
        huey_tasks.worker.configure({})
    assert timeline(db, lost)[0] == "resolved"
    assert balance(db, asha)[0] == 1_700_00
    books_clean(db)
