"""The phone-first user app's pages, through webtest: "Pay again" on the
dashboard and the send page's recent contacts (only the person's own payees,
each once, newest first, in one query), the Me page, the bottom tab bar, and
the success screen after a send (its receipt link checks as genuine)."""
from __future__ import annotations

import datetime as dt
import re
import urllib.parse

import pytest

from wallet.core.models import Merchant, User
from wallet.core.round_trips import counting
from wallet.merchants.stores import Stores
from wallet.money.payees import recent_payees

from ..wallet_helpers import PIN, PinForm, login, make_user, transfers_service
from .test_merchant_app import make_merchant, pay_at

ASHA, RAVI, MEERA, ZOYA = "+919876543210", "+919812345678", "+919988776655", "+919900033344"


def send_at(db, sender_id: int, phone: str, amount_paise: int, key: str) -> None:
    with db() as session, session.begin():
        transfers_service(session).send_money(session.get(User, sender_id), phone,
                                              amount_paise, key, pin=PIN)


@pytest.fixture
def people(db):
    return {"asha": make_user(db, ASHA, "Asha Verma", deposit_paise=5_000_00),
            "ravi": make_user(db, RAVI, "Ravi Kumar", deposit_paise=1_000_00),
            "meera": make_user(db, MEERA, "Meera Iyer"),
            "zoya": make_user(db, ZOYA, "Zoya Khan", deposit_paise=1_000_00)}


@pytest.fixture
def history(db, people):
    """Asha paid Ravi, Meera, Ravi again, then two of Chai Point's stores;
    Zoya paid Asha (incoming: not a payee) and Ravi paid Zoya (not Asha's)."""
    asha = people["asha"]
    shop = make_merchant(db)
    with db() as session, session.begin():
        Stores(session).open(session.get(Merchant, shop), "Airport", "chai-airport")
    send_at(db, asha, RAVI, 100_00, "form-key-pay-again-01")
    send_at(db, asha, MEERA, 200_00, "form-key-pay-again-02")
    send_at(db, asha, RAVI, 300_00, "form-key-pay-again-03")
    now = dt.datetime.now(dt.timezone.utc)  # (the transfers' clock too)
    pay_at(db, asha, "chai-point", 50_00, now, "form-key-pay-again-04")
    pay_at(db, asha, "chai-airport", 60_00, now, "form-key-pay-again-05")
    send_at(db, people["zoya"], ASHA, 70_00, "form-key-pay-again-06")
    send_at(db, people["ravi"], ZOYA, 80_00, "form-key-pay-again-07")
    return people


def signed_in(user_app, phone: str):
    assert login(user_app, phone).status_int == 303
    return user_app


def test_pay_again_lists_own_payees_once_newest_first(user_app, history):
    page = signed_in(user_app, "98765 43210").get("/dashboard")
    rows = page.html.select("#pay-again .payee")
    names = [row.select_one(".who strong").text for row in rows]
    assert names == ["Chai Point · Airport", "Chai Point", "Ravi Kumar", "Meera Iyer"]
    links = [row.select_one("a.pay-again")["href"] for row in rows]
    assert links == ["http://localhost/pay/chai-airport", "http://localhost/pay/chai-point",
                     "http://localhost/send?to=%2B919812345678",
                     "http://localhost/send?to=%2B919988776655"]
    assert [row["data-kind"] for row in rows] == ["shop", "shop", "person", "person"]
    assert "Zoya" not in page.html.select_one("#pay-again").text  # paid Asha: not a payee
    # Pay again: the send page, its phone filled in.
    form = page.click(href=r"/send\?to=%2B919812345678").forms["send-form"]
    assert form["phone"].value == RAVI


def test_send_page_recent_contacts_are_people_newest_first(user_app, history):
    page = signed_in(user_app, "98765 43210").get("/send")
    contacts = page.html.select("#recent-contacts a.contact")
    assert [c["data-phone"] for c in contacts] == [RAVI, MEERA]  # shops are not contacts
    assert [c.select_one(".name").text for c in contacts] == ["Ravi", "Meera"]
    assert contacts[0]["href"] == "http://localhost/send?to=%2B919812345678"
    assert 'src="http://localhost/static/contacts.js' in page.text


def test_someone_elses_payees_never_show(user_app, history):
    page = signed_in(user_app, "99000 33344").get("/dashboard")  # Zoya: paid only Asha
    assert [row.select_one(".who strong").text
            for row in page.html.select("#pay-again .payee")] == ["Asha Verma"]
    send = user_app.get("/send")
    assert [c["data-phone"] for c in send.html.select("#recent-contacts a")] == [ASHA]


def test_nobody_paid_yet_no_lists(user_app, people):
    page = signed_in(user_app, "99887 76655").get("/dashboard")  # Meera paid nobody
    assert page.html.select_one("#pay-again") is None
    assert user_app.get("/send").html.select_one("#recent-contacts") is None


def test_recent_payees_is_one_query(db, app_engine, history):
    with db() as session:
        with counting(app_engine) as trips:
            payees = recent_payees(session, history["asha"], limit=5)
            contacts = recent_payees(session, history["asha"], limit=5, shops=False)
    assert trips.count == 2, trips.listing()  # one each, names joined in
    assert len(payees) == 4 and [c.phone for c in contacts] == [RAVI, MEERA]


def test_me_page(user_app, people):
    me = signed_in(user_app, "98765 43210").get("/me")
    assert me.html.select_one("#me-name").text == "Asha Verma"
    assert me.html.select_one("#me-phone").text == ASHA
    assert "Full KYC" in me.html.select_one("#me-kyc").text
    assert me.html.select_one("#me-kyc-link")["href"] == "http://localhost/kyc"
    for link, href in [("#me-pin", "/pin"), ("#me-pin-reset", "/pin/reset"),
                       ("#me-password", "/account#password"),
                       ("#me-notifications", "/notifications")]:
        assert me.html.select_one(link)["href"] == "http://localhost" + href
    assert me.html.select_one("ul#me-settings") is not None  # where other settings go
    tab = me.html.select_one("#tab-me")
    assert tab["aria-current"] == "page" and "current" in tab["class"]
    me.forms["me-logout-form"].submit(status=303)
    assert user_app.get("/me", status=303).location.startswith("http://localhost/login")


def test_tab_bar_links_and_current_tab(user_app, people):
    page = signed_in(user_app, "98765 43210").get("/dashboard")
    tabs = page.html.select("#tabbar a.tab")
    assert [(t["id"], t["href"]) for t in tabs] == [
        ("tab-home", "http://localhost/dashboard"), ("tab-scan", "http://localhost/scan"),
        ("tab-pay", "http://localhost/send"), ("tab-history", "http://localhost/transactions"),
        ("tab-me", "http://localhost/me")]
    assert [t.get("aria-current") for t in tabs] == ["page", None, None, None, None]
    for path, current in [("/send", "tab-pay"), ("/pay", "tab-pay"),
                          ("/transactions", "tab-history"), ("/kyc", "tab-me")]:
        shown = user_app.get(path).html.select("#tabbar [aria-current=page]")
        assert [t["id"] for t in shown] == [current], path
    assert all(t.select_one("svg") is not None for t in tabs)  # an inline icon each


def test_no_tab_bar_signed_out(user_app):
    assert user_app.get("/login").html.select_one("#tabbar") is None


def test_success_screen_after_a_send(user_app, people):
    signed_in(user_app, "98765 43210")
    form = PinForm(user_app.get("/send").forms["send-form"])
    form["phone"], form["amount"] = "98123 45678", "250"
    done = form.submit().follow()
    assert re.search(r"/transactions/\d+\?sent=1$", done.request.url)
    panel = done.html.select_one("#done")
    assert panel.select_one("#done-amount").text == "₹250.00"
    assert " ".join(panel.select_one("#done-to").text.split()) == (
        "Sent to Ravi Kumar (+91 ••••• 45678)")
    tx_id = int(done.request.path.rsplit("/", 1)[1])
    assert panel.select_one("#done-reference").text == f"TXN{tx_id:08d}"
    assert panel.select_one(".done-tick svg") is not None
    assert done.html.select_one("#receipt-qr")["src"].startswith("data:image/svg+xml")
    share = panel.select_one("#share")
    link = urllib.parse.urlsplit(share["data-share-url"])
    assert link.path == "/receipts/verify"
    checked = user_app.get(f"{link.path}?{link.query}")  # anyone opening the link
    assert checked.html.select_one("#verdict")["data-genuine"] == "yes"
    assert 'src="http://localhost/static/share.js' in done.text
    # The same page later (no ?sent=1): the plain details, no success screen.
    assert user_app.get(f"/transactions/{tx_id}").html.select_one("#done") is None
