"""Disputes through the API for shops' servers: list, read, accept (the
customer refunded), contest (an operator decides); bad input a clear 4xx with
nothing written (after respond_by, twice, another shop's dispute, empty
evidence); the webhooks recorded for the shop's endpoint; the books clean."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from wallet.core.models import Merchant, User
from wallet.merchants.keys import MerchantKeys
from wallet.merchants.models import MerchantDelivery, MerchantEvent
from wallet.operations.bank_calls import verify_all

from ..api_helpers import auth, new_key
from ..mandate_helpers import Clock, event_types, make_shop, services
from ..wallet_helpers import PIN, balance, make_user, state

PROBLEM = "application/problem+json"
DAY = 24 * 3600


@pytest.fixture
def api_settings(web_settings):
    return {**web_settings, "api.rate_limit_backend": "memory"}


@pytest.fixture
def clock(api):
    clock = Clock()
    api.app.registry["clock"] = clock
    return clock


def shop_key(db, shop_id: int) -> str:
    with db() as session, session.begin():
        return MerchantKeys(session).issue(session.get_one(Merchant, shop_id), "server").secret


@pytest.fixture
def shop(db):
    shop_id = make_shop(db, "dosa-corner")
    return shop_id, shop_key(db, shop_id)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def disputed(db, clock, user_id, shop_id, amount_paise=250_00, key="pay-key-000000000001"):
    """A shop payment, disputed by its payer: the dispute's public id."""
    with db() as session, session.begin():
        s = services(session, clock)
        payment = s.shop_payments.pay_shop(
            session.get_one(User, user_id), session.get_one(Merchant, shop_id), amount_paise,
            f"payment:{user_id}:{key}", pin=PIN)
        return s.disputes.open(user_id, payment.id, "not_delivered", "never came").public_id


def books_clean(db):
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger.problems, result.records)


def written(db, shop_id):
    return state(db), event_types(db, shop_id)


def test_list_read_and_accept(api, db, clock, shop, asha):
    shop_id, secret = shop
    public_id = disputed(db, clock, asha, shop_id)
    listed = api.get("/v1/disputes", headers=auth(secret)).json
    assert [d["id"] for d in listed["items"]] == [public_id] and listed["next_cursor"] is None
    one = api.get(f"/v1/disputes/{public_id}", headers=auth(secret)).json
    assert (one["status"], one["reason"], one["disputed"]["amount_paise"],
            one["held"]["amount_paise"]) == ("open", "not_delivered", 250_00, 250_00)
    assert api.get("/v1/disputes?status=contested", headers=auth(secret)).json["items"] == []
    key = new_key()
    done = api.post(f"/v1/disputes/{public_id}/accept", headers=auth(secret, key)).json
    assert done["status"] == "accepted" and done["responded_at"]
    assert balance(db, asha) == (1_000_00, 0)
    # The same key again: the first answer, nothing moves twice.
    again = api.post(f"/v1/disputes/{public_id}/accept", headers=auth(secret, key)).json
    assert again == done and balance(db, asha) == (1_000_00, 0)
    assert event_types(db, shop_id) == ["dispute.opened", "dispute.accepted"]
    with db() as session:  # one delivery per event to the shop's endpoint
        assert len(session.scalars(select(MerchantDelivery)).all()) == 2
    books_clean(db)


def test_contest_then_the_operator_decides(api, db, clock, shop, asha):
    shop_id, secret = shop
    public_id = disputed(db, clock, asha, shop_id)
    done = api.post_json(f"/v1/disputes/{public_id}/contest",
                         {"evidence": "Delivered on 3 Dec; signed for."},
                         headers=auth(secret, new_key())).json
    assert (done["status"], done["evidence"]) == ("contested", "Delivered on 3 Dec; signed for.")
    books_clean(db)
    with db() as session, session.begin():
        s = services(session, clock)
        dispute_id = s.disputes.contested()[0].id
        from wallet.operations.audit import Actor
        assert s.operator_actions(Actor("meera", "operator", "console")).decide_dispute(
            dispute_id, False, "signed delivery note").ok
    shown = api.get(f"/v1/disputes/{public_id}", headers=auth(secret)).json
    assert shown["status"] == "won" and shown["decided_at"]
    assert balance(db, asha) == (750_00, 0)
    assert event_types(db, shop_id) == ["dispute.opened", "dispute.contested", "dispute.won"]
    books_clean(db)


def test_bad_input_is_a_clear_4xx_and_writes_nothing(api, db, clock, shop, asha):
    shop_id, secret = shop
    other_id = make_shop(db, "chai-point", endpoint=False)
    other_secret = shop_key(db, other_id)
    public_id = disputed(db, clock, asha, shop_id)
    before = written(db, shop_id)
    contest = f"/v1/disputes/{public_id}/contest"
    for body, status, code in [({"evidence": ""}, 422, "validation_error"),
                               ({"evidence": "   "}, 422, "validation_error"),
                               ({"evidence": "x" * 2001}, 422, "validation_error"),
                               ({}, 422, "validation_error")]:
        reply = api.post_json(contest, body, headers=auth(secret, new_key()), status=status)
        assert reply.content_type == PROBLEM and reply.json["code"] == code, reply.json
    for path in (f"/v1/disputes/{public_id}", "/v1/disputes/dp_nosuchdispute"):
        assert api.get(path, headers=auth(other_secret), status=404).json["code"] in (
            "dispute_not_found", "not_found")
    reply = api.post_json(contest, {"evidence": "mine"}, headers=auth(other_secret, new_key()),
                          status=404)
    assert reply.json["code"] == "dispute_not_found"
    api.post(f"/v1/disputes/{public_id}/accept", headers=auth(secret), status=400)  # no key
    assert written(db, shop_id) == before
    # Twice: the second answer is refused.
    api.post_json(contest, {"evidence": "delivered"}, headers=auth(secret, new_key()))
    before = written(db, shop_id)
    reply = api.post_json(contest, {"evidence": "delivered again"},
                          headers=auth(secret, new_key()), status=409)
    assert reply.json["code"] == "dispute_closed"
    assert written(db, shop_id) == before


def test_a_contest_after_respond_by_is_refused(api, db, clock, shop, asha):
    shop_id, secret = shop
    public_id = disputed(db, clock, asha, shop_id)
    clock.advance(seconds=7 * DAY + 1)
    before = written(db, shop_id)
    reply = api.post_json(f"/v1/disputes/{public_id}/contest", {"evidence": "delivered"},
                          headers=auth(secret, new_key()), status=409)
    assert reply.json["code"] == "dispute_closed" and "time to answer" in reply.json["detail"]
    assert written(db, shop_id) == before
    with db() as session:
        assert session.scalar(select(MerchantEvent.type).order_by(MerchantEvent.id.desc())
                              ) == "dispute.opened"
