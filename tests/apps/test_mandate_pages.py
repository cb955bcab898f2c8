"""AutoPay in the user app: the mandate page approves with the PIN (a wrong
one counted and refused), the AutoPay page pauses, resumes and revokes at
once, a debit above the PIN cap is paid with the PIN there; another user's
mandate is not found."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from wallet.core.codes import IST
from wallet.core.models import Merchant
from wallet.merchants.models import Mandate, MandateDebit

from ..mandate_helpers import Clock, approved_mandate, create_mandate, make_shop, services
from ..wallet_helpers import PIN, balance, login, make_user, pin_form


@pytest.fixture
def clock(user_app):
    clock = Clock()
    user_app.app.registry["clock"] = clock
    return clock


@pytest.fixture
def shop(db):
    return make_shop(db)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def status_of(db, public_id):
    with db() as session:
        return session.scalar(select(Mandate.status).where(Mandate.public_id == public_id))


def test_approve_at_the_mandate_page(user_app, db, clock, shop, asha):
    public_id = create_mandate(db, clock, shop)
    assert "/login" in user_app.get(f"/mandates/{public_id}", status=303).location
    login(user_app, "98765 43210")
    page = user_app.get(f"/mandates/{public_id}")
    assert "Streamflix" in page.text and "₹499.00" in page.text
    wrong = pin_form(page, "mandate-form", "9753").submit(status=400)
    assert "Wrong PIN" in wrong.text and status_of(db, public_id) == "created"
    done = pin_form(wrong, "mandate-form").submit(status=303)
    assert done.location.endswith("/autopay") and status_of(db, public_id) == "active"
    listed = done.follow()
    assert "AutoPay for Streamflix is on" in listed.text
    assert listed.html.select_one(f"#mandate-{public_id} .mandate-status").text == "active"
    assert user_app.get(f"/mandates/{public_id}").html.select_one("#mandate-status")
    assert user_app.get("/mandates/md_nosuchthing", status=404)


def test_pause_resume_revoke_at_once(user_app, db, clock, shop, asha):
    public_id = approved_mandate(db, clock, shop, asha)
    with db() as session, session.begin():
        services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop), public_id, 100_00)
    login(user_app, "98765 43210")
    page = user_app.get("/autopay")
    assert "Next: ₹100.00" in page.text
    pause = next(f for f in page.forms.values() if f.action.endswith("/pause"))
    pause.submit(status=303)
    assert status_of(db, public_id) == "paused"
    with db() as session:
        assert session.scalar(select(MandateDebit.status)) == "cancelled"
    page = user_app.get("/autopay")
    next(f for f in page.forms.values() if f.action.endswith("/resume")).submit(status=303)
    assert status_of(db, public_id) == "active"
    page = user_app.get("/autopay")
    next(f for f in page.forms.values() if f.action.endswith("/revoke")).submit(status=303)
    assert status_of(db, public_id) == "revoked"
    assert "Revoke" not in user_app.get("/autopay").html.select_one("#mandates").text


def test_another_users_mandate_is_not_found(user_app, db, clock, shop, asha):
    make_user(db, "+919812345678", "Ravi")
    public_id = approved_mandate(db, clock, shop, asha)
    login(user_app, "98123 45678")
    token = user_app.get("/autopay").forms["logout-form"]["csrf_token"].value
    user_app.post(f"/autopay/{public_id}/revoke", {"csrf_token": token}, status=404)
    assert status_of(db, public_id) == "active"
    page = user_app.get(f"/mandates/{public_id}")  # the approval link: no longer open
    assert "no longer open" in page.text and "mandate-form" not in page.forms


def test_a_debit_above_the_cap_is_paid_with_the_pin(user_app, db, clock, shop):
    rich = make_user(db, "+919876543210", "Asha", deposit_paise=50_000_00)
    public_id = approved_mandate(db, clock, shop, rich, max_amount_paise=20_000_00)
    with db() as session, session.begin():
        debit_id = services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop), public_id, 16_000_00).public_id
    clock.advance(days=1)
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        assert [debits.execute(i).status for i in debits.due()] == ["awaiting_pin"]
    login(user_app, "98765 43210")
    page = user_app.get("/autopay")
    form = next(f for f in page.forms.values() if f.action.endswith(f"/{debit_id}/approve"))
    form["pin"] = "9753"
    assert "Wrong PIN" in form.submit(status=400).text
    page = user_app.get("/autopay")
    form = next(f for f in page.forms.values() if f.action.endswith(f"/{debit_id}/approve"))
    form["pin"] = PIN
    assert "/transactions/" in form.submit(status=303).location
    assert balance(db, rich) == (34_000_00, 0)


# ------------------------------------------------------------ the merchant app


def test_the_merchant_app_lists_mandates_and_their_debits(merchant_app, db, shop, asha):
    from .test_merchant_app import merchant_login

    clock = Clock()
    approved = approved_mandate(db, clock, shop, asha)
    waiting = create_mandate(db, clock, shop, description="Streamflix yearly plan",
                             frequency="yearly")
    other = create_mandate(db, clock, make_shop(db, "othershop"))
    with db() as session, session.begin():
        debit = services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop), approved, 300_00).public_id
    merchant_login(merchant_app, "streamflix@example.com")
    page = merchant_app.get("/mandates")
    assert page.html.select_one(f"#mandate-{approved} .mandate-status").text == "active"
    assert page.html.select_one(f"#mandate-{waiting} .mandate-status").text == "created"
    assert page.html.select_one(f"#mandate-{other}") is None
    detail = page.click(href=f"/mandates/{approved}$")
    assert detail.html.select_one(f"#debit-{debit} .debit-status").text.strip() == "scheduled"
    merchant_app.get(f"/mandates/{other}", status=404)  # another shop's
    merchant_app.get("/mandates/md_nosuchthing", status=404)


@pytest.fixture
def merchant_app(web_settings):
    import webtest

    from webapp.merchant import main as merchant_main

    from ..conftest import dispose_app_engine

    app = merchant_main({}, **{**web_settings, "wallet.user_app_url": "http://wallet.test"})
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "203.0.113.9"})
    dispose_app_engine(app)


def test_a_debit_is_a_line_in_the_history_and_the_statement(user_app, db, clock, shop, asha):
    public_id = approved_mandate(db, clock, shop, asha)
    with db() as session, session.begin():
        services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop), public_id, 499_00)
    clock.advance(days=1)
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        assert [debits.execute(i).status for i in debits.due()] == ["succeeded"]
    clock.advance(minutes=1)
    login(user_app, "98765 43210")
    history = user_app.get("/transactions")
    line = history.html.select_one(".activity.kind-payment")
    assert "AutoPay: Streamflix monthly plan" in line.text and "₹499.00" in line.text
    month = clock.now.astimezone(IST).strftime("%Y-%m")
    statement = user_app.get(f"/statement?month={month}&format=csv")
    assert "AutoPay: Streamflix monthly plan" in statement.text
    bell = user_app.get("/notifications").text
    assert "will debit ₹499.00" in bell and "₹499.00 paid to Streamflix" in bell
