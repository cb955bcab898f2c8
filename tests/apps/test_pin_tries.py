"""No wallet PIN is compared without its try being durably counted, whatever
the request does next (a refused Idempotency-Key, a rollback, a 5xx), and a
request refused for another reason is refused before its PIN is compared
(issue #23, item 1). On PostgreSQL the try is committed before the compare;
on SQLite it is written again when the transaction ends without a commit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from api_app import money
from wallet.core.errors import DuplicateRequest, WalletError
from wallet.core.models import IdempotencyRecord, User
from wallet.identity import pins
from wallet.identity.errors import PinLocked, WrongPin
from wallet.identity.models import WalletPin
from wallet.identity.pins import Pins
from wallet.money import records

from ..api_helpers import auth, new_key, sign_in
from ..wallet_helpers import (
    PIN,
    TEST_PIN_POLICY,
    login,
    make_user,
    shop_payments_service,
    transfers_service,
)

ASHA, RAVI = "+919876543210", "+919812345678"
TRANSFER = {"to_phone": RAVI, "amount_paise": 100}


@pytest.fixture
def compared(monkeypatch):
    """The PINs compared with a stored hash, in order."""
    seen: list[str] = []
    real = pins.verify_pin

    def spy(pin, stored, keys):
        seen.append(pin)
        return real(pin, stored, keys)

    monkeypatch.setattr(pins, "verify_pin", spy)
    return seen


def tries(db, user_id: int) -> int:
    with db() as session:
        return session.get(WalletPin, user_id).failed_tries


def guesses(n: int) -> list[str]:
    return [f"{9000 + i:04d}" for i in range(n)]  # never the test PIN


# ------------------------------------------------------------------ the API


def test_the_reused_key_attack_compares_no_pin_and_real_guesses_lock(api, db, compared):
    """The reproduction of issue #23: a deposit under key K, then transfers
    with guessed PINs under the same K. Each is refused (409) before its PIN
    is compared, so it tells nothing; guesses that are compared lock the wallet."""
    asha = make_user(db, ASHA, "Asha")
    make_user(db, RAVI, "Ravi")
    token, key = sign_in(api), new_key()
    api.post_json("/v1/deposits", {"bank": "hdfc", "amount_paise": 10000},
                  headers=auth(token, key), status=201)
    for guess in guesses(50):
        refused = api.post_json("/v1/transfers", {**TRANSFER, "pin": guess},
                                headers=auth(token, key), status=409)
        assert refused.json["code"] == "idempotency_key_reused"
    assert compared == [] and tries(db, asha) == 0
    answers = [api.post_json("/v1/transfers", {**TRANSFER, "pin": guess},
                             headers=auth(token, new_key()), expect_errors=True)
               for guess in guesses(5)]
    assert [a.json["code"] for a in answers] == ["wrong_pin"] * 4 + ["pin_locked"]
    locked = api.post_json("/v1/transfers", {**TRANSFER, "pin": PIN},
                           headers=auth(token, new_key()), status=423)
    assert locked.json["code"] == "pin_locked" and len(compared) == 5


def test_guesses_compared_before_the_key_is_refused_still_lock(api, db, monkeypatch, compared):
    """The same attack where the key is not yet seen when the request starts
    (a twin request stores it meanwhile): the PIN is compared, the answer is
    still 409 and rolled back -- and each try stays counted."""
    monkeypatch.setattr(money, "_look_first", lambda *args: False)
    asha = make_user(db, ASHA, "Asha")
    make_user(db, RAVI, "Ravi")
    token, key = sign_in(api), new_key()
    api.post_json("/v1/deposits", {"bank": "hdfc", "amount_paise": 10000},
                  headers=auth(token, key), status=201)
    for guess in guesses(5):
        api.post_json("/v1/transfers", {**TRANSFER, "pin": guess}, headers=auth(token, key),
                      status=409)
    assert len(compared) == 5 and tries(db, asha) == 5
    locked = api.post_json("/v1/transfers", {**TRANSFER, "pin": PIN},
                           headers=auth(token, new_key()), status=423)
    assert locked.json["code"] == "pin_locked"


def test_a_repeat_of_a_payment_is_answered_without_its_pin(api, db, compared):
    make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi")
    token, key = sign_in(api), new_key()
    first = api.post_json("/v1/transfers", {**TRANSFER, "pin": PIN}, headers=auth(token, key),
                          status=201)
    again = api.post_json("/v1/transfers", {**TRANSFER, "pin": "0000"},
                          headers=auth(token, key), status=201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert compared == [PIN]


def test_a_5xx_after_a_wrong_pin_still_counts_it(api, db, monkeypatch):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi")

    def broken(exc, request):
        raise RuntimeError("the answer could not be made")

    monkeypatch.setattr(money, "wallet_refused", broken)
    token = sign_in(api)
    api.post_json("/v1/transfers", {**TRANSFER, "pin": "2468"},
                  headers=auth(token, new_key()), status=500)
    assert tries(db, asha) == 1
    with db() as session:
        assert session.scalar(select(IdempotencyRecord.id)) is None  # nothing else kept


# ------------------------------------------------------------------ the domain


def test_a_wrong_pin_stays_counted_when_its_transaction_rolls_back(db):
    asha = make_user(db, ASHA, "Asha")
    for n in range(1, 6):
        with db() as session:
            session.begin()
            with pytest.raises(WrongPin if n < 5 else PinLocked):
                Pins(session, policy=TEST_PIN_POLICY).approve(session.get(User, asha), "2468")
            session.rollback()
        assert tries(db, asha) == n
    with db() as session, session.begin():  # locked: even the right PIN
        with pytest.raises(PinLocked):
            Pins(session, policy=TEST_PIN_POLICY).approve(session.get(User, asha), PIN)


def test_a_failure_after_the_compare_keeps_the_count(db, monkeypatch):
    """A wrong PIN, then an error that rolls everything back (closed session,
    no rollback called): counted. A right PIN, then an error: cleared."""
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi")
    with db() as session:
        session.begin()
        with pytest.raises(WrongPin):
            transfers_service(session).send_money(session.get(User, asha), RAVI, 100,
                                                  "form-key-0000000001", pin="2468")
    assert tries(db, asha) == 1

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(records, "record", broken)
    with db() as session, pytest.raises(RuntimeError):
        with session.begin():
            transfers_service(session).send_money(session.get(User, asha), RAVI, 100,
                                                  "form-key-0000000002", pin=PIN)
    assert tries(db, asha) == 0


@pytest.mark.postgres
def test_the_try_is_committed_before_the_pin_is_compared(db, app_engine, monkeypatch):
    """Another connection sees the try while the PIN is compared, even when the
    request's transaction holds locks and is rolled back afterwards. (SQLite,
    one writer at a time, counts it in the unit of work: the rollback tests
    above show it kept there.)"""
    asha = make_user(db, ASHA, "Asha")
    seen: list[int] = []
    real = pins.verify_pin

    def looking(pin, stored, keys):
        with app_engine.connect() as other:
            seen.append(other.scalar(select(WalletPin.failed_tries)
                                     .where(WalletPin.user_id == asha)))
        return real(pin, stored, keys)

    monkeypatch.setattr(pins, "verify_pin", looking)
    with db() as session:
        session.begin()
        user = session.scalar(select(User).where(User.id == asha).with_for_update())
        with pytest.raises(WrongPin):
            Pins(session, policy=TEST_PIN_POLICY).approve(user, "2468")
        session.rollback()
    assert seen == [1] and tries(db, asha) == 1


def test_a_pin_set_and_checked_in_one_transaction(db):
    """The transaction that wrote the PIN row holds its lock: the try is
    counted in it (a connection of its own would wait for it forever)."""
    asha = make_user(db, ASHA, "Asha", pin=None)
    with db() as session, session.begin():
        user = session.get(User, asha)
        Pins(session, policy=TEST_PIN_POLICY).set_first(user, "2580", "2580")
        with pytest.raises(WrongPin):
            Pins(session, policy=TEST_PIN_POLICY).approve(user, "2468")
        assert Pins(session, policy=TEST_PIN_POLICY).approve(user, "2580").user_id == asha
    assert tries(db, asha) == 0


def test_a_form_key_used_before_is_refused_before_the_pin(db, compared):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi")
    key = "form-key-0000000001"
    with db() as session, session.begin():
        first = transfers_service(session).send_money(session.get(User, asha), RAVI, 100, key,
                                                   pin=PIN)
    with db() as session, session.begin():
        again = transfers_service(session).send_money(session.get(User, asha), RAVI, 100, key,
                                                   pin="0000")
        assert again.id == first.id  # the same form again: its transfer
        with pytest.raises(DuplicateRequest):
            transfers_service(session).send_money(session.get(User, asha), RAVI, 200, key,
                                               pin="0000")
    assert compared == [PIN] and tries(db, asha) == 0


def test_the_pages_refuse_a_reused_form_key_before_the_pin(user_app, db, compared):
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    make_user(db, RAVI, "Ravi")
    with db() as session, session.begin():
        transfers_service(session).send_money(session.get(User, asha), RAVI, 100,
                                           "form-key-0000000001", pin=PIN)
    compared.clear()
    login(user_app, ASHA)
    form = user_app.get("/send").forms["send-form"]
    form["phone"], form["amount"], form["request_key"] = "9812345678", "5", "form-key-0000000001"
    confirm = form.submit(status=200).forms["confirm-form"]
    confirm["pin"] = "2468"
    refused = confirm.submit(status=400)
    assert "already submitted with other details" in refused.text
    assert compared == [] and tries(db, asha) == 0


def test_a_shop_batch_answers_known_keys_before_pins(db, compared):
    from wallet.identity.accounts import AccountService
    from wallet.money.bulk_payments import ShopPayment, pay_shop_batch

    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    with db() as session, session.begin():
        shop = AccountService(session, bcrypt_rounds=4).signup_merchant(
            "tea-stall", "Tea Stall", "tea@example.com", "correct horse battery")
        user = session.get(User, asha)
        paid = shop_payments_service(session).pay_shop(user, shop, 100_00, "k-1", pin=PIN)
        outcome = pay_shop_batch(shop_payments_service(session), shop, [
            ShopPayment(user, 100_00, "k-1", pin="0000"),  # paid before: that payment
            ShopPayment(user, 70_00, "k-1", pin="0000"),  # its key, other details
            ShopPayment(user, 10_00, "k-2", pin=PIN),
            ShopPayment(user, 20_00, "k-2", pin="0000"),  # (earlier in this batch)
        ])
    assert outcome[0].id == paid.id
    assert [type(o).__name__ for o in outcome[1:]] == ["DuplicateRequest", "Transaction",
                                                       "DuplicateRequest"]
    assert compared == [PIN, PIN] and tries(db, asha) == 0
    assert isinstance(outcome[1], WalletError)


def _approve_in_parallel(db, user_id: int, typed: list[str], hold_s: float) -> list[object]:
    """Each PIN approved in a thread of its own, all at once; each compare
    takes ``hold_s`` (so that they are in flight together)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(typed))

    def one(pin: str) -> object:
        with db() as session, session.begin():
            user = session.get(User, user_id)
            barrier.wait(timeout=30)
            try:
                return Pins(session, policy=TEST_PIN_POLICY).approve(user, pin)
            except (WrongPin, PinLocked) as exc:
                return exc

    real = pins.verify_pin

    def slow(pin, stored, keys):
        time.sleep(hold_s)
        return real(pin, stored, keys)

    pins.verify_pin = slow
    try:
        with ThreadPoolExecutor(len(typed)) as pool:
            return list(pool.map(one, typed))
    finally:
        pins.verify_pin = real


@pytest.mark.postgres
def test_more_parallel_payments_than_tries_all_pass_with_the_right_pin(db):
    """Twelve payments of one user at once, each with the right PIN: more
    tries are in flight than are allowed, and none is refused as locked
    (tries beyond the allowance wait for the others to settle)."""
    asha = make_user(db, ASHA, "Asha")
    results = _approve_in_parallel(db, asha, [PIN] * 12, hold_s=0.05)
    assert [type(r).__name__ for r in results] == ["PinApproval"] * 12
    assert tries(db, asha) == 0


@pytest.mark.postgres
def test_parallel_guesses_compare_no_more_pins_than_allowed(db, compared):
    """Twelve wrong PINs at once: exactly ``max_tries`` are compared, the
    last of them locks, the others are refused as locked unseen."""
    asha = make_user(db, ASHA, "Asha")
    results = _approve_in_parallel(db, asha, guesses(12), hold_s=0.05)
    allowed = TEST_PIN_POLICY.max_tries
    assert len(compared) == allowed
    assert sum(isinstance(r, WrongPin) for r in results) == allowed - 1
    assert sum(isinstance(r, PinLocked) for r in results) == 12 - (allowed - 1)
    with db() as session:
        assert session.get(WalletPin, asha).locked_until is not None
