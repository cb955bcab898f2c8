"""The merchant app with the people of a shop: the owner's /staff page
(invite, change, remove), the invitation's page, signing in with a person's
own email or phone, what each role sees (a cashier: its store's payments of
today, no refund), the audit of who did what, and a removed person refused
at their very next request."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import webtest
from sqlalchemy import func, select, update

from wallet.core.models import (
    MerchantStaff,
    MerchantStaffAction,
    MerchantStaffStore,
    Transaction,
)
from wallet.merchants.models import Refund

from ..staff_helpers import (
    STAFF_PASSWORD,
    actions,
    add_store,
    first_store,
    make_staff,
    staff_row,
)
from ..wallet_helpers import PASSWORD, make_user
from .test_merchant_app import make_merchant, merchant_app, merchant_login, merchant_wsgi, pay_at

__all__ = ["merchant_app", "merchant_wsgi"]  # (fixtures)

NOW = dt.datetime.now(dt.timezone.utc)  # the app's clock is the real one: so is this test's


@pytest.fixture
def shop(db):
    return make_merchant(db)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def browser(merchant_wsgi, ip="203.0.113.10"):
    """Another browser (its own cookies)."""
    return webtest.TestApp(merchant_wsgi, extra_environ={"REMOTE_ADDR": ip})


def csrf(page) -> str:
    return page.forms["logout-form"]["csrf_token"].value


def staff_counts(db) -> tuple[int, ...]:
    with db() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (MerchantStaff, MerchantStaffStore, MerchantStaffAction))


def payments_at(db, asha, shop, stores: dict[str, int]) -> dict[str, int]:
    """A payment now at each store, and one yesterday at the first: their ids."""
    made: dict[str, int] = {}
    for i, (name, store_id) in enumerate([*stores.items(), ("yesterday", first_store(db, shop))]):
        when = NOW - dt.timedelta(days=1) if name == "yesterday" else NOW
        pay_at(db, asha, "chai-point", (i + 1) * 10_00, when, f"form-key-staff-{i:05d}")
        with db() as session, session.begin():
            tx_id = session.scalar(select(func.max(Transaction.id)))
            if name != "main":  # the first store's: left NULL, as before stores
                session.execute(update(Transaction).where(Transaction.id == tx_id)
                                .values(payee_store_id=store_id))
            made[name] = tx_id
    return made


# ------------------------------------------------------------ invitations


def test_owner_invites_a_cashier_who_accepts_and_signs_in_by_phone(merchant_app, merchant_wsgi,
                                                                   db, shop):
    merchant_login(merchant_app)
    page = merchant_app.get("/staff")
    form = page.forms["invite-form"]
    form["name"], form["phone"], form["role"] = "Ravi", "98123 45678", "cashier"
    form.get("stores", index=0).checked = True
    invited = form.submit(status=200)
    link = invited.html.select_one("#invite-link").text
    assert invited.headers["Cache-Control"] == "no-store"
    assert 'data-status="invited"' in invited.text

    ravi = browser(merchant_wsgi)
    accept = ravi.get(link.replace("http://localhost", ""))
    assert "Join Chai Point" in accept.text and "cashier" in accept.text
    form = accept.forms["accept-form"]
    form["password"] = form["repeat"] = STAFF_PASSWORD
    assert form.submit(status=303).headers["Location"].endswith("/login")
    assert ravi.get(link.replace("http://localhost", ""), status=404)  # used: gone

    signed_in = merchant_login(ravi, "98123 45678", STAFF_PASSWORD)
    assert signed_in.headers["Location"].endswith("/payments")
    payments = signed_in.follow()
    nav = payments.html.select_one("header nav").text
    assert "Payments" in nav and "Dashboard" not in nav and "People" not in nav
    assert "Settle" not in nav and "API keys" not in nav
    for path in ("/dashboard", "/staff", "/api-keys", "/settle", "/webhooks", "/disputes"):
        ravi.get(path, status=403)
    assert ravi.get("/").headers["Location"].endswith("/payments")
    listed = merchant_app.get("/staff")
    assert 'data-status="active"' in listed.text and "+919812345678" in listed.text


@pytest.mark.parametrize("fields, message", [
    ({"name": "", "email": "a@b.in"}, "Enter their name"),
    ({"name": "Ravi"}, "email or their mobile"),
    ({"name": "Ravi", "email": "nope"}, "Enter an email"),
    ({"name": "Ravi", "phone": "123"}, "10-digit"),
    ({"name": "Ravi", "email": "a@b.in", "stores": False}, "Choose the stores"),
])
def test_bad_invitations_are_a_form_error_and_write_nothing(merchant_app, db, shop, fields,
                                                            message):
    merchant_login(merchant_app)
    before = staff_counts(db)
    form = merchant_app.get("/staff").forms["invite-form"]
    form["name"] = fields["name"]
    form["email"], form["phone"] = fields.get("email", ""), fields.get("phone", "")
    form["role"] = "cashier"
    form.get("stores", index=0).checked = fields.get("stores", True)
    assert message in form.submit(status=400).text
    assert staff_counts(db) == before


def test_forged_role_or_store_is_refused(merchant_app, db, shop):
    merchant_login(merchant_app)
    token = csrf(merchant_app.get("/staff"))
    before = staff_counts(db)
    merchant_app.post("/staff", {"csrf_token": token, "name": "Ravi", "email": "r@b.in",
                                 "role": "superuser", "stores": "1"}, status=400)
    merchant_app.post("/staff", {"csrf_token": token, "name": "Ravi", "email": "r@b.in",
                                 "role": "cashier", "stores": "99999"}, status=400)
    assert staff_counts(db) == before


def test_a_bad_invitation_link_or_password(merchant_app, db, shop):
    merchant_app.get("/invite/" + "A" * 43, status=404)
    merchant_app.get("/invite/short", status=404)
    from ..staff_helpers import invite

    token = invite(db, shop, "Ravi", email="ravi@example.com", role="owner")
    form = merchant_app.get(f"/invite/{token}").forms["accept-form"]
    form["password"] = form["repeat"] = "password1"
    assert "too easy to guess" in form.submit(status=400).text
    with db() as session:
        assert session.scalar(select(MerchantStaff.status)) == "invited"


# --------------------------------------------------------------- signing in


def test_a_person_signs_in_with_their_email_and_the_shop_login_still_works(merchant_app,
                                                                           merchant_wsgi,
                                                                           db, shop):
    make_staff(db, shop, "Meena", email="meena@example.com", role="manager",
               stores=(first_store(db, shop),))
    meena = browser(merchant_wsgi)
    assert merchant_login(meena, "Meena@Example.com", STAFF_PASSWORD).headers[
        "Location"].endswith("/dashboard")
    assert merchant_login(merchant_app).headers["Location"].endswith("/dashboard")
    refused = merchant_login(browser(merchant_wsgi), "meena@example.com", PASSWORD)
    assert refused.status_int == 400 and "do not match" in refused.text


def test_removing_a_person_refuses_their_next_request(merchant_app, merchant_wsgi, db, shop):
    staff_id = make_staff(db, shop, "Ravi", phone="98123 45678",
                          stores=(first_store(db, shop),))
    ravi = browser(merchant_wsgi)
    merchant_login(ravi, "9812345678", STAFF_PASSWORD)
    ravi.get("/payments", status=200)
    merchant_login(merchant_app)
    page = merchant_app.get("/staff")
    removed = page.forms[f"remove-{staff_id}"].submit(status=303).follow()
    assert 'data-status="removed"' in removed.text
    assert ravi.get("/payments", status=303).headers["Location"].startswith(
        "http://localhost/login")
    assert merchant_login(ravi, "9812345678", STAFF_PASSWORD).status_int == 400
    who = actions(db, shop)[-1]
    assert who == (None, "staff.removed", "Ravi")


def test_a_role_change_applies_at_the_next_request(merchant_app, merchant_wsgi, db, shop):
    store = first_store(db, shop)
    staff_id = make_staff(db, shop, "Ravi", email="ravi@example.com", stores=(store,))
    ravi = browser(merchant_wsgi)
    merchant_login(ravi, "ravi@example.com", STAFF_PASSWORD)
    ravi.get("/dashboard", status=403)
    merchant_login(merchant_app)
    form = merchant_app.get("/staff").forms[f"change-{staff_id}"]
    form["role"] = "manager"
    form.submit(status=303)
    ravi.get("/dashboard", status=200)
    assert staff_row(db, staff_id).role == "manager"
    assert actions(db, shop)[-1][:2] == (None, "staff.changed")


def test_a_person_changes_their_own_password_not_the_shops(merchant_wsgi, db, shop):
    staff_id = make_staff(db, shop, "Ravi", email="ravi@example.com", role="owner")
    ravi = browser(merchant_wsgi)
    merchant_login(ravi, "ravi@example.com", STAFF_PASSWORD)
    form = ravi.get("/account").forms["password-form"]
    form["current_password"] = STAFF_PASSWORD
    form["password"] = form["repeat"] = "a brand new passphrase 9"
    form.submit(status=303)
    assert merchant_login(browser(merchant_wsgi), "ravi@example.com",
                          "a brand new passphrase 9").status_int == 303
    assert merchant_login(browser(merchant_wsgi)).status_int == 303  # the shop's: unchanged
    assert staff_row(db, staff_id).password_hash is not None


# ------------------------------------------------------ what each role sees


def test_a_cashier_sees_its_stores_payments_of_today_without_refund(merchant_wsgi, db, shop,
                                                                    asha):
    main, airport = first_store(db, shop), add_store(db, shop, "Airport", "chai-airport")
    made = payments_at(db, asha, shop, {"main": main, "airport": airport})
    make_staff(db, shop, "Ravi", phone="98123 45678", stores=(main,))
    ravi = browser(merchant_wsgi)
    merchant_login(ravi, "9812345678", STAFF_PASSWORD)
    listed = ravi.get("/payments", {"from": "2020-01-01"})
    shown = {int(m) for m in re.findall(r"/payments/(\d+)", listed.text)}
    assert shown == {made["main"]}  # not the airport's, not yesterday's
    page = ravi.get(f"/payments/{made['main']}")
    assert "refund-form" not in page.text
    ravi.get(f"/payments/{made['airport']}", status=404)
    ravi.get(f"/payments/{made['yesterday']}", status=404)
    csv = ravi.get("/payments.csv", {"from": "2020-01-01"}).text
    assert csv.count("\n") == 2  # the header and today's payment at its store
    before = _refunds(db)
    ravi.post(f"/payments/{made['main']}", {"csrf_token": csrf(page), "amount": "1",
                                            "request_key": "k" * 32}, status=403)
    assert _refunds(db) == before


def test_a_manager_sees_and_refunds_their_stores_payments_and_it_is_audited(
        merchant_app, merchant_wsgi, db, shop, asha):
    main, airport = first_store(db, shop), add_store(db, shop, "Airport", "chai-airport")
    made = payments_at(db, asha, shop, {"main": main, "airport": airport})
    meena_id = make_staff(db, shop, "Meena", email="meena@example.com", role="manager",
                          stores=(airport,))
    meena = browser(merchant_wsgi)
    merchant_login(meena, "meena@example.com", STAFF_PASSWORD)
    shown = {int(m) for m in re.findall(r"/payments/(\d+)", meena.get("/payments").text)}
    assert shown == {made["airport"]}
    meena.get(f"/payments/{made['main']}", status=404)
    form = meena.get(f"/payments/{made['airport']}").forms["refund-form"]
    form["amount"], form["reason"] = "5", "cold tea"
    form.submit(status=200).forms["refund-confirm-form"].submit(status=303)  # "Refund ₹5.00 to …?"
    assert actions(db, shop)[-1] == (meena_id, "refund", f"payment TXN{made['airport']:08d}")
    merchant_login(merchant_app)  # the shop's own login: every store's, audited as the shop
    owner_shown = {int(m) for m in re.findall(r"/payments/(\d+)",
                                              merchant_app.get("/payments").text)}
    assert owner_shown == set(made.values())
    form = merchant_app.get(f"/payments/{made['main']}").forms["refund-form"]
    form["amount"] = "1"
    form.submit(status=200).forms["refund-confirm-form"].submit(status=303)
    assert actions(db, shop)[-1] == (None, "refund", f"payment TXN{made['main']:08d}")


def test_a_refused_refund_is_not_audited(merchant_app, db, shop, asha):
    made = payments_at(db, asha, shop, {"main": first_store(db, shop)})
    merchant_login(merchant_app)
    form = merchant_app.get(f"/payments/{made['main']}").forms["refund-form"]
    form["amount"] = "abc"
    form.submit(status=400)
    assert actions(db, shop) == []


def test_the_staff_page_lists_what_people_did(merchant_app, db, shop):
    make_staff(db, shop, "Ravi", email="ravi@example.com", role="owner")
    merchant_login(merchant_app)
    page = merchant_app.get("/staff")
    rows = page.html.select("#staff-actions tr[data-action]")
    assert [r["data-action"] for r in rows] == ["staff.joined", "staff.invited"]
    assert "Ravi" in rows[0].text and "The shop's login" in rows[1].text


def _refunds(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Refund))

