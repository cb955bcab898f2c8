"""AutoPay mandates, the customer's side, through the JSON API (a user's
token: api_app.views.autopay): a shop's mandate request read and approved
with the PIN, listed with its open debits and paged, paused, resumed and
revoked (each safe to repeat); a debit above the PIN cap paid with the PIN
(wrong PINs counted, paid once) or declined; another customer's mandate or
debit not found; a revoked mandate's due debit never executed; every bad
input a clear 4xx that writes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from wallet.core.models import Merchant, Notification
from wallet.merchants.models import Mandate, MandateDebit, MerchantEvent

from ..api_helpers import auth, new_key, sign_in
from ..mandate_helpers import Clock, approved_mandate, create_mandate, make_shop, services
from ..wallet_helpers import PIN, balance, count, make_user, state

ASHA, RAVI = "+919876543210", "+919812345678"
DAY = 24 * 3600
PROBLEM = "application/problem+json"


@pytest.fixture
def api_settings(web_settings):
    return {**web_settings, "api.rate_limit_backend": "memory"}


@pytest.fixture
def clock(api):
    clock = Clock()
    api.app.registry["clock"] = clock
    return clock


@pytest.fixture
def shop(db):
    return make_shop(db, endpoint=False)


@pytest.fixture
def asha(db):
    return make_user(db, ASHA, "Asha", deposit_paise=50_000_00)


@pytest.fixture
def ravi(db):
    return make_user(db, RAVI, "Ravi", deposit_paise=1_000_00)


def present(db, clock, shop_id: int, public_id: str, amount_paise: int) -> str:
    with db() as session, session.begin():
        return services(session, clock).mandate_debits.present(
            session.get_one(Merchant, shop_id), public_id, amount_paise).public_id


def execute_due(db, clock) -> list[str]:
    with db() as session, session.begin():
        debits = services(session, clock).mandate_debits
        return [debit.status for debit_id in debits.due()
                if (debit := debits.execute(debit_id)) is not None]


def debit_status(db, public_id: str) -> str:
    with db() as session:
        return session.scalar(select(MandateDebit.status).where(
            MandateDebit.public_id == public_id))


def written(db) -> tuple:
    """Everything these endpoints could write."""
    with db() as session:
        mandates = tuple(session.execute(select(Mandate.status, Mandate.customer_user_id)
                                         .order_by(Mandate.id)).all())
        debits = tuple(session.scalars(select(MandateDebit.status).order_by(MandateDebit.id)))
    return (state(db), mandates, debits, count(db, MerchantEvent), count(db, Notification))


def approve(api, token, public_id, pin=PIN, key=None, status=200):
    return api.post_json(f"/v1/autopay/{public_id}/approve", {"pin": pin},
                         headers=auth(token, key or new_key()), status=status)


def awaiting_pin(db, clock, shop, asha) -> tuple[str, str]:
    """A mandate of Asha's with a debit above the PIN cap waiting for it."""
    mandate = approved_mandate(db, clock, shop, asha, max_amount_paise=20_000_00)
    debit = present(db, clock, shop, mandate, 16_000_00)
    clock.advance(seconds=DAY)
    assert execute_due(db, clock) == ["awaiting_pin"]
    return mandate, debit


# --------------------------------------------------------------- happy paths


def test_read_approve_list_pause_resume_revoke(api, db, clock, shop, asha):
    token = sign_in(api)
    public_id = create_mandate(db, clock, shop)
    path = f"/v1/autopay/{public_id}"
    request = api.get(path, headers=auth(token)).json
    assert request["status"] == "created" and request["shop"] == {
        "handle": "streamflix", "name": "Streamflix"}
    assert request["max_amount"]["amount_paise"] == 499_00 and request["open_debits"] == []
    assert api.get("/v1/autopay", headers=auth(token)).json["items"] == []  # not yet hers
    key = new_key()
    approved = approve(api, token, public_id, key=key).json
    assert approved["status"] == "active" and approved["approved_at"]
    replay = approve(api, token, public_id, key=key)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json == approved
    assert approve(api, token, public_id).json["status"] == "active"  # approved once
    debit = present(db, clock, shop, public_id, 450_00)
    listed = api.get("/v1/autopay", headers=auth(token)).json
    assert listed["next_cursor"] is None and [m["id"] for m in listed["items"]] == [public_id]
    [shown] = listed["items"][0]["open_debits"]
    assert (shown["id"], shown["status"], shown["amount"]["amount_paise"]) == (
        debit, "scheduled", 450_00)
    for action, status in (("pause", "paused"), ("pause", "paused"), ("resume", "active"),
                           ("resume", "active"), ("revoke", "revoked"),
                           ("revoke", "revoked")):
        now = api.post(f"{path}/{action}", headers=auth(token)).json
        assert now["status"] == status and now["open_debits"] == []
    assert debit_status(db, debit) == "cancelled"  # cancelled by the pause
    refused = api.post(f"{path}/resume", headers=auth(token), status=409)
    assert refused.content_type == PROBLEM and refused.json["code"] == "mandate_not_active"
    assert api.get(path, headers=auth(token)).json["revoked_at"]


def test_paging_and_status(api, db, clock, shop, asha):
    token = sign_in(api)
    ids = [approved_mandate(db, clock, shop, asha) for _ in range(3)]
    first = api.get("/v1/autopay?limit=2", headers=auth(token)).json
    assert [m["id"] for m in first["items"]] == ids[:0:-1] and first["next_cursor"]
    rest = api.get(f"/v1/autopay?limit=2&cursor={first['next_cursor']}",
                   headers=auth(token)).json
    assert [m["id"] for m in rest["items"]] == ids[:1] and rest["next_cursor"] is None
    api.post(f"/v1/autopay/{ids[1]}/pause", headers=auth(token))
    paused = api.get("/v1/autopay?status=paused", headers=auth(token)).json["items"]
    assert [m["id"] for m in paused] == [ids[1]]


def test_a_debit_above_the_cap_paid_with_the_pin(api, db, clock, shop, asha):
    token = sign_in(api)
    mandate, debit = awaiting_pin(db, clock, shop, asha)
    [shown] = api.get(f"/v1/autopay/{mandate}", headers=auth(token)).json["open_debits"]
    assert (shown["id"], shown["status"]) == (debit, "awaiting_pin")
    path = f"/v1/autopay/debits/{debit}/pay"
    wrong = api.post_json(path, {"pin": "2468"}, headers=auth(token, new_key()), status=403)
    assert wrong.content_type == PROBLEM and wrong.json["code"] == "wrong_pin"
    assert balance(db, asha)[0] == 50_000_00 and debit_status(db, debit) == "awaiting_pin"
    key = new_key()
    paid = api.post_json(path, {"pin": PIN}, headers=auth(token, key), status=201).json
    assert paid["debit"]["status"] == "succeeded" and paid["debit"]["mandate_id"] == mandate
    assert paid["transaction"]["id"] == paid["debit"]["transaction_id"]
    assert paid["transaction"]["amount"]["amount_paise"] == 16_000_00
    assert balance(db, asha)[0] == 34_000_00
    replay = api.post_json(path, {"pin": PIN}, headers=auth(token, key), status=201)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json == paid
    again = api.post_json(path, {"pin": PIN}, headers=auth(token, new_key()), status=201)
    assert again.json == paid and balance(db, asha)[0] == 34_000_00  # paid once
    assert api.get(f"/v1/autopay/{mandate}", headers=auth(token)).json["open_debits"] == []


def test_wrong_pins_are_counted_until_locked(api, db, clock, shop, asha):
    token = sign_in(api)
    _, debit = awaiting_pin(db, clock, shop, asha)
    path = f"/v1/autopay/debits/{debit}/pay"
    codes = [api.post_json(path, {"pin": "2468"}, headers=auth(token, new_key()),
                           expect_errors=True).json["code"] for _ in range(5)]
    assert codes == ["wrong_pin"] * 4 + ["pin_locked"]
    locked = api.post_json(path, {"pin": PIN}, headers=auth(token, new_key()), status=423)
    assert locked.json["code"] == "pin_locked" and "Retry-After" in locked.headers
    assert balance(db, asha)[0] == 50_000_00 and debit_status(db, debit) == "awaiting_pin"


def test_approving_with_a_wrong_pin_counts_and_approves_nothing(api, db, clock, shop, asha):
    token = sign_in(api)
    public_id = create_mandate(db, clock, shop)
    codes = [approve(api, token, public_id, pin="2468", status="*").json["code"]
             for _ in range(5)]
    assert codes == ["wrong_pin"] * 4 + ["pin_locked"]
    assert approve(api, token, public_id, status=423).json["code"] == "pin_locked"
    assert api.get(f"/v1/autopay/{public_id}", headers=auth(token)).json["status"] == "created"


def test_a_request_past_its_end_date_cannot_be_approved(api, db, clock, shop, asha):
    token = sign_in(api)
    public_id = create_mandate(db, clock, shop, days=1)
    path = f"/v1/autopay/{public_id}"
    api.post(f"{path}/pause", headers=auth(token), status=404)  # not hers (yet)
    clock.advance(seconds=3 * DAY)
    before = written(db)
    refused = approve(api, token, public_id, status=409)
    assert refused.content_type == PROBLEM and refused.json["code"] == "mandate_not_active"
    assert written(db) == before
    assert api.get(path, headers=auth(token)).json["status"] == "created"


def test_decline_a_debit_waiting_for_the_pin(api, db, clock, shop, asha):
    token = sign_in(api)
    _, debit = awaiting_pin(db, clock, shop, asha)
    path = f"/v1/autopay/debits/{debit}"
    declined = api.post(f"{path}/decline", headers=auth(token)).json
    assert (declined["status"], declined["failure_code"]) == ("cancelled", "declined")
    assert api.post(f"{path}/decline", headers=auth(token)).json == declined  # (again)
    refused = api.post_json(f"{path}/pay", {"pin": PIN}, headers=auth(token, new_key()),
                            status=409)
    assert refused.json["code"] == "debit_not_open" and balance(db, asha)[0] == 50_000_00


def test_revoked_then_its_due_debit_never_executes(api, db, clock, shop, asha):
    token = sign_in(api)
    mandate = approved_mandate(db, clock, shop, asha)
    debit = present(db, clock, shop, mandate, 499_00)
    assert api.post(f"/v1/autopay/{mandate}/revoke", headers=auth(token)).json[
        "status"] == "revoked"
    clock.advance(seconds=2 * DAY)
    assert execute_due(db, clock) == []
    assert debit_status(db, debit) == "cancelled" and balance(db, asha)[0] == 50_000_00


# --------------------------------------------------- another customer's: 404


def test_another_customers_mandate_and_debit_are_not_found(api, db, clock, shop, asha, ravi):
    mandate, debit = awaiting_pin(db, clock, shop, asha)
    other = sign_in(api, RAVI)
    before = written(db)
    for method, path in (("get", ""), ("post", "/pause"), ("post", "/resume"),
                         ("post", "/revoke")):
        answer = getattr(api, method)(f"/v1/autopay/{mandate}{path}", headers=auth(other),
                                      status=404)
        assert answer.content_type == PROBLEM and answer.json["code"] == "not_found"
    assert approve(api, other, mandate, status=404).json["code"] == "not_found"
    api.post_json(f"/v1/autopay/debits/{debit}/pay", {"pin": PIN},
                  headers=auth(other, new_key()), status=404)
    api.post(f"/v1/autopay/debits/{debit}/decline", headers=auth(other), status=404)
    api.get("/v1/autopay/md_unknown", headers=auth(other), status=404)
    assert api.get("/v1/autopay", headers=auth(other)).json["items"] == []
    assert written(db) == before


# ------------------------------------------------------ bad input: 4xx, nothing written


BAD_BODIES = [
    ({}, None),
    ({"pin": 1357}, None),
    ({"pin": "13a7"}, None),
    ({"pin": "1357", "amount_paise": 1}, None),
    ([1, 2], None),
    ("1357", None),
]


@pytest.mark.parametrize("target", ["approve", "pay"])
@pytest.mark.parametrize("sent", [b for b, _ in BAD_BODIES],
                         ids=[str(i) for i in range(len(BAD_BODIES))])
def test_bad_pin_bodies_are_4xx_and_write_nothing(api, db, clock, shop, asha, target, sent):
    token = sign_in(api)
    request = create_mandate(db, clock, shop)
    _, debit = awaiting_pin(db, clock, shop, asha)
    path = (f"/v1/autopay/{request}/approve" if target == "approve"
            else f"/v1/autopay/debits/{debit}/pay")
    before = written(db)
    answer = api.post_json(path, sent, headers=auth(token, new_key()), expect_errors=True)
    assert 400 <= answer.status_int < 500 and answer.content_type == PROBLEM
    assert written(db) == before


def test_missing_or_bad_keys_and_ids_are_4xx_and_write_nothing(api, db, clock, shop, asha):
    token = sign_in(api)
    request = create_mandate(db, clock, shop)
    _, debit = awaiting_pin(db, clock, shop, asha)
    before = written(db)
    for path in (f"/v1/autopay/{request}/approve", f"/v1/autopay/debits/{debit}/pay"):
        missing = api.post_json(path, {"pin": PIN}, headers=auth(token), status=400)
        assert missing.json["code"] == "idempotency_key_missing"
        api.post_json(path, {"pin": PIN}, headers=auth(token, "short"), status=400)
        api.post_json(path, {"pin": PIN}, headers={"Idempotency-Key": new_key()}, status=401)
        form = api.post(path, "pin=1357", headers={
            **auth(token, new_key()), "Content-Type": "application/x-www-form-urlencoded"},
            expect_errors=True)
        assert form.status_int in (400, 415)
    for path in ("/v1/autopay/42", "/v1/autopay/md_" + "x" * 60, "/v1/autopay/%00/pause",
                 "/v1/autopay/debits/md_x/decline", "/v1/autopay/debits/42/pay"):
        answer = api.post_json(path, {"pin": PIN}, headers=auth(token, new_key()),
                               expect_errors=True)
        assert answer.status_int in (400, 404, 405, 422), path
    for query in ("limit=0", "limit=101", "limit=abc", "cursor=x", "cursor=-1",
                  "status=expired"):
        answer = api.get(f"/v1/autopay?{query}", headers=auth(token), expect_errors=True)
        assert 400 <= answer.status_int < 500 and answer.content_type == PROBLEM, query
    api.get("/v1/autopay", status=401)
    api.post(f"/v1/autopay/{request}/pause", status=401)
    assert written(db) == before
