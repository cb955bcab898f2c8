"""The merchant API's settlements (api_app.views.settlements): the history,
one settlement with its report's figures, its report as CSV; another shop's
is a 404, bad paging a 400 problem, a user's token is refused."""
from __future__ import annotations

import pytest

from wallet.core.models import Merchant
from wallet.merchants.keys import MerchantKeys

from ..api_helpers import auth
from ..settlement_helpers import (
    START,
    Clock,
    PayingBank,
    account_of,
    drive_payouts,
    make_shop,
    pay,
    services,
)
from ..wallet_helpers import make_user


def shop_key(db, shop_id: int) -> str:
    with db() as session, session.begin():
        return MerchantKeys(session).issue(session.get_one(Merchant, shop_id), "server").secret


@pytest.fixture
def settled(db, runner):
    """A shop with one paid settlement of ₹1,200 (three payouts of ₹400 at most
    ₹500 each): (its key, the settlement's id, its bank references)."""
    clock = Clock(START)
    shop = make_shop(db, clock)
    clock.advance(days=1, minutes=5)
    asha = make_user(db, "+919876543210", "Asha", deposit_paise=5_000_00)
    pay(db, clock, asha, "chai-point", 1_200_00, "pay-key-0000000001")
    account = account_of(db, shop)
    with db() as session, session.begin():
        made = services(session, clock, cap_paise=500_00).auto_settlements.settle_all(
            session.get(Merchant, shop), str(account), "settle-all-key-00001", None)
        public_id = made.public_id
    drive_payouts(runner, clock, [shop], PayingBank(), cap_paise=500_00)
    return shop_key(db, shop), public_id


def test_list_read_and_csv(api, db, settled):
    secret, public_id = settled
    listed = api.get("/v1/settlements", headers=auth(secret)).json
    assert [s["id"] for s in listed["items"]] == [public_id]
    assert listed["next_cursor"] is None
    one = api.get(f"/v1/settlements/{public_id}", headers=auth(secret)).json
    settlement = one["settlement"]
    assert settlement["status"] == "paid" and settlement["amount"]["amount_paise"] == 1_200_00
    assert settlement["trigger"] == "settle_all" and len(settlement["bank_references"]) == 3
    assert [p["amount"]["amount_paise"] for p in one["payouts"]] == [400_00] * 3
    assert one["payments"]["count"] == 1 and one["net"]["amount_paise"] == 1_200_00
    assert one["payments"]["by_store"][0]["handle"] == "chai-point"
    csv = api.get(f"/v1/settlements/{public_id}/report.csv", headers=auth(secret))
    assert csv.content_type == "text/csv"
    assert "net,paid to the bank,,1200.00" in csv.text.splitlines()
    assert sum(line.startswith("payout,wd_") for line in csv.text.splitlines()) == 3


def test_another_shops_or_an_unknown_settlement_is_a_404(api, db, settled):
    _, public_id = settled
    other = make_shop(db, Clock(START), "dosa-hut", webhook=False)
    secret = shop_key(db, other)
    assert api.get("/v1/settlements", headers=auth(secret)).json["items"] == []
    for path in (f"/v1/settlements/{public_id}", f"/v1/settlements/{public_id}/report.csv",
                 "/v1/settlements/stl_nosuchthing"):
        answer = api.get(path, headers=auth(secret), status=404)
        assert answer.json["code"] in ("settlement_not_found", "not_found")


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=101", "cursor=-1",
                                   "cursor=x"])
def test_bad_paging_is_a_400_problem(api, settled, query):
    secret, _ = settled
    answer = api.get(f"/v1/settlements?{query}", headers=auth(secret), status=400)
    assert answer.content_type == "application/problem+json"


def test_without_a_shop_key_it_is_refused(api, settled):
    api.get("/v1/settlements", status=401)
    api.get("/v1/settlements", headers={"Authorization": "Bearer nope"}, status=401)
