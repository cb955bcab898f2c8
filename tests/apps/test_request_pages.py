"""The user app's money requests and split bills pages (webtest): ask, pay
through the confirm step with the PIN (once), decline and block, cancel;
split, who has paid, remind, edit, close; bad input shown on the form with
nothing written; someone else's request or split is a 404."""
from __future__ import annotations

import re

import pytest
import webtest
from sqlalchemy import func, select

from wallet.core.models import Notification
from wallet.money.models import MoneyRequest, RequestBlock, Split

from ..wallet_helpers import balance, confirm, login, make_user, state

ASHA, RAVI, MEERA, ZOYA = "+919876543210", "+919812345678", "+919900011122", "+919900033344"


@pytest.fixture
def people(db):
    return {"asha": make_user(db, ASHA, "Asha Verma"),
            "ravi": make_user(db, RAVI, "Ravi Kumar", deposit_paise=1_000_00),
            "meera": make_user(db, MEERA, "Meera Iyer", deposit_paise=1_000_00),
            "zoya": make_user(db, ZOYA, "Zoya Khan", deposit_paise=1_000_00)}


def browser(user_wsgi, phone):
    app = webtest.TestApp(user_wsgi)
    login(app, phone)
    return app


def rows(db):
    with db() as session:
        return (state(db), *(session.scalar(select(func.count()).select_from(m))
                             for m in (MoneyRequest, Split, Notification, RequestBlock)))


def ask(app, phone=RAVI, amount="250.00", note="dinner", expires="", status=303):
    form = app.get("/requests/new").forms["ask-form"]
    form["phone"], form["amount"], form["note"], form["expires"] = phone, amount, note, expires
    return form.submit(status=status)


def request_path(reply):
    return re.search(r"/requests/rq_[A-Za-z0-9_-]+", reply.location).group(0)


def test_ask_then_pay_with_the_pin_once(user_wsgi, db, people):
    asha, ravi = browser(user_wsgi, ASHA), browser(user_wsgi, RAVI)
    path = request_path(ask(asha))
    assert "pending" in asha.get(path).text
    listed = ravi.get("/requests")
    assert path in listed.text and "never paid them before" in listed.text
    page = ravi.get(path)
    assert "You have never paid Asha Verma" in page.text
    confirm_page = page.forms["pay-form"].submit()
    assert "Pay ₹250.00 to Asha Verma" in confirm_page.text
    assert "never paid Asha Verma before" in confirm_page.text
    done = confirm(confirm_page)
    assert done.status_int == 303 and "/transactions/" in done.location
    again = confirm(confirm_page)  # the same confirm page submitted twice
    assert again.location == done.location
    assert balance(db, people["ravi"])[0] == 750_00
    tx_page = ravi.get(done.location)
    assert "a money request" in tx_page.text and path in tx_page.text
    assert "paid" in asha.get(path).text


def test_a_wrong_pin_is_said_on_the_confirm_page(user_wsgi, db, people):
    path = request_path(ask(browser(user_wsgi, ASHA)))
    confirm_page = browser(user_wsgi, RAVI).get(path).forms["pay-form"].submit()
    again = confirm(confirm_page, "0000")
    assert again.status_int == 400 and "confirm-form" in again.forms
    assert balance(db, people["ravi"])[0] == 1_000_00


def test_decline_and_block_then_unblock(user_wsgi, db, people):
    asha, ravi = browser(user_wsgi, ASHA), browser(user_wsgi, RAVI)
    path = request_path(ask(asha))
    ravi.get(path).forms["block-form"].submit(status=303)
    assert "declined" in asha.get(path).text
    refused = ask(asha, status=400)
    assert "does not take money requests from you" in refused.text
    listing = ravi.get("/requests")
    assert "Asha Verma" in listing.text
    listing.forms["unblock-form"].submit(status=303)
    ask(asha)


def test_the_requester_cancels(user_wsgi, db, people):
    asha = browser(user_wsgi, ASHA)
    path = request_path(ask(asha))
    asha.get(path).forms["cancel-form"].submit(status=303)
    assert "cancelled" in asha.get(path).text
    assert "pay-form" not in browser(user_wsgi, RAVI).get(path).forms


@pytest.mark.parametrize("phone, amount, expires, message", [
    (ASHA, "10", "", "You cannot ask yourself for money."),
    ("+919000000000", "10", "", "No wallet is registered"),
    (RAVI, "0", "", "amount"),
    (RAVI, "-5", "", "amount"),
    (RAVI, "1.005", "", "amount"),
    (RAVI, "10", "2020-01-01", "The expiry must be in the future."),
])
def test_bad_asks_are_said_on_the_form_and_nothing_written(user_wsgi, db, people, phone,
                                                           amount, expires, message):
    asha = browser(user_wsgi, ASHA)
    before = rows(db)
    refused = ask(asha, phone, amount, expires=expires, status=400)
    assert "ask-form" in refused.forms and "role=\"alert\"" in refused.text
    if message != "amount":
        assert message in refused.text
    assert rows(db) == before


def test_someone_elses_request_and_split_are_404(user_wsgi, db, people):
    asha = browser(user_wsgi, ASHA)
    path = request_path(ask(asha))
    zoya = browser(user_wsgi, ZOYA)
    zoya.get(path, status=404)
    token = re.search(r'name="csrf_token" value="([^"]+)"', zoya.get("/requests").text).group(1)
    before = rows(db)
    zoya.post(path + "/pay", {"csrf_token": token, "request_key": "k" * 22, "pin": "1357"},
              status=404)
    zoya.post(path + "/cancel", {"csrf_token": token}, status=404)
    assert rows(db) == before


def split_form(app, title="Dinner", total="1000.00", mode="equal", people=(), values=()):
    form = app.get("/splits/new").forms["split-form"]
    form["title"], form["total"], form["mode"] = title, total, mode
    for i in range(8):
        form.set("phone", people[i] if i < len(people) else "", index=i)
        form.set("value", values[i] if i < len(values) else "", index=i)
    return form


def test_split_two_of_three_pay_and_the_page_shows_it(user_wsgi, db, people):
    asha = browser(user_wsgi, ASHA)
    made = split_form(asha, total="900.00", people=(RAVI, MEERA, ZOYA)).submit(status=303)
    page = asha.get(made.location)
    assert page.text.count("share-status\">pending<") == 3
    for phone in (RAVI, MEERA):
        payer = browser(user_wsgi, phone)
        mine = payer.get(made.location).click(linkid="pay-my-share")
        confirm(mine.forms["pay-form"].submit())
    page = asha.get(made.location)
    assert re.search(r'id="split-paid">₹600.00<', page.text)
    assert re.search(r'id="split-outstanding">₹300.00<', page.text)
    page.forms["remind-form"].submit(status=303)
    edit = next(f for f in asha.get(made.location).forms.values()
                if "/shares/" in (f.action or ""))
    edit["amount"] = "250.00"
    edit.submit(status=303)
    page = asha.get(made.location)
    assert "₹850.00" in page.text
    page.forms["close-form"].submit(status=303)
    assert "cancelled" in asha.get(made.location).text


@pytest.mark.parametrize("mode, values, total", [
    ("equal", (), "1000.00"), ("exact", ("400", "300", "300"), "1000.00"),
    ("shares", ("1", "1", "1"), "1000.00"),
])
def test_a_split_of_1000_among_3_adds_up(user_wsgi, db, people, mode, values, total):
    asha = browser(user_wsgi, ASHA)
    made = split_form(asha, total=total, mode=mode, people=(ASHA, RAVI, MEERA),
                      values=values).submit(status=303)
    with db() as session:
        split = session.scalar(select(Split))
        shares = session.scalars(select(MoneyRequest.amount_paise)).all()
    assert split.creator_share_paise + sum(shares) == split.total_paise == 100_000
    assert "₹1,000.00" in asha.get(made.location).text


@pytest.mark.parametrize("mode, values, people_", [
    ("exact", ("400", "300"), (RAVI, MEERA)),
    ("shares", ("0", "1"), (RAVI, MEERA)),
    ("equal", (), (ASHA,)),
    ("equal", (), ("+919000000000",)),
])
def test_bad_splits_are_said_on_the_form_and_nothing_written(user_wsgi, db, people, mode,
                                                             values, people_):
    asha = browser(user_wsgi, ASHA)
    before = rows(db)
    refused = split_form(asha, mode=mode, people=people_, values=values).submit(status=400)
    assert 'id="participants-error"' in refused.text
    assert rows(db) == before


def test_someone_elses_split_is_404_and_unchanged(user_wsgi, db, people):
    asha = browser(user_wsgi, ASHA)
    made = split_form(asha, people=(RAVI, MEERA)).submit(status=303)
    zoya = browser(user_wsgi, ZOYA)
    zoya.get(made.location, status=404)
    token = re.search(r'name="csrf_token" value="([^"]+)"', zoya.get("/requests").text).group(1)
    before = rows(db)
    for action in ("/remind", "/close"):
        zoya.post(made.location + action, {"csrf_token": token}, status=404)
    ravi = browser(user_wsgi, RAVI)  # one of its people: sees it, cannot close it
    assert "Pay my share" in ravi.get(made.location).text
    ravi_token = re.search(r'name="csrf_token" value="([^"]+)"',
                           ravi.get("/requests").text).group(1)
    ravi.post(made.location + "/close", {"csrf_token": ravi_token}, status=404)
    assert rows(db) == before


def test_an_ask_or_a_split_sent_twice_is_made_once(user_wsgi, db, people):
    """A double click or a browser's retry of the same form makes one request
    (its payer is prompted once) and one split; the form's token reused for
    other details is refused, nothing written."""
    asha = browser(user_wsgi, ASHA)
    form = asha.get("/requests/new").forms["ask-form"]
    form["phone"], form["amount"], form["note"] = RAVI, "250.00", "dinner"
    first, second = form.submit(status=303), form.submit(status=303)
    assert first.location == second.location
    split = split_form(asha, people=[ASHA, RAVI, MEERA])
    made, again = split.submit(status=303), split.submit(status=303)
    assert made.location == again.location
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Split)) == 1
        assert session.scalar(select(func.count()).select_from(MoneyRequest)) == 3
    before = rows(db)
    form["amount"] = "300.00"
    assert form.submit(status=400).status_int == 400
    assert rows(db) == before
