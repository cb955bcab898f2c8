"""The user app's tickets pages (webtest): "Report a problem" on a
transaction's page, the report form (the categories the transaction allows,
a note), the ticket with its status, deadline and timeline, the list; every
bad input shown on the form with nothing written, a live ticket answered
with a link to it (409), someone else's a 404, CSRF required."""
from __future__ import annotations

import re

import pytest
import webtest
from sqlalchemy import func, select

from wallet.care.models import Ticket, TicketEvent
from wallet.core.codes import TicketActor, TicketStatus
from wallet.core.models import Transaction, User

from ..wallet_helpers import PIN, login, make_user, services_for_tests

ASHA, RAVI, ZOYA = "+919876543210", "+919812345678", "+919900033344"


@pytest.fixture
def sent(db):
    """Asha (₹1,000) sent Ravi ₹100: the transfer's id."""
    asha = make_user(db, ASHA, "Asha Verma", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi Kumar")
    make_user(db, ZOYA, "Zoya Khan")
    with db() as session, session.begin():
        tx = services_for_tests(session).transfers.send_money(
            session.get(User, asha), RAVI, 100_00, "k" * 22, pin=PIN)
        return tx.id


def browser(user_wsgi, phone):
    app = webtest.TestApp(user_wsgi)
    login(app, phone)
    return app


def rows(db) -> tuple[int, int]:
    with db() as session:
        return tuple(int(session.scalar(select(func.count()).select_from(m)))
                     for m in (Ticket, TicketEvent))


def report(app, tx_id, category="not_received", note="It never arrived", status=303):
    form = app.get(f"/transactions/{tx_id}/report").forms["report-form"]
    if category is not None:
        form["category"] = category
    form["note"] = note
    return form.submit(status=status)


def test_report_from_the_transaction_page_then_see_the_ticket(user_wsgi, db, sent):
    asha = browser(user_wsgi, ASHA)
    page = asha.get(f"/transactions/{sent}")
    form_page = page.click(linkid="report-link")
    radios = re.findall(r'name="category" value="([a-z_]+)"', form_page.text)
    assert radios == ["not_received", "pending_too_long", "wrong_person", "paid_twice",
                      "not_authorised"]
    assert "Money debited but not received" in form_page.text
    done = report(asha, sent, "wrong_person", "Sent to the   wrong Ravi")
    path = re.search(r"/tickets/tk_[A-Za-z0-9_-]+$", done.location).group(0)
    shown = done.follow()
    assert "Paid the wrong person" in shown.text and 'data-status="open"' in shown.text
    assert "Answer due by" in shown.text and " IST" in shown.text
    assert "Sent to the wrong Ravi" in shown.text
    timeline = shown.html.select("#timeline li")
    assert len(timeline) == 1 and "You ·" in timeline[0].text
    assert "You reported: Paid the wrong person." in timeline[0].text
    assert f"/transactions/{sent}" in shown.text  # the transaction, linked
    # The transaction's page now links to the ticket, and the list shows it.
    again = asha.get(f"/transactions/{sent}")
    assert again.html.select_one("#ticket-link")["href"].endswith(path)
    assert again.html.select_one("#report-link") is None
    listed = asha.get("/tickets")
    assert path in listed.text and "Paid the wrong person" in listed.text
    assert "tickets-link" in asha.get("/account").text
    assert rows(db) == (1, 1)


def test_a_closed_ticket_shows_its_reason_and_who_wrote_each_line(user_wsgi, db, sent):
    asha = browser(user_wsgi, ASHA)
    path = report(asha, sent).location
    public_id = path.rsplit("/", 1)[1]
    with db() as session, session.begin():
        tickets = services_for_tests(session).tickets
        ticket = tickets.locked(tickets.by_public_id(public_id).id)
        tickets.move(ticket, TicketStatus.INVESTIGATING, "We asked Ravi's bank.",
                     actor=TicketActor.OPERATOR)
        tickets.move(ticket, TicketStatus.RESOLVED, "The money reached Ravi on Monday.",
                     actor=TicketActor.SYSTEM)
    shown = asha.get(path)
    assert 'data-status="resolved"' in shown.text and "Answer due by" not in shown.text
    assert "The money reached Ravi on Monday." in shown.html.select_one(
        "#ticket-resolution").text
    whos = [li.select_one(".who").text for li in shown.html.select("#timeline li")]
    assert whos == ["You", "Support", "Wallet checks"]
    assert "Closed" in asha.get("/tickets").text
    # Closed: the transaction may be reported again.
    assert asha.get(f"/transactions/{sent}").html.select_one("#report-link") is not None


def test_a_live_ticket_answers_the_form_with_a_link_to_it(user_wsgi, db, sent):
    asha = browser(user_wsgi, ASHA)
    page = asha.get(f"/transactions/{sent}/report")  # two tabs: the form open twice
    first = report(asha, sent).location
    assert rows(db) == (1, 1)
    form = page.forms["report-form"]
    form["category"] = "paid_twice"
    refused = form.submit(status=409)
    assert refused.html.select_one("#live-ticket-link")["href"] == first
    again = asha.get(f"/transactions/{sent}/report", status=409)
    assert again.html.select_one("#live-ticket-link")["href"] == first
    assert "report-form" not in again.forms
    assert rows(db) == (1, 1)


def test_the_same_form_sent_twice_makes_one_ticket(user_wsgi, db, sent):
    asha = browser(user_wsgi, ASHA)
    form = asha.get(f"/transactions/{sent}/report").forms["report-form"]
    form["category"] = "not_received"
    first = form.submit(status=303).location
    assert form.submit(status=303).location == first  # a double click
    assert rows(db) == (1, 1)


@pytest.mark.parametrize(("category", "note", "fields"), [
    (None, "", ["category"]),
    ("lost", "", ["category"]),
    ("not_delivered", "", ["category"]),  # (a shop's, not a transfer's)
    ("not_received", "x" * 501, ["note"]),
    ("not_received", "bad \x01 byte", ["note"]),
    ("not_delivered", "y" * 900, ["category", "note"]),
])
def test_bad_reports_are_shown_on_the_form_and_write_nothing(user_wsgi, db, sent, category,
                                                             note, fields):
    asha = browser(user_wsgi, ASHA)
    page = asha.get(f"/transactions/{sent}/report")
    token = page.forms["report-form"]["csrf_token"].value
    key = page.forms["report-form"]["request_key"].value
    body = {"csrf_token": token, "request_key": key, "note": note}
    if category is not None:
        body["category"] = category
    refused = asha.post(f"/transactions/{sent}/report", body, status=400)
    shown = [p["id"].removesuffix("-error") for p in refused.html.select("p.error[id]")]
    assert shown == fields
    kept = refused.forms["report-form"]
    assert kept["note"].value == note and kept["request_key"].value == key
    assert rows(db) == (0, 0)
    # The same form, corrected, goes through.
    kept["category"], kept["note"] = "not_received", "fine now"
    kept.submit(status=303)
    assert rows(db) == (1, 1)


def test_an_out_of_date_form_is_refused(user_wsgi, db, sent):
    asha = browser(user_wsgi, ASHA)
    page = asha.get(f"/transactions/{sent}/report")
    token = page.forms["report-form"]["csrf_token"].value
    refused = asha.post(f"/transactions/{sent}/report",
                        {"csrf_token": token, "request_key": "short", "category": "wrong_person"},
                        status=400)
    assert "out of date" in refused.text and rows(db) == (0, 0)


def test_csrf_is_required(user_wsgi, db, sent):
    asha = browser(user_wsgi, ASHA)
    key = asha.get(f"/transactions/{sent}/report").forms["report-form"]["request_key"].value
    asha.post(f"/transactions/{sent}/report",
              {"request_key": key, "category": "not_received"}, status=400)
    asha.post(f"/transactions/{sent}/report",
              {"csrf_token": "forged", "request_key": key, "category": "not_received"},
              status=400)
    assert rows(db) == (0, 0)


def test_someone_elses_transaction_or_ticket_is_not_found(user_wsgi, db, sent):
    asha, zoya = browser(user_wsgi, ASHA), browser(user_wsgi, ZOYA)
    path = report(asha, sent).location
    zoya.get(path, status=404)
    zoya.get("/tickets/tk_nothing", status=404)
    zoya.get(f"/transactions/{sent}/report", status=404)
    token = re.search(r'name="csrf_token" value="([^"]+)"', zoya.get("/account").text).group(1)
    zoya.post(f"/transactions/{sent}/report",
              {"csrf_token": token, "request_key": "k" * 22, "category": "wrong_person"},
              status=404)
    zoya.get("/transactions/999999999/report", status=404)
    assert "no-tickets" in zoya.get("/tickets").text
    assert rows(db) == (1, 1)


def test_the_payee_reports_with_their_own_categories(user_wsgi, db, sent):
    ravi = browser(user_wsgi, RAVI)
    page = ravi.get(f"/transactions/{sent}/report")
    assert re.findall(r'name="category" value="([a-z_]+)"', page.text) == [
        "not_received", "pending_too_long"]
    report(ravi, sent, "pending_too_long", "")
    assert rows(db) == (1, 1)


def test_signed_out_pages_ask_to_sign_in(user_wsgi, sent):
    app = webtest.TestApp(user_wsgi)
    for path in ("/tickets", f"/transactions/{sent}/report", "/tickets/tk_abc"):
        assert app.get(path, expect_errors=True).status_int in (302, 303, 403)


def test_a_deposit_is_reported_from_its_own_page(user_wsgi, db, sent):
    asha = browser(user_wsgi, ASHA)
    with db() as session:
        token = session.scalar(select(Transaction.token).where(
            Transaction.kind == "deposit", Transaction.payee_user_id == session.scalar(
                select(User.id).where(User.phone == ASHA))))
    form_page = asha.get(f"/deposits/{token}").click(linkid="report-link")
    assert re.findall(r'name="category" value="([a-z_]+)"', form_page.text) == [
        "not_received", "pending_too_long", "paid_twice"]
    form = form_page.forms["report-form"]
    form["category"] = "paid_twice"
    assert "Paid twice" in form.submit(status=303).follow().text
    assert rows(db) == (1, 1)
