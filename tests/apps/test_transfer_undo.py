"""A first payment held for its undo window, through the API, the user app
and the workers' periodic task (wallet.money.transfer_holds). One clock per
test: the app's (registry["clock"]), moved by the test."""
from __future__ import annotations

import datetime as dt

import pytest

import huey_tasks
from wallet.core.codes import Status
from wallet.core.models import User

from ..api_helpers import auth, new_key, sign_in
from ..schedule_helpers import Clock, background, services
from ..wallet_helpers import PIN, balance, confirm, login, make_user, state

ASHA, RAVI, MEERA = "+919876543210", "+919812345678", "+919900011122"
#: 08:32 UTC is 14:02 in India: a transfer sent then lands at 14:32 IST.
NOW = dt.datetime(2026, 12, 10, 8, 32, tzinfo=dt.timezone.utc)
PROBLEM = "application/problem+json"


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def people(db):
    return (make_user(db, ASHA, "Asha Verma", deposit_paise=10_000_00),
            make_user(db, RAVI, "Ravi Kumar"), make_user(db, MEERA, "Meera", full_kyc=False))


def held_send(api, token, amount_paise=2_500_00, phone="98123 45678"):
    return api.post_json("/v1/transfers", {"to_phone": phone, "amount_paise": amount_paise},
                         headers=auth(token, new_key()), status=201).json


def test_the_api_holds_a_first_payment_and_undoes_it(api, db, clock, people):
    api.app.registry["clock"] = clock
    asha, ravi, _ = people
    token = sign_in(api)
    sent = held_send(api, token)
    assert (sent["status"], sent["first_payment"], sent["payee_verified_name"],
            sent["lands_at"]) == ("pending", True, "Ravi K•••••", "2026-12-10T09:02:00+00:00")
    assert balance(db, asha) == (7_500_00, 2_500_00) and balance(db, ravi) == (0, 0)
    theirs = sign_in(api, RAVI)
    seen = api.get(f"/v1/transactions/{sent['id']}", headers=auth(theirs)).json
    assert (seen["direction"], seen["status"], seen["lands_at"]) == (
        "in", "pending", "2026-12-10T09:02:00+00:00")
    # Someone else's undo: not found (the recipient's too), and nothing changes.
    before = state(db)
    for who in (theirs, sign_in(api, MEERA)):
        reply = api.post(f"/v1/transfers/{sent['id']}/undo", headers=auth(who), status=404)
        assert reply.content_type == PROBLEM and reply.json["code"] == "transfer_not_found"
    api.post(f"/v1/transfers/{sent['id'] + 99}/undo", headers=auth(token), status=404)
    assert state(db) == before
    clock.advance(minutes=29)
    undone = api.post(f"/v1/transfers/{sent['id']}/undo", headers=auth(token), status=200).json
    assert (undone["status"], undone["lands_at"]) == ("failed", None)
    assert balance(db, asha) == (10_000_00, 0) and balance(db, ravi) == (0, 0)
    again = api.post(f"/v1/transfers/{sent['id']}/undo", headers=auth(token), status=200).json
    assert again == undone  # undoing twice changes nothing


def test_the_api_refuses_an_undo_after_the_window_and_writes_nothing(api, db, clock, people):
    api.app.registry["clock"] = clock
    asha, ravi, _ = people
    token = sign_in(api)
    sent = held_send(api, token)
    clock.advance(minutes=30)
    before = state(db)
    reply = api.post(f"/v1/transfers/{sent['id']}/undo", headers=auth(token), status=409)
    assert reply.content_type == PROBLEM and reply.json["code"] == "undo_closed"
    assert "14:32 IST" in reply.json["detail"]
    assert state(db) == before
    landed = background(lambda fn: _run(db, fn), clock).land_due_transfers()
    assert landed == [sent["id"]]
    assert balance(db, ravi) == (2_500_00, 0) and balance(db, asha) == (7_500_00, 0)
    fetched = api.get(f"/v1/transactions/{sent['id']}", headers=auth(token)).json
    assert (fetched["status"], fetched["lands_at"]) == ("completed", None)
    api.post(f"/v1/transfers/{sent['id']}/undo", headers=auth(token), status=409)


def test_small_or_repeat_payments_are_not_held(api, db, clock, people):
    api.app.registry["clock"] = clock
    token = sign_in(api)
    small = held_send(api, token, amount_paise=2_000_00)  # at the threshold: not above
    assert (small["status"], small["first_payment"], small["lands_at"]) == (
        "completed", True, None)
    repeat = held_send(api, token)
    assert (repeat["status"], repeat["first_payment"]) == ("completed", False)
    unverified = held_send(api, token, amount_paise=10_00, phone="99000 11122")
    assert unverified["payee_verified_name"] is None


def test_the_pages_show_the_first_payment_the_undo_and_the_incoming(user_app, db, clock,
                                                                     people):
    user_app.app.registry["clock"] = clock
    asha, ravi, _ = people
    login(user_app, "98765 43210")
    form = user_app.get("/send").forms["send-form"]
    form["phone"], form["amount"] = "98123 45678", "2500"
    page = form.submit()
    assert "Verified name: Ravi K•••••" in page.text
    assert "This is your first payment to this person" in page.text
    assert "You can undo it for 30 minutes" in page.text
    done = confirm(page).follow()
    assert "Sent! It reaches them at 14:32 IST" in done.text
    assert "Undo until 14:32 IST" in done.text
    # Ravi sees it coming, but cannot have it yet.
    other = user_app.__class__(user_app.app, extra_environ=user_app.extra_environ)
    login(other, "98123 45678")
    assert "Incoming, available at 14:32 IST" in other.get("/dashboard").text
    assert "Incoming, available at 14:32 IST" in other.get("/transactions").text
    # The Undo button.
    undone = done.forms["undo-form"].submit().follow()
    assert "Cancelled: the money is back in your wallet." in undone.text
    assert "undo-form" not in undone.forms and "Cancelled" in undone.text
    assert balance(db, asha) == (10_000_00, 0)


def test_the_page_refuses_an_undo_after_the_window(user_app, db, clock, people):
    user_app.app.registry["clock"] = clock
    login(user_app, "98765 43210")
    form = user_app.get("/send").forms["send-form"]
    form["phone"], form["amount"] = "98123 45678", "2500"
    done = confirm(form.submit()).follow()
    clock.advance(minutes=29)  # (the page seen again: the web session stays fresh)
    undo_form = user_app.get(done.request.url).forms["undo-form"]
    clock.advance(minutes=1)
    before = state(db)
    refused = undo_form.submit(status=409)
    assert "can no longer be undone" in refused.text
    assert state(db) == before


def test_the_periodic_task_lands_a_due_transfer_once(db, web_settings, people):
    from huey_tasks.transfer_holds import land_held_transfers

    asha, ravi, _ = people
    sent_at = Clock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    with db() as session, session.begin():
        tx = services(session, sent_at).transfers.send(
            session.get(User, asha), RAVI, 2_500_00, "form-key-0000000001", pin=PIN).transaction
        assert tx.status == Status.PENDING
        tx_id = tx.id
    huey_tasks.configure({**web_settings, "huey.backend": "memory", "huey.immediate": "false"})
    try:
        assert land_held_transfers.call_local() == [tx_id]
        assert land_held_transfers.call_local() == []
    finally:
        huey_tasks.configure({"huey.backend": "memory"})
    assert balance(db, ravi) == (2_500_00, 0)


def _run(db, fn):
    with db() as session, session.begin():
        return fn(session)
