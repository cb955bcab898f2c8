"""Users' tickets in the operators' console: the queue by due time with its SLA
clock (a controlled clock), filters and counts; a ticket's whole story; each
operator's answer with its effect, its one audit row and its line on the
ticket's timeline; a viewer reads but sees no forms and is refused; CSRF; bad
input a clear 4xx with nothing but the refusal's audit row written; the
tickets' gauges on /metrics."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from wallet.care.models import Ticket, TicketEvent
from wallet.core.codes import utcnow
from wallet.core.models import Merchant, User
from wallet.identity.accounts import AccountService
from wallet.merchants.models import MerchantEndpoint, Refund
from wallet.operations.bank_calls import verify_all
from wallet.operations.models import AuditEntry

from ..wallet_helpers import PASSWORD, PIN, balance, count, make_user, services_for_tests, state
from . import test_admin_console
from .test_admin_console import add_operator, audit_rows, csrf, sign_in

# The console's fixtures.
admin_settings = test_admin_console.admin_settings
admin_wsgi = test_admin_console.admin_wsgi
console = test_admin_console.console

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def forward(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(admin_wsgi):
    found = Clock()
    admin_wsgi.registry["clock"] = found  # the console's one clock, and the tests'
    return found


@pytest.fixture
def people(db):
    """Asha (₹1,000), Ravi and Zoya: their ids."""
    return (make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00),
            make_user(db, RAVI, "Ravi Kumar"), make_user(db, ZOYA, "Zoya Khan"))


def send(db, clock, payer: int, to: str, amount_paise: int) -> int:
    with db() as session, session.begin():
        tx = services_for_tests(session, clock=clock).transfers.send_money(
            session.get(User, payer), to, amount_paise, f"k{amount_paise:021d}", pin=PIN)
        return tx.id


def report(db, clock, user: int, tx_id: int, category: str, note: str = "") -> str:
    with db() as session, session.begin():
        return services_for_tests(session, clock=clock).tickets.raise_ticket(
            session.get(User, user), str(tx_id), category, note).public_id


def ticket(db, public_id: str) -> tuple[Ticket, list[TicketEvent]]:
    with db() as session:
        found = session.scalars(select(Ticket).where(Ticket.public_id == public_id)).one()
        lines = list(session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == found.id).order_by(TicketEvent.id)))
        session.expunge_all()
        return found, lines


@pytest.fixture
def operator(db, console, clock):
    totp = add_operator(db, "olga", "operator")
    assert sign_in(console, "olga", totp.now()).status_int == 303
    return console


def act(app, public_id: str, action: str, status: int = 303, **form):
    token = csrf(app, "/tickets")
    return app.post(f"/tickets/{public_id}/{action}", {"csrf_token": token, **form},
                    status=status)


def queue_ids(page) -> list[str]:
    return re.findall(r'<tr class="ticket[^"]*" data-id="(tk_[^"]+)"', page.text)


# ------------------------------------------------------------------ the queue


def test_the_queue_by_due_time_with_the_sla_clock_filters_and_counts(operator, db, clock,
                                                                     people):
    asha, _, _ = people
    # (The console's clock stands still -- its sessions go idle -- and the
    # reports are made earlier on the same clock.)
    earlier = Clock()
    earlier.now = clock.now - dt.timedelta(hours=20, minutes=40)
    wrong = report(db, earlier, asha, send(db, earlier, asha, RAVI, 100_00), "wrong_person")
    lost = report(db, earlier, asha, send(db, earlier, asha, RAVI, 101_00), "not_received")
    twice = report(db, earlier, asha, send(db, earlier, asha, RAVI, 102_00), "paid_twice")
    page = operator.get("/tickets")
    assert queue_ids(page) == [lost, twice, wrong]  # due in 24 h, 48 h, 72 h
    assert re.search(rf'data-id="{lost}".*?<td class="sla due">due in 3 h 20 min</td>',
                     page.text, re.S)
    assert ">due in 2 d 3 h<" in page.text  # the wrong person's 72 h: 51 h 20 min left
    assert 'id="count-live">3<' in page.text and 'id="count-overdue">0<' in page.text

    earlier.now = clock.now - dt.timedelta(hours=29)  # 24 h to answer: 5 h late
    late = report(db, earlier, asha, send(db, earlier, asha, RAVI, 103_00), "not_received")
    page = operator.get("/tickets")
    assert queue_ids(page) == [late, lost, twice, wrong]
    assert re.search(rf'data-id="{late}".*?<td class="sla overdue">overdue by 5 h</td>',
                     page.text, re.S)
    assert 'id="count-overdue">1<' in page.text and 'id="count-open">4<' in page.text
    assert queue_ids(operator.get("/tickets", {"overdue": "yes"})) == [late]
    assert queue_ids(operator.get("/tickets", {"category": "wrong_person"})) == [wrong]
    assert queue_ids(operator.get("/tickets", {"status": "investigating"})) == []
    # Unknown filter values are ignored, never a 500.
    assert queue_ids(operator.get("/tickets", {"category": "<x>", "status": "closed"})) == [
        late, lost, twice, wrong]

    # Escalated: first among tickets due at the same time, and a filter of its own.
    a = report(db, clock, asha, send(db, clock, asha, RAVI, 104_00), "not_received")
    b = report(db, clock, asha, send(db, clock, asha, RAVI, 105_00), "not_received")
    act(operator, b, "escalate", reason="a second report this week")
    ids = queue_ids(operator.get("/tickets"))
    assert ids.index(b) == ids.index(a) - 1
    page = operator.get("/tickets", {"escalated": "yes"})
    assert queue_ids(page) == [b] and 'id="count-escalated">1<' in page.text
    assert "Tickets</a>" in operator.get("/").text  # the nav entry


# ---------------------------------------------------------------- the story


def test_a_tickets_page_tells_the_transactions_whole_story(operator, db, clock, people):
    asha, ravi, _ = people
    tx_id = send(db, clock, asha, RAVI, 300_00)
    public_id = report(db, clock, asha, tx_id, "wrong_person", "Sent to Ravi by mistake")
    other = report(db, clock, asha, send(db, clock, asha, RAVI, 50_00), "not_received")
    page = operator.get(f"/tickets/{public_id}")
    text = page.text
    assert "Asha Verma" in text and "Paid the wrong person" in text
    assert "Sent to Ravi by mistake" in text and "You reported: Paid the wrong person." in text
    assert f"user:{asha}:wallet" in text and f"user:{ravi}:wallet" in text  # the postings
    assert "₹300.00" in text and other in text  # the user's other ticket
    assert 'id="act-reverse"' in text and 'id="act-take"' in text
    operator.get("/tickets/tk_nosuchticket", status=404)
    operator.get("/tickets/not-a-ticket", status=404)


# --------------------------------------------------------------- the answers


def test_take_escalate_reject_each_audited_and_a_line_the_user_reads(operator, db, clock,
                                                                    people):
    asha, _, _ = people
    public_id = report(db, clock, asha, send(db, clock, asha, RAVI, 100_00), "wrong_person")
    act(operator, public_id, "take", reason="on it")
    found, lines = ticket(db, public_id)
    assert found.status == "investigating"
    assert (lines[-1].actor, lines[-1].status) == ("operator", "investigating")
    assert lines[-1].actor_id is not None

    clock.forward(minutes=5)
    act(operator, public_id, "escalate", reason="needs a senior look")
    found, lines = ticket(db, public_id)
    assert found.escalated_at == clock.now and lines[-1].kind == "action"
    assert "senior member" in lines[-1].text
    act(operator, public_id, "escalate", status=409, reason="again")  # already escalated

    act(operator, public_id, "reject", reason="Ravi confirmed he sold you the phone.")
    found, lines = ticket(db, public_id)
    assert (found.status, found.resolution) == (
        "rejected", "Ravi confirmed he sold you the phone.")
    assert lines[-1].text == "Ravi confirmed he sold you the phone."
    rows = audit_rows(db)
    assert [(r.actor, r.source, r.action, r.object_type, r.object_id, r.outcome)
            for r in rows] == [
        ("olga", "console", "ticket_take", "ticket", public_id, "done"),
        ("olga", "console", "ticket_escalate", "ticket", public_id, "done"),
        ("olga", "console", "ticket_escalate", "ticket", public_id, "refused"),
        ("olga", "console", "ticket_reject", "ticket", public_id, "done")]
    assert rows[-1].reason == "Ravi confirmed he sold you the phone."
    # Closed: no more answers, and no forms.
    act(operator, public_id, "resolve", status=409, reason="too late")
    assert ticket(db, public_id)[0].status == "rejected"
    assert 'id="act-' not in operator.get(f"/tickets/{public_id}").text


def test_resolve_with_a_reason(operator, db, clock, people):
    asha, _, _ = people
    public_id = report(db, clock, asha, send(db, clock, asha, RAVI, 100_00), "not_received")
    act(operator, public_id, "resolve", reason="The money reached Ravi at 10:02.")
    found, lines = ticket(db, public_id)
    assert (found.status, found.resolution, lines[-1].text) == (
        "resolved", "The money reached Ravi at 10:02.", "The money reached Ravi at 10:02.")
    assert audit_rows(db)[-1].action == "ticket_resolve"


def test_reverse_a_transfer_resolves_it_and_the_books_verify(operator, db, clock, people):
    asha, ravi, _ = people
    tx_id = send(db, clock, asha, RAVI, 300_00)
    public_id = report(db, clock, asha, tx_id, "wrong_person")
    act(operator, public_id, "reverse", reason="Ravi agreed to give it back.")
    assert balance(db, asha)[0] == 1_000_00 and balance(db, ravi)[0] == 0
    found, lines = ticket(db, public_id)
    assert found.status == "resolved" and found.resolution == "Ravi agreed to give it back."
    assert [line.kind for line in lines] == ["opened", "action", "status"]
    assert "₹300.00 is back in your wallet" in lines[1].text
    row = audit_rows(db)[-1]
    assert (row.action, row.outcome, row.reason) == (
        "ticket_reverse", "done", "Ravi agreed to give it back.")
    with db() as session:
        assert verify_all(session).ok


def test_reverse_refused_when_the_recipient_spent_it_shows_why(operator, db, clock, people):
    asha, ravi, _ = people
    tx_id = send(db, clock, asha, RAVI, 300_00)
    send(db, clock, ravi, ZOYA, 250_00)
    public_id = report(db, clock, asha, tx_id, "wrong_person")
    before, lines_before = state(db), ticket(db, public_id)[1]
    page = act(operator, public_id, "reverse", status=409, reason="wrong number")
    assert "₹50.00 available" in page.text and 'role="alert"' in page.text
    assert state(db) == before
    found, lines = ticket(db, public_id)
    assert found.status == "open" and len(lines) == len(lines_before)
    row = audit_rows(db)[-1]
    assert (row.action, row.outcome) == ("ticket_reverse", "refused")
    assert "₹50.00 available" in row.detail


# ------------------------------------------------------------- shop refunds


@pytest.fixture
def shop_payment(db, clock, people):
    """Asha paid Dosa Corner ₹250 and reported it not delivered: (ticket, payment id)."""
    asha = people[0]
    with db() as session, session.begin():
        shop = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "dosa-corner", "Dosa Corner", "dosa@example.com", PASSWORD)
        session.flush()
        # Its server hears of refunds (the story shows the deliveries).
        session.add(MerchantEndpoint(merchant_id=shop.id, url="https://shop.example/hook",
                                     events="refund.succeeded", secret="s" * 32, enabled=True,
                                     disabled_reason="", created_at=clock.now))
        tx = services_for_tests(session, clock=clock).shop_payments.pay_shop(
            session.get(User, asha), session.get(Merchant, shop.id), 250_00, "p" * 22, pin=PIN)
        tx_id = tx.id
    return report(db, clock, asha, tx_id, "wrong_person", "Paid the wrong shop"), tx_id


def test_refund_from_the_shop_once_however_often_it_is_clicked(operator, db, clock, people,
                                                               shop_payment):
    asha = people[0]
    public_id, tx_id = shop_payment
    page = operator.get(f"/tickets/{public_id}")
    assert 'id="act-refund"' in page.text and "at most ₹250.00" in page.text
    token = csrf(operator, f"/tickets/{public_id}")
    form = {"csrf_token": token, "amount": " 100.50 ", "reason": "The shop admits it."}
    operator.post(f"/tickets/{public_id}/refund", form, status=303)
    operator.post(f"/tickets/{public_id}/refund", form, status=409)  # the double click
    with db() as session:
        refunds = session.scalars(select(Refund)).all()
        assert [(r.payment_transaction_id, r.amount_paise) for r in refunds] == [
            (tx_id, 100_50)]
        assert verify_all(session).ok
    assert balance(db, asha)[0] == 1_000_00 - 250_00 + 100_50
    found, lines = ticket(db, public_id)
    assert found.status == "resolved" and "Dosa Corner refunded ₹100.50" in lines[-2].text
    assert [(r.action, r.outcome) for r in audit_rows(db)] == [
        ("ticket_refund", "done"), ("ticket_refund", "refused")]
    story = operator.get(f"/tickets/{public_id}").text
    assert 'id="refunded">₹100.50<' in story and "refund.succeeded" in story


@pytest.mark.parametrize("amount, status, words", [
    ("", 400, "Enter an amount"), ("abc", 400, "in rupees"), ("1e3", 400, "in rupees"),
    ("-5", 400, "positive"), ("0", 400, "more than zero"), ("10.555", 400, "two decimal"),
    ("250.01", 400, "At most ₹250.00")])
def test_a_bad_refund_amount_is_a_form_error_and_moves_nothing(operator, db, clock,
                                                               shop_payment, amount, status,
                                                               words):
    public_id, _ = shop_payment
    before = state(db)
    page = act(operator, public_id, "refund", status=status, amount=amount, reason="refund")
    assert words in page.text and 'id="error-refund"' in page.text
    assert state(db) == before and count(db, Refund) == 0
    assert ticket(db, public_id)[0].status == "open"
    assert [(r.action, r.outcome) for r in audit_rows(db)] == [("ticket_refund", "refused")]


# ----------------------------------------------------- refusals, roles, CSRF


def test_bad_input_is_a_4xx_and_changes_nothing(operator, db, clock, people):
    asha, _, _ = people
    public_id = report(db, clock, asha, send(db, clock, asha, RAVI, 100_00), "not_received")
    lines = len(ticket(db, public_id)[1])
    page = act(operator, public_id, "reject", status=400, reason="   ")
    assert "Give a reason" in page.text
    act(operator, public_id, "reject", status=400, reason="x" * 301)
    act(operator, public_id, "resolve", status=400, reason="bell \x07 here")
    act(operator, public_id, "teleport", status=404, reason="why not")
    act(operator, "tk_nosuchticket", "reject", status=404, reason="why not")
    found, after = ticket(db, public_id)
    assert found.status == "open" and len(after) == lines
    assert all(r.outcome == "refused" for r in audit_rows(db))


def test_reverse_is_refused_on_a_transfer_the_user_received(operator, db, clock, people):
    asha, ravi, _ = people
    tx_id = send(db, clock, asha, RAVI, 100_00)
    public_id = report(db, clock, ravi, tx_id, "not_received")
    assert 'id="act-reverse"' not in operator.get(f"/tickets/{public_id}").text
    before = state(db)
    page = act(operator, public_id, "reverse", status=409, reason="try")
    assert "Only a transfer this user sent" in page.text and state(db) == before


def test_a_viewer_reads_but_sees_no_forms_and_is_refused(console, db, clock, people):
    asha, _, _ = people
    public_id = report(db, clock, asha, send(db, clock, asha, RAVI, 100_00), "wrong_person")
    totp = add_operator(db, "vera", "viewer")
    assert sign_in(console, "vera", totp.now()).status_int == 303
    assert public_id in console.get("/tickets").text
    page = console.get(f"/tickets/{public_id}")
    assert "Paid the wrong person" in page.text and 'id="act-' not in page.text
    before = state(db)
    for action in ("take", "reverse", "reject", "escalate"):
        act(console, public_id, action, status=403, reason="just looking")
    assert state(db) == before
    found, lines = ticket(db, public_id)
    assert found.status == "open" and found.escalated_at is None and len(lines) == 1
    assert [(r.actor, r.outcome) for r in audit_rows(db)] == [("vera", "refused")] * 4


def test_csrf_is_required(operator, db, clock, people):
    asha, _, _ = people
    public_id = report(db, clock, asha, send(db, clock, asha, RAVI, 100_00), "wrong_person")
    operator.post(f"/tickets/{public_id}/reject", {"reason": "no token"}, status=400)
    operator.post(f"/tickets/{public_id}/reject", {"reason": "bad", "csrf_token": "x" * 40},
                  status=400)
    assert ticket(db, public_id)[0].status == "open" and count(db, AuditEntry) == 0


# ------------------------------------------------------------------ metrics


def test_the_tickets_gauges_on_metrics(console, db, people):
    asha, _, _ = people
    # Reported 30 hours ago (a 24 h deadline: 6 h late) and just now.
    long_ago = Clock()
    long_ago.forward(hours=-30)
    now = Clock()
    late = report(db, long_ago, asha, send(db, long_ago, asha, RAVI, 100_00), "not_received")
    report(db, now, asha, send(db, now, asha, RAVI, 101_00), "not_received")
    with db() as session, session.begin():
        services = services_for_tests(session, clock=now)
        services.tickets.move(services.tickets.locked(services.tickets.by_public_id(late).id),
                              "investigating", "looking", actor="operator")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(console.get("/metrics").text)
               for s in family.samples}
    assert samples[("wallet_tickets_live", (("status", "open"),))] == 1
    assert samples[("wallet_tickets_live", (("status", "investigating"),))] == 1
    assert samples[("wallet_tickets_overdue", ())] == 1
    assert samples[("wallet_tickets_escalated", ())] == 0
