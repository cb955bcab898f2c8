"""Payment links through the merchant API: make (Idempotency-Key replay,
references), list, read with its payments, cancel; every bad body a
problem+json 4xx with nothing written; another shop's link not found; a
user's token refused; the webhook of each payment."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from wallet.merchants.models import MerchantEvent, PaymentLink
from wallet.merchants.payment_links import DEFAULT_LINK_EXPIRY_S

from ..api_helpers import auth, new_key, sign_in
from ..link_helpers import Clock, open_link, pay, services
from ..wallet_helpers import make_user, state
from .test_api_merchant import make_shop

PROBLEM = "application/problem+json"
USER_APP = "http://wallet.test"
FIXED = {"amount_mode": "fixed", "amount_paise": 49_900, "description": "Table 4 dinner"}


@pytest.fixture
def api_settings(web_settings):
    return {**web_settings, "api.rate_limit_backend": "memory", "wallet.user_app_url": USER_APP}


@pytest.fixture
def shop(db):
    return make_shop(db)


def links(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(PaymentLink))


def create(api, secret, body, key=None, **kwargs):
    return api.post_json("/v1/payment_links", body, headers=auth(secret, key or new_key()),
                         **kwargs)


def test_make_read_list_and_cancel(api, db, shop):
    _, secret = shop
    key = new_key()
    made = create(api, secret, {**FIXED, "single_use": True, "reference": "table-4"}, key,
                  status=201).json
    assert made["id"].startswith("plink_") and made["url"] == f"{USER_APP}/l/{made['id']}"
    assert made["status"] == "active" and made["amount"] == {"amount_paise": 49_900,
                                                             "display": "₹499.00"}
    assert (made["min_amount"], made["max_amount"], made["single_use"], made["livemode"]) == (
        None, None, True, True)
    replay = create(api, secret, {**FIXED, "single_use": True, "reference": "table-4"}, key,
                    status=201)
    assert replay.json == made and replay.headers["Idempotent-Replayed"] == "true"
    assert create(api, secret, FIXED, key, status=409).json["code"] == "idempotency_key_reused"
    reused = create(api, secret, {**FIXED, "reference": "table-4"}, status=409).json
    assert reused["code"] == "payment_link_reference_reused"
    open_one = create(api, secret, {"amount_mode": "open", "description": "Tip",
                                    "min_amount_paise": 1000, "expires_in_s": 3600},
                      status=201).json
    assert open_one["amount"] is None and open_one["min_amount"]["amount_paise"] == 1000
    assert links(db) == 2

    page = api.get("/v1/payment_links?limit=1", headers=auth(secret), status=200).json
    assert [item["id"] for item in page["items"]] == [open_one["id"]]
    rest = api.get(f"/v1/payment_links?cursor={page['next_cursor']}", headers=auth(secret)).json
    assert [item["id"] for item in rest["items"]] == [made["id"]]
    assert "payments" not in rest["items"][0]
    one = api.get(f"/v1/payment_links/{made['id']}", headers=auth(secret), status=200).json
    assert one["payments"] == [] and one["reference"] == "table-4"

    cancelled = api.post(f"/v1/payment_links/{made['id']}/cancel", headers=auth(secret),
                         status=200).json
    assert cancelled["status"] == "cancelled"
    again = api.post(f"/v1/payment_links/{made['id']}/cancel", headers=auth(secret), status=200)
    assert again.json["status"] == "cancelled"
    active = api.get("/v1/payment_links?status=active", headers=auth(secret)).json
    assert [item["id"] for item in active["items"]] == [open_one["id"]]


BAD_BODIES = [
    ({**FIXED, "amount_paise": 0}, 422),
    ({**FIXED, "amount_paise": -1}, 422),
    ({**FIXED, "amount_paise": 100.0}, 422),
    ({**FIXED, "amount_paise": "100"}, 422),
    ({**FIXED, "amount_paise": True}, 422),
    ({**FIXED, "amount_paise": 10 ** 12}, 422),  # above the shop payments' cap
    ({"amount_mode": "fixed", "description": "x"}, 422),
    ({**FIXED, "min_amount_paise": 100}, 422),
    ({**FIXED, "amount_mode": "open"}, 422),
    ({"amount_mode": "open", "description": "x", "min_amount_paise": 500,
      "max_amount_paise": 100}, 422),
    ({**FIXED, "amount_mode": "later"}, 422),
    ({**FIXED, "description": ""}, 422),
    ({**FIXED, "description": "   "}, 422),
    ({**FIXED, "description": "x" * 141}, 422),
    ({**FIXED, "description": "bidi\u202etrick"}, 422),
    ({**FIXED, "reference": "has space"}, 422),
    ({**FIXED, "expires_in_s": 10}, 422),
    ({**FIXED, "expires_in_s": 3600.5}, 422),
    ({**FIXED, "single_use": "yes"}, 422),
    ({**FIXED, "surprise": 1}, 422),
    ({"description": "x"}, 422),
    ([FIXED], 422),
]


@pytest.mark.parametrize("body, status", BAD_BODIES, ids=[str(i) for i in range(len(BAD_BODIES))])
def test_a_bad_body_is_a_problem_and_writes_nothing(api, db, shop, body, status):
    _, secret = shop
    before = state(db)
    reply = create(api, secret, body, status=status)
    assert reply.content_type == PROBLEM and reply.json["status"] == status
    assert links(db) == 0 and state(db) == before


def test_no_key_a_user_token_and_another_shops_link(api, db, shop):
    _, secret = shop
    api.post_json("/v1/payment_links", FIXED, headers=auth(secret), status=400)  # no key
    made = create(api, secret, FIXED, status=201).json
    _, other = make_shop(db, "dosa-corner", "dosa@example.com")
    assert api.get(f"/v1/payment_links/{made['id']}", headers=auth(other),
                   status=404).json["code"] == "payment_link_not_found"
    api.post(f"/v1/payment_links/{made['id']}/cancel", headers=auth(other), status=404)
    api.get("/v1/payment_links/plink_nothing", headers=auth(secret), status=404)
    api.get("/v1/payment_links/pr_wrongkind", headers=auth(secret), status=404)
    make_user(db, "+919876543210", "Asha")
    token = sign_in(api)
    refused = api.get("/v1/payment_links", headers=auth(token), status=401).json
    assert refused["code"] == "wrong_credential_type"
    assert links(db) == 1


def test_each_payment_is_listed_and_told_by_webhook(api, db, shop):
    merchant_id, secret = shop
    clock = Clock()
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)
    made = create(api, secret, {"amount_mode": "open", "description": "Tip"}, status=201).json
    for amount in (50_00, 70_00):
        pay(db, clock, asha, open_link(db, clock, made["id"], amount))
    one = api.get(f"/v1/payment_links/{made['id']}", headers=auth(secret)).json
    assert one["uses_count"] == 2 and one["paid"]["amount_paise"] == 120_00
    assert [p["amount"]["amount_paise"] for p in one["payments"]] == [70_00, 50_00]
    first = one["payments"][-1]["payment_request_id"]
    refund = api.post_json(f"/v1/payment_requests/{first}/refunds", {"amount_paise": 10_00},
                           headers=auth(secret, new_key()), status=201).json
    assert refund["payment_request_id"] == first  # a link's payment refunds as any
    with db() as session:
        events = [(row.type, json.loads(row.payload)["data"]) for row in session.scalars(
            select(MerchantEvent).where(MerchantEvent.merchant_id == merchant_id)
            .order_by(MerchantEvent.id))]
    assert [t for t, _ in events] == ["payment_link.paid", "payment_link.paid",
                                      "refund.succeeded"]
    assert [d["amount_paise"] for _, d in events[:2]] == [50_00, 70_00]
    assert events[1][1]["uses_count"] == 2 and events[1][1]["paid_paise"] == 120_00
    with db() as session:
        link = services(session, clock).payment_links.view(made["id"]).link
        assert (link.expires_at - link.created_at).total_seconds() == DEFAULT_LINK_EXPIRY_S
