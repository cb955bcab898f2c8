"""Passkeys (wallet.identity.passkeys): a credential made by a software
authenticator (tests/passkey_helpers.py) is registered and signs in; a
challenge is used once and expires; the wrong origin, a counter that does
not rise, an unverified user and a removed passkey are refused; removal
needs the PIN or the password and is told to the user."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from wallet.core.ini import ConfigurationError
from wallet.core.models import Notification, User
from wallet.core.notifications import Notice
from wallet.identity.accounts import AccountService
from wallet.identity.errors import AccountError, PasskeyError, PinRefused
from wallet.identity.models import Passkey, PasskeyChallenge
from wallet.identity.passkey_policy import PasskeyPolicy
from wallet.identity.passkeys import Passkeys
from wallet.identity.pins import Pins

from ..passkey_helpers import SoftAuthenticator
from ..wallet_helpers import PASSWORD, PIN, TEST_PIN_POLICY, make_user

ORIGIN = "https://wallet.example"
POLICY = PasskeyPolicy(rp_id="wallet.example", origin=ORIGIN)
START = dt.datetime(2026, 12, 12, 10, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha Verma")


def passkeys(session, clock) -> Passkeys:
    return Passkeys(session, policy=POLICY, clock=clock,
                    accounts=AccountService(session, bcrypt_rounds=4, clock=clock),
                    pins=Pins(session, policy=TEST_PIN_POLICY, clock=clock))


def run(db, clock, fn):
    """fn(service, session) in one committed transaction (a refusal committed
    too, as the pages' answers are), its result or its refusal."""
    with db() as session:
        with session.begin():
            try:
                return fn(passkeys(session, clock), session)
            except AccountError as exc:
                refused = exc
        raise refused


def register(db, clock, user_id, device: SoftAuthenticator, name="My phone", **kwargs):
    ceremony = run(db, clock, lambda s, db_: s.registration_options(db_.get(User, user_id)))
    answer = device.create(ceremony.options_json, **kwargs)
    return run(db, clock, lambda s, db_: s.register(db_.get(User, user_id), answer, name,
                                                    ceremony.challenge, pin=PIN).id)


def sign_in(db, clock, device: SoftAuthenticator, **kwargs):
    ceremony = run(db, clock, lambda s, _: s.sign_in_options())
    answer = device.get(ceremony.options_json, **kwargs)
    return ceremony, answer, run(db, clock, lambda s, _: s.sign_in(answer,
                                                                    ceremony.challenge).id)


def finish(db, clock, ceremony, answer):
    return run(db, clock, lambda s, _: s.sign_in(answer, ceremony.challenge).id)


def notices(db, user_id, kind):
    with db() as session:
        return list(session.scalars(select(Notification.text).where(
            Notification.user_id == user_id, Notification.kind == kind)))


def the_passkey(db, passkey_id) -> Passkey:
    with db() as session:
        return session.get(Passkey, passkey_id)


def device() -> SoftAuthenticator:
    return SoftAuthenticator(rp_id=POLICY.rp_id, origin=ORIGIN)


def test_a_passkey_registers_and_signs_in(db, clock, asha):
    phone = device()
    passkey_id = register(db, clock, asha, phone)
    stored = the_passkey(db, passkey_id)
    assert (stored.user_id, stored.name, stored.credential_id) == (asha, "My phone",
                                                                   phone.credential_id)
    assert stored.transports == "internal,hybrid" and stored.last_used_at is None
    assert stored.user_handle == phone.user_handle and len(stored.user_handle) == 32
    assert notices(db, asha, Notice.PASSKEY_ADDED) == [
        "A passkey “My phone” was added to your wallet. Not you? Remove it from your "
        "passkeys and change your password."]

    clock.advance(60)
    _, _, user_id = sign_in(db, clock, phone)
    assert user_id == asha
    used = the_passkey(db, passkey_id)
    assert used.sign_count == 1 and used.last_used_at == clock.now
    _, _, again = sign_in(db, clock, phone)  # the counter rises again
    assert again == asha and the_passkey(db, passkey_id).sign_count == 2


def test_a_second_passkey_keeps_the_users_handle_and_is_not_made_twice(db, clock, asha):
    phone, laptop = device(), device()
    first = register(db, clock, asha, phone)
    ceremony = run(db, clock, lambda s, db_: s.registration_options(db_.get(User, asha)))
    options = json.loads(ceremony.options_json)
    assert [c["id"] for c in options["excludeCredentials"]]  # the phone's: not made again
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    second = run(db, clock, lambda s, db_: s.register(
        db_.get(User, asha), laptop.create(ceremony.options_json), "", ceremony.challenge,
        pin=PIN).id)
    assert the_passkey(db, second).user_handle == the_passkey(db, first).user_handle
    assert the_passkey(db, second).name == "Passkey 2"


def test_a_challenge_is_used_once(db, clock, asha):
    phone = device()
    register(db, clock, asha, phone)
    ceremony, answer, _ = sign_in(db, clock, phone)
    with pytest.raises(PasskeyError, match="expired or was used already"):
        finish(db, clock, ceremony, answer)  # the same answer replayed
    with db() as session:
        assert session.scalar(select(func.count()).select_from(PasskeyChallenge)) == 0


def test_a_refused_answer_uses_its_challenge_up_too(db, clock, asha):
    phone = device()
    register(db, clock, asha, phone)
    ceremony = run(db, clock, lambda s, _: s.sign_in_options())
    wrong = phone.get(ceremony.options_json, origin="https://evil.example")
    with pytest.raises(PasskeyError, match="did not work"):
        finish(db, clock, ceremony, wrong)
    right = phone.get(ceremony.options_json)
    with pytest.raises(PasskeyError, match="expired or was used already"):
        finish(db, clock, ceremony, right)


def test_a_challenge_expires_after_five_minutes(db, clock, asha):
    phone = device()
    register(db, clock, asha, phone)
    ceremony = run(db, clock, lambda s, _: s.sign_in_options())
    clock.advance(300)
    with pytest.raises(PasskeyError, match="expired"):
        finish(db, clock, ceremony, phone.get(ceremony.options_json))


def test_a_challenge_serves_only_its_purpose_and_user(db, clock, asha):
    ravi = make_user(db, "+919812345678", "Ravi Kumar")
    phone = device()
    ceremony = run(db, clock, lambda s, db_: s.registration_options(db_.get(User, asha)))
    answer = phone.create(ceremony.options_json)
    with pytest.raises(PasskeyError, match="expired or was used"):  # Ravi's session
        run(db, clock, lambda s, db_: s.register(db_.get(User, ravi), answer, "x",
                                                 ceremony.challenge, pin=PIN))
    register(db, clock, asha, phone)
    with pytest.raises(PasskeyError, match="expired or was used"):  # a sign-in's
        finish(db, clock, ceremony, phone.get(ceremony.options_json))


def test_the_wrong_origin_is_refused(db, clock, asha):
    phone = device()
    with pytest.raises(PasskeyError, match="could not be added"):
        register(db, clock, asha, phone, origin="https://wallet.example.evil.com")
    register(db, clock, asha, phone)
    with pytest.raises(PasskeyError, match="did not work"):
        sign_in(db, clock, phone, origin="http://wallet.example")
    elsewhere = SoftAuthenticator(rp_id="evil.example", origin=ORIGIN,
                                  credential_id=phone.credential_id, key=phone.key,
                                  sign_count=5, user_handle=phone.user_handle)
    with pytest.raises(PasskeyError, match="did not work"):  # another site's rp id
        sign_in(db, clock, elsewhere)


def test_a_counter_that_does_not_rise_is_refused(db, clock, asha):
    phone = device()
    passkey_id = register(db, clock, asha, phone)
    sign_in(db, clock, phone)
    sign_in(db, clock, phone)
    with pytest.raises(PasskeyError, match="did not work"):
        sign_in(db, clock, phone, count_up=False)  # 2 again: a cloned authenticator?
    phone.sign_count = 1
    with pytest.raises(PasskeyError, match="did not work"):
        sign_in(db, clock, phone)  # 2 again, from below
    assert the_passkey(db, passkey_id).sign_count == 2


def test_user_verification_is_required(db, clock, asha):
    phone = device()
    phone.verifies_user = False
    with pytest.raises(PasskeyError, match="could not be added"):
        register(db, clock, asha, phone)
    phone.verifies_user = True
    register(db, clock, asha, phone)
    phone.verifies_user = False
    with pytest.raises(PasskeyError, match="did not work"):
        sign_in(db, clock, phone)


def test_an_unknown_or_malformed_answer_is_refused(db, clock, asha):
    ceremony = run(db, clock, lambda s, _: s.sign_in_options())
    with pytest.raises(PasskeyError, match="not registered"):
        finish(db, clock, ceremony, device().get(ceremony.options_json))
    for junk in ("", "{", '{"id": 1}', "x" * 20_000):
        fresh = run(db, clock, lambda s, _: s.sign_in_options())
        with pytest.raises(PasskeyError):
            finish(db, clock, fresh, junk)


def test_a_removed_passkey_is_refused(db, clock, asha):
    phone = device()
    passkey_id = register(db, clock, asha, phone)
    with pytest.raises(PasskeyError, match="PIN or your password"):
        run(db, clock, lambda s, db_: s.remove(db_.get(User, asha), passkey_id, pin="",
                                               password="", ip="203.0.113.7"))
    with pytest.raises(PinRefused):
        run(db, clock, lambda s, db_: s.remove(db_.get(User, asha), passkey_id, pin="0000",
                                               password="", ip="203.0.113.7"))
    with pytest.raises(AccountError, match="not your password"):
        run(db, clock, lambda s, db_: s.remove(db_.get(User, asha), passkey_id, pin="",
                                               password="wrong", ip="203.0.113.7"))
    assert the_passkey(db, passkey_id) is not None
    run(db, clock, lambda s, db_: s.remove(db_.get(User, asha), passkey_id, pin=PIN,
                                           password="", ip="203.0.113.7"))
    assert the_passkey(db, passkey_id) is None
    assert notices(db, asha, Notice.PASSKEY_REMOVED) == [
        "The passkey “My phone” was removed from your wallet: it no longer signs you in."]
    with pytest.raises(PasskeyError, match="not registered"):
        sign_in(db, clock, phone)


def test_only_the_owner_renames_or_removes_and_names_are_checked(db, clock, asha):
    ravi = make_user(db, "+919812345678", "Ravi Kumar")
    passkey_id = register(db, clock, asha, device())
    with pytest.raises(PasskeyError, match="No such passkey"):
        run(db, clock, lambda s, db_: s.rename(db_.get(User, ravi), passkey_id, "Mine"))
    with pytest.raises(PasskeyError, match="No such passkey"):
        run(db, clock, lambda s, db_: s.remove(db_.get(User, ravi), passkey_id, pin="",
                                               password=PASSWORD, ip="203.0.113.7"))
    for bad in ("", "   ", "x" * 61, "evil\u202ename"):
        with pytest.raises(PasskeyError, match="ordinary characters"):
            run(db, clock, lambda s, db_, bad=bad: s.rename(db_.get(User, asha), passkey_id, bad))
    run(db, clock, lambda s, db_: s.rename(db_.get(User, asha), passkey_id, " Work laptop "))
    assert the_passkey(db, passkey_id).name == "Work laptop"
    run(db, clock, lambda s, db_: s.remove(db_.get(User, asha), passkey_id, pin="",
                                           password=PASSWORD, ip="203.0.113.7"))
    assert the_passkey(db, passkey_id) is None


def test_a_disabled_account_does_not_sign_in(db, clock, asha):
    phone = device()
    register(db, clock, asha, phone)
    with db() as session, session.begin():
        session.get(User, asha).is_active = False
    with pytest.raises(PasskeyError, match="did not work"):
        sign_in(db, clock, phone)


@pytest.mark.parametrize("settings, production, problem", [
    ({"wallet.webauthn_rp_id": "wallet.example"}, False, "go together"),
    ({"wallet.webauthn_origin": "https://wallet.example"}, False, "go together"),
    ({"wallet.webauthn_rp_id": "example.com", "wallet.webauthn_origin":
      "https://wallet.example"}, False, "must be the host"),
    ({"wallet.webauthn_rp_id": "wallet.example", "wallet.webauthn_origin":
      "https://wallet.example/app"}, False, "no path"),
    ({"wallet.webauthn_rp_id": "wallet.example", "wallet.webauthn_origin":
      "http://wallet.example"}, True, "https"),
    ({"wallet.webauthn_rp_id": "localhost", "wallet.webauthn_origin":
      "http://localhost:6543"}, True, "https"),
])
def test_the_relying_party_settings_are_checked(settings, production, problem):
    with pytest.raises(ConfigurationError, match=problem):
        PasskeyPolicy.from_settings(settings, production=production)


def test_the_relying_party_settings_are_read():
    assert PasskeyPolicy.from_settings({}, production=False) is None
    policy = PasskeyPolicy.from_settings({"wallet.webauthn_rp_id": "Wallet.Example",
                                          "wallet.webauthn_origin": "https://pay.wallet.example/"},
                                         production=True)
    assert (policy.rp_id, policy.origin, policy.rp_name) == (
        "wallet.example", "https://pay.wallet.example", "Wallet")
    assert policy.challenge_ttl_s == 300


@pytest.mark.postgres
def test_two_answers_at_once_sign_in_once(db, clock, asha):
    """The same answer posted twice at the same moment (a double tap, a
    replay racing the original): the challenge's DELETE lets one through;
    the other waits for it, then finds nothing."""
    import threading

    phone = device()
    register(db, clock, asha, phone)
    ceremony = run(db, clock, lambda s, _: s.sign_in_options())
    answer = phone.get(ceremony.options_json)
    gate, outcomes = threading.Barrier(2), []

    def attempt():
        gate.wait()
        try:
            outcomes.append(finish(db, clock, ceremony, answer))
        except PasskeyError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes, key=str) == sorted(
        [asha, "That passkey request has expired or was used already. Try again."], key=str)
