"""Report fraud on the pages: the sender's button and confirm page (then the
ticket's page), the recipient's transaction page and report page with the
hold and their answer; the console's list with its two audited decisions."""
from __future__ import annotations

import webtest
from sqlalchemy import select

from wallet.care.models import FraudHold, Ticket, TicketEvent
from wallet.core.models import User
from wallet.operations.models import AuditEntry

from ..wallet_helpers import PIN, balance, count, login, make_user, services_for_tests
from .test_admin_console import (  # noqa: F401 (fixtures)
    add_operator,
    admin_settings,
    admin_wsgi,
    console,
    csrf,
    operator,
)

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"


def people_and_transfer(db):
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar", deposit_paise=0)
    make_user(db, ZOYA, "Zoya Khan")
    with db() as session, session.begin():
        services = services_for_tests(session)
        tx = services.transfers.send_money(session.get(User, asha), RAVI, 100_00,
                                           "f" * 22, pin=PIN)
        services.transfers.send_money(session.get(User, ravi), ZOYA, 25_00, "g" * 22, pin=PIN)
        return asha, ravi, tx.id


def test_the_sender_reports_and_the_recipient_answers(user_app, db):
    asha, ravi, tx_id = people_and_transfer(db)
    assert login(user_app, "98765 43210").status_int == 303
    page = user_app.get(f"/transactions/{tx_id}")
    confirm = page.click(linkid="report-fraud")
    assert "still in their wallet is put on hold" in confirm.text
    done = confirm.forms["report-fraud-form"].submit(status=303)
    with db() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert done.location.endswith(f"/tickets/{ticket.public_id}")
    assert balance(db, ravi) == (0, 75_00)
    again = user_app.get(f"/transactions/{tx_id}")
    assert "You reported this payment as fraud: ₹75.00 is on hold" in again.text
    assert "report-fraud\"" not in again.text
    # A second report goes to the first ticket; nothing more written.
    second = user_app.get(f"/transactions/{tx_id}/report-fraud", status=303)
    assert second.location.endswith(ticket.public_id) and count(db, Ticket) == 1
    # The recipient's side, in a browser of their own.
    user_app = webtest.TestApp(user_app.app, extra_environ=user_app.extra_environ)
    assert login(user_app, "98123 45678").status_int == 303
    user_app.get(f"/transactions/{tx_id}/report-fraud", status=404)  # not theirs to report
    mine = user_app.get(f"/transactions/{tx_id}")
    assert "₹75.00 of this payment is on hold pending review" in mine.text
    report = mine.click(linkid="fraud-report-link")
    assert "<strong>₹75.00</strong> of this payment is on hold pending review" in report.text
    form = report.forms["fraud-response-form"]
    form["text"] = "x" * 1001
    assert 'id="text-error"' in form.submit(status=422).text
    form["text"] = "I sold her a phone, here is the receipt."
    form.submit(status=303).follow()
    with db() as session:
        line = session.scalars(select(TicketEvent).where(TicketEvent.kind == "message")).one()
        assert (line.actor, line.text) == ("counterparty",
                                           "I sold her a phone, here is the receipt.")


def test_someone_elses_or_incoming_or_unknown_is_404(user_app, db):
    _, _, tx_id = people_and_transfer(db)
    assert login(user_app, "99000 33344").status_int == 303  # Zoya
    user_app.get(f"/transactions/{tx_id}/report-fraud", status=404)
    user_app.get("/fraud-reports/tk_nothing", status=404)
    assert count(db, Ticket) == 0


def test_the_console_returns_or_releases(user_app, db, operator):  # noqa: F811
    asha, ravi, tx_id = people_and_transfer(db)
    with db() as session, session.begin():
        made = services_for_tests(session).fraud_reports.report(
            session.get(User, asha), tx_id, "scam")
        ticket_id = made.ticket.id
    listing = operator.get("/fraud-holds")
    assert made.ticket.public_id in listing.text and "Return to the sender" in listing.text
    token = csrf(operator, "/fraud-holds")
    operator.post(f"/fraud-holds/{ticket_id}/return", {"csrf_token": token, "reason": ""},
                  status=400)
    operator.post(f"/fraud-holds/{ticket_id}/return",
                  {"csrf_token": token, "reason": "Confirmed scam"}, status=303)
    assert balance(db, asha) == (900_00 + 75_00, 0) and balance(db, ravi) == (0, 0)
    operator.post(f"/fraud-holds/{ticket_id}/release",
                  {"csrf_token": token, "reason": "again"}, status=409)
    with db() as session:
        assert session.scalars(select(FraudHold)).one().status == "returned"
        assert [(a.action, a.outcome) for a in session.scalars(
            select(AuditEntry).order_by(AuditEntry.id))] == [
            ("fraud_return", "refused"), ("fraud_return", "done"), ("fraud_release", "refused")]
    assert made.ticket.public_id not in operator.get("/fraud-holds").text
