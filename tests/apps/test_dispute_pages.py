"""The merchant app's disputes: the dashboard's box of disputes awaiting an
answer, the list, a dispute's accept and contest forms (CSRF, the form's
errors on the page, nothing written), and another shop's dispute not found."""
from __future__ import annotations

import pytest
import webtest

from wallet.core.models import Merchant, User
from webapp.merchant import main as merchant_main

from ..conftest import dispose_app_engine
from ..mandate_helpers import Clock, event_types, make_shop, services
from ..wallet_helpers import PASSWORD, PIN, balance, csrf_token, make_user, state


@pytest.fixture
def shop_app(web_settings):
    app = merchant_main({}, **web_settings)
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(app)


@pytest.fixture
def clock(shop_app):
    clock = Clock()
    shop_app.app.registry["clock"] = clock
    return clock


def shop_login(app, email="dosa-corner@example.com"):
    form = app.get("/login").forms["login-form"]
    form["email"], form["password"] = email, PASSWORD
    assert form.submit().status_int == 303


def disputed(db, clock, shop_id, amount_paise=250_00):
    """Asha pays the shop and disputes it: (her id, the dispute's public id)."""
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    with db() as session, session.begin():
        s = services(session, clock)
        payment = s.shop_payments.pay_shop(
            session.get_one(User, asha), session.get_one(Merchant, shop_id), amount_paise,
            f"payment:{asha}:pay-key-000000000001", pin=PIN)
        return asha, s.disputes.open(asha, payment.id, "not_delivered", "never came").public_id


def test_the_dashboard_box_and_accepting(shop_app, db, clock):
    shop = make_shop(db, "dosa-corner")
    asha, public_id = disputed(db, clock, shop)
    shop_login(shop_app)
    dashboard = shop_app.get("/dashboard")
    assert "1 dispute awaiting your answer: ₹250.00 held" in dashboard.text
    listing = shop_app.get("/disputes")
    assert 'id="disputes-held">₹250.00<' in listing.text
    assert "the shop did not deliver" in listing.text
    page = listing.click(href=f"/disputes/{public_id}$")
    assert "never came" in page.text
    done = page.forms["accept-form"].submit(status=303).follow()
    assert "the customer is refunded" in done.text and 'id="dispute-status">accepted<' in done.text
    assert "accept-form" not in done.forms and balance(db, asha) == (1_000_00, 0)
    assert 'id="disputes-lost">₹250.00<' in shop_app.get("/disputes").text
    assert "disputes-notice" not in shop_app.get("/dashboard").text


def test_contest_form_errors_on_the_page_and_nothing_written(shop_app, db, clock):
    shop = make_shop(db, "dosa-corner")
    _, public_id = disputed(db, clock, shop)
    shop_login(shop_app)
    page = shop_app.get(f"/disputes/{public_id}")
    before = state(db), event_types(db, shop)
    form = page.forms["contest-form"]
    form["evidence"] = "   "
    refused = form.submit(status=400)
    assert 'id="evidence-error"' in refused.text and "Describe your evidence" in refused.text
    form["evidence"] = "x" * 2001
    assert "Keep the evidence to 2000" in form.submit(status=400).text
    shop_app.post(f"/disputes/{public_id}/contest", {"evidence": "no token"}, status=400)
    assert (state(db), event_types(db, shop)) == before
    form = shop_app.get(f"/disputes/{public_id}").forms["contest-form"]
    form["evidence"] = "Delivered on 3 Dec.\nSigned for."
    done = form.submit(status=303).follow()
    assert 'id="dispute-status">contested<' in done.text and "Signed for." in done.text
    # Answered: the forms are gone; a stale form's post is refused on the page.
    assert "contest-form" not in done.forms
    again = page.forms["accept-form"].submit(status=409)
    assert "contested already" in again.text
    assert event_types(db, shop)[-1] == "dispute.contested"


def test_late_and_other_shops(shop_app, db, clock):
    shop = make_shop(db, "dosa-corner")
    make_shop(db, "chai-point")
    opened = Clock()
    opened.advance(days=-8)  # over a week before the app's clock: its time to answer is over
    _, public_id = disputed(db, opened, shop)
    shop_login(shop_app, "chai-point@example.com")
    shop_app.get(f"/disputes/{public_id}", status=404)
    shop_app.get("/disputes/dp_nosuch", status=404)
    shop_app.reset()
    shop_login(shop_app)
    assert "contest-form" not in shop_app.get(f"/disputes/{public_id}").forms
    before = state(db)
    late = shop_app.post(f"/disputes/{public_id}/contest",
                         {"evidence": "too late", "csrf_token": csrf_token(shop_app)},
                         status=409)
    assert "time to answer" in late.text
    assert state(db) == before
